"""DSRL-NA update cost on the shipped PushT (and MetaWorld) ids, on CPU: base-policy calls per update and updates/s.

For each id and each way of getting the noise critic's pairs, a DSRLNA model on one env (the
shipped ``dsrl_na.yml`` settings: batch B, noises per state K, networks, ``obs_mode``) is warmed up
with Gaussian rollouts, then ``--updates`` updates run on the filled buffer:

* ``fresh`` (``noise_bank=False``): every update encodes ``2B`` states and decodes ``2B*K`` noises;
* ``bank`` (``noise_bank=True``, the default): each stored state's K noises were decoded once, when
  it entered the buffer, so an update encodes ``B`` next states and decodes ``B`` noises (the TD
  target's, the current actor's).

The base policy's ``encode`` and ``decode`` are counted (calls and rows) and the updates timed, in
one run, so ``bank_speedup`` (bank updates/s over fresh updates/s) is a ratio on one machine state.
The bank's one-time cost per stored row is reported too (``bank_seconds_per_row``), and where an
update's time goes (``phase_shares``: the base policy's encode and decode, the action-critic TD
step, the noise-critic distillation with its targets, the actor step, and the rest).

Usage: ``python -m benchmarks.dsrl_na_cost [--ids DSRL-PushT-flow-v0 DSRL-PushT-pi0-v0] [--updates 20]
[--batch-size B] [--n-noise-samples K] [--out FILE]``; ``--ids`` also takes the MetaWorld ids.
Writes ``benchmarks/results/dsrl_na_cost.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from agents import DSRLNA  # noqa: E402
from benchmarks.results_file import write_result  # noqa: E402
from latent_mdp.envs.registry import METAWORLD_IDS  # noqa: E402
from latent_mdp.observations import batch_size_of  # noqa: E402
from latent_mdp.policy import NoisePolicy  # noqa: E402
from latent_mdp.sb3.envs import make_sb3_vec_env  # noqa: E402
from latent_mdp.sb3.hyperparams import load_hyperparams  # noqa: E402

IDS = ("DSRL-PushT-flow-v0", "DSRL-PushT-pi0-v0")
CHOICES = (*IDS, *METAWORLD_IDS)
MODES = {"fresh": False, "bank": True}
"""The two ways of getting distillation pairs, by their ``noise_bank`` value."""
SETTING_KEYS = ("batch_size", "n_noise_samples", "n_noise_critic_steps", "policy_kwargs", "critic_combine")


class CallCounter:
    """Counts a policy's ``encode`` / ``decode`` calls and their rows by wrapping the bound methods."""

    def __init__(self, policy: NoisePolicy) -> None:
        self.calls = {"encode": 0, "decode": 0}
        self.rows = {"encode": 0, "decode": 0}
        encode, decode = policy.encode, policy.decode

        def counted_encode(obs: Any) -> Any:
            self.calls["encode"] += 1
            self.rows["encode"] += batch_size_of(obs)
            return encode(obs)

        def counted_decode(ctx: Any, noise: torch.Tensor) -> torch.Tensor:
            self.calls["decode"] += 1
            self.rows["decode"] += noise.shape[0]
            return decode(ctx, noise)

        policy.encode, policy.decode = counted_encode, counted_decode  # type: ignore[method-assign]

    def reset(self) -> None:
        self.calls = dict.fromkeys(self.calls, 0)
        self.rows = dict.fromkeys(self.rows, 0)


PHASES = {
    "encode": "encode_states",
    "decode": "_decode",
    "action_critic": "chunk_critic_step",
    "noise_critic": "distill",
    "actor": "actor_step",
}
"""An update's phases, by the :class:`agents.DSRLNA` method that runs each (none calls another)."""


