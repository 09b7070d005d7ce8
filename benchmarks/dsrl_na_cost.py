"""DSRL-NA update cost on the shipped PushT ids, on CPU: base-policy calls per update and updates/s.

For each id, a DSRLNA model on one env is warmed up with Gaussian rollouts, then
``--updates`` updates run on the filled buffer. The base policy's ``encode`` and ``decode`` are
counted (calls and rows), and the updates are timed. The claim checked: one update costs one
encode of ``2B`` states and one decode of ``2B*K`` noises, whatever the observation (state,
pixels) and ``obs_mode``.

Usage: ``python benchmarks/dsrl_na_cost.py [--ids DSRL-PushT-flow-v0 DSRL-PushT-pi0-v0] [--updates 20]``.
Writes ``benchmarks/results/dsrl_na_cost.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from agents import DSRLNA  # noqa: E402
from latent_mdp.envs.registry import make_vec  # noqa: E402
from latent_mdp.observations import batch_size_of  # noqa: E402
from latent_mdp.policy import NoisePolicy  # noqa: E402

SETTINGS = {  # batch B and noises per state K: recipe-sized on flow, the shipped CPU default on pi0
    "DSRL-PushT-flow-v0": {"batch_size": 256, "n_noise_samples": 4, "obs_mode": "env"},
    "DSRL-PushT-pi0-v0": {"batch_size": 64, "n_noise_samples": 2, "obs_mode": "policy"},
}


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


def measure(env_id: str, updates: int, warmup: int) -> dict[str, Any]:
    settings = dict(SETTINGS[env_id])
    obs_mode = settings.pop("obs_mode")
    env = make_vec(env_id, 1, obs_mode=obs_mode)
    counter = CallCounter(env.policy)
    model = DSRLNA("MlpPolicy", env, learning_starts=warmup, buffer_size=10 * warmup, gradient_steps=1, seed=0, **settings)
    model.learn(warmup)  # Gaussian warm-up only: fills the buffer
    model.train(gradient_steps=1, batch_size=model.batch_size)  # first-call allocations
    counter.reset()
    start = time.perf_counter()
    model.train(gradient_steps=updates, batch_size=model.batch_size)
    seconds = time.perf_counter() - start
    env.close()
    b, k = model.batch_size, model.n_noise_samples
    row = {
        "obs_mode": obs_mode,
        "batch_size": b,
        "n_noise_samples": k,
        "net_arch": [256, 256, 256],
        "n_noise_critic_steps": model.n_noise_critic_steps,
        "encodes_per_update": counter.calls["encode"] / updates,
        "encoded_states_per_update": counter.rows["encode"] / updates,
        "decodes_per_update": counter.calls["decode"] / updates,
        "decoded_noises_per_update": counter.rows["decode"] / updates,
        "expected": {"encoded_states": 2 * b, "decoded_noises": 2 * b * k},
        "updates_per_second": updates / seconds,
    }
    print(
        f"{env_id}: {row['encodes_per_update']:.0f} encode of {row['encoded_states_per_update']:.0f} states, "
        f"{row['decodes_per_update']:.0f} decode of {row['decoded_noises_per_update']:.0f} noises per update "
        f"(2B = {2 * b}, 2BK = {2 * b * k}); {row['updates_per_second']:.2f} updates/s"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--updates", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=300, help="Gaussian latent steps filling the buffer")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "dsrl_na_cost.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": 1, "torch": torch.__version__},
        "results": {env_id: measure(env_id, args.updates, args.warmup) for env_id in args.ids},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