class PhaseTimer:
    """Seconds a model spends in each of :data:`PHASES`, by wrapping those methods on the instance."""

    def __init__(self, model: DSRLNA) -> None:
        self.seconds = dict.fromkeys(PHASES, 0.0)
        for phase, name in PHASES.items():
            setattr(model, name, self._timed(phase, getattr(model, name)))

    def _timed(self, phase: str, method: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[phase] += time.perf_counter() - start

        return timed

    def reset(self) -> None:
        self.seconds = dict.fromkeys(self.seconds, 0.0)

    def shares(self, total: float) -> dict[str, float]:
        """Each phase's share of ``total`` seconds, and ``other`` for the rest (sampling, Polyak, logging)."""
        shares = {phase: seconds / total for phase, seconds in self.seconds.items()}
        return {**shares, "other": 1.0 - sum(shares.values())}


def measure(env_id: str, noise_bank: bool, updates: int, warmup: int, overrides: dict[str, int]) -> dict[str, Any]:
    """One model on ``env_id`` with the shipped settings (``overrides`` replace some): calls per update and updates/s."""
    cfg = load_hyperparams(env_id, "dsrl-na")
    settings = {key: cfg.algo_kwargs[key] for key in SETTING_KEYS if key in cfg.algo_kwargs} | overrides
    env = make_sb3_vec_env(env_id, 1, **cfg.env_kwargs)
    counter = CallCounter(env.base_policy)
    model = DSRLNA(
        "MlpPolicy", env, learning_starts=warmup, buffer_size=10 * warmup, gradient_steps=1, seed=0,
        noise_bank=noise_bank, **settings,
    )  # fmt: skip
    model.learn(warmup)  # Gaussian warm-up only: fills the buffer
    phases = PhaseTimer(model)
    bank_start = time.perf_counter()
    model.train(gradient_steps=1, batch_size=model.batch_size)  # banks the warm-up rows; first-call allocations
    first_update = time.perf_counter() - bank_start
    counter.reset()
    phases.reset()
    start = time.perf_counter()
    model.train(gradient_steps=updates, batch_size=model.batch_size)
    seconds = time.perf_counter() - start
    env.close()
    b, k = model.batch_size, model.n_noise_samples
    per_update = seconds / updates
    row = {
        "obs_mode": cfg.env_kwargs.get("obs_mode"),
        **settings,
        "encodes_per_update": counter.calls["encode"] / updates,
        "encoded_states_per_update": counter.rows["encode"] / updates,
        "decodes_per_update": counter.calls["decode"] / updates,
        "decoded_noises_per_update": counter.rows["decode"] / updates,
        "expected": {"encoded_states": b if noise_bank else 2 * b, "decoded_noises": b if noise_bank else 2 * b * k},
        "updates_per_second": updates / seconds,
        "phase_shares": phases.shares(seconds),
    }
    if noise_bank:
        row["bank_seconds_per_row"] = max(0.0, first_update - per_update) / warmup
    print(
        f"{env_id} [{'bank' if noise_bank else 'fresh'}]: {row['encodes_per_update']:.0f} encode of "
        f"{row['encoded_states_per_update']:.0f} states, {row['decodes_per_update']:.0f} decode of "
        f"{row['decoded_noises_per_update']:.0f} noises per update (B = {b}, K = {k}); "
        f"{row['updates_per_second']:.2f} updates/s; time: "
        + ", ".join(f"{phase} {share:.0%}" for phase, share in row["phase_shares"].items())
    )
    return row


def measure_id(env_id: str, updates: int, warmup: int, overrides: dict[str, int]) -> dict[str, Any]:
    """Both modes on ``env_id``, and the bank's speedup."""
    rows = {mode: measure(env_id, noise_bank, updates, warmup, overrides) for mode, noise_bank in MODES.items()}
    speedup = rows["bank"]["updates_per_second"] / rows["fresh"]["updates_per_second"]
    print(f"{env_id}: bank_speedup {speedup:.1f}x")
    return {**rows, "bank_speedup": speedup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", nargs="+", default=list(IDS), choices=list(CHOICES))
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=300, help="Gaussian latent steps filling the buffer")
    parser.add_argument("--batch-size", type=int, default=None, help="B instead of the shipped one")
    parser.add_argument("--n-noise-samples", type=int, default=None, help="K instead of the shipped one")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "dsrl_na_cost.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    overrides = {
        key: value
        for key, value in (("batch_size", args.batch_size), ("n_noise_samples", args.n_noise_samples))
        if value is not None
    }
    report = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": 1, "torch": torch.__version__},
        "date": time.strftime("%Y-%m-%d"),
        "results": {env_id: measure_id(env_id, args.updates, args.warmup, overrides) for env_id in args.ids},
    }
    write_result(args.out, report)


if __name__ == "__main__":
    main()
