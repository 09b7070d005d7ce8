"""DSRL-SAC update cost on CPU: SB3's SAC against :class:`~latent_mdp.sb3.delayed_sac.DelayedSAC` at each policy delay.

For each id, one buffer is filled by uniform-random rollouts of M^w (the id's shipped ``sac.yml``
settings: observation, batch, networks, policy), and then each variant runs ``--updates``
gradient steps on copies of the same model:

* ``sb3``: stable-baselines3's ``SAC.train``;
* ``delay1``: DelayedSAC at ``policy_delay=1``, the same updates as ``sb3`` without the critics'
  weight gradients in the actor step;
* ``delay2``, ``delay3``: the actor and the KL coefficient updated on one gradient step in 2 or 3.

The variants run in ``--rounds`` rounds, each round in a new order, and each variant's median
updates/s is reported with its ratio to ``sb3``'s (``speedup``), so the ratios compare one machine
state. The actor's optimizer steps per gradient step are reported too, from Adam's step count
(``actor_steps_per_update``).

Usage: ``python -m benchmarks.sac_update_cost [--ids DSRL-MetaWorld-pick-place-flow-v0] [--updates 200]
[--rounds 3] [--out FILE]``. Writes ``benchmarks/results/sac_update_cost.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from stable_baselines3 import SAC  # noqa: E402
from stable_baselines3.common.logger import configure  # noqa: E402

from benchmarks.results_file import write_result  # noqa: E402
from latent_mdp.envs.registry import ENV_IDS  # noqa: E402
from latent_mdp.sb3.delayed_sac import DelayedSAC  # noqa: E402
from latent_mdp.sb3.envs import make_sb3_vec_env  # noqa: E402
from latent_mdp.sb3.hyperparams import load_hyperparams  # noqa: E402
from latent_mdp.sb3.train import resolve_policy  # noqa: E402

IDS = ("DSRL-MetaWorld-pick-place-flow-v0",)
VARIANTS: dict[str, tuple[type, dict[str, int]]] = {
    "sb3": (SAC, {}),
    "delay1": (DelayedSAC, {"policy_delay": 1}),
    "delay2": (DelayedSAC, {"policy_delay": 2}),
    "delay3": (DelayedSAC, {"policy_delay": 3}),
}
"""Each variant's class and extra constructor arguments."""
SETTING_KEYS = ("batch_size", "target_entropy", "learning_rate", "tau", "policy_kwargs")


def _actor_steps(model: SAC) -> int:
    """Steps the actor's optimizer has taken: Adam's own count, kept per parameter (all alike)."""
    first_parameter = model.actor.optimizer.param_groups[0]["params"][0]
    state = model.actor.optimizer.state.get(first_parameter, {})
    return int(state.get("step", 0))


def _variant_models(env_id: str, warmup: int) -> tuple[dict[str, SAC], Any]:
    """One model per variant, each with the same weights and the same buffer of ``warmup`` random latent steps."""
    cfg = load_hyperparams(env_id, "sac")
    settings = cfg.constructor_kwargs(env_steps_per_action=1)
    env = make_sb3_vec_env(env_id, 1, **cfg.env_kwargs)
    policy = resolve_policy("sac", settings.get("policy", "MlpPolicy"), env.observation_space)
    settings = {key: settings[key] for key in SETTING_KEYS if key in settings}
    models = {}
    for name, (cls, extra) in VARIANTS.items():
        models[name] = cls(policy, env, learning_starts=warmup, buffer_size=warmup, gradient_steps=1, seed=0, **settings, **extra)
    first = models["sb3"]
    first.learn(warmup)  # random actions only (learning_starts = warmup): fills the buffer
    for model in models.values():
        if model is not first:
            model.policy.load_state_dict(first.policy.state_dict())
            model.replay_buffer = first.replay_buffer
            model.set_logger(configure(None, [""]))  # train() records its losses; nothing is written
        model.train(gradient_steps=1, batch_size=model.batch_size)  # first-call allocations and logger setup
    return models, env


def measure(env_id: str, updates: int, rounds: int, warmup: int) -> dict[str, Any]:
    """Median updates/s of each variant over ``rounds`` rounds, and its ratio to SB3's SAC."""
    models, env = _variant_models(env_id, warmup)
    actor_steps_before = {name: _actor_steps(model) for name, model in models.items()}
    rates: dict[str, list[float]] = {name: [] for name in models}
    names = list(models)
    for round_index in range(rounds):
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for name in order:
            start = time.perf_counter()
            models[name].train(gradient_steps=updates, batch_size=models[name].batch_size)
            rates[name].append(updates / (time.perf_counter() - start))
    env.close()
    reference = statistics.median(rates["sb3"])
    rows = {
        name: {
            "updates_per_second": statistics.median(values),
            "speedup": statistics.median(values) / reference,
            "actor_steps_per_update": (_actor_steps(models[name]) - actor_steps_before[name]) / (updates * rounds),
            "rounds": values,
        }
        for name, values in rates.items()
    }
    obs_dim = models["sb3"].observation_space.shape
    print(
        f"{env_id} (observation {obs_dim}, noise {models['sb3'].action_space.shape}, batch {models['sb3'].batch_size}): "
        + ", ".join(f"{name} {row['updates_per_second']:.1f} updates/s ({row['speedup']:.2f}x)" for name, row in rows.items())
    )
    return {"observation_shape": list(obs_dim), "noise_shape": list(models["sb3"].action_space.shape), "variants": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", nargs="+", default=list(IDS), choices=list(ENV_IDS))
    parser.add_argument("--updates", type=int, default=200, help="gradient steps per variant per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1000, help="random latent steps filling the buffer")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "sac_update_cost.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": 1, "torch": torch.__version__},
        "date": time.strftime("%Y-%m-%d"),
        "updates": args.updates,
        "rounds": args.rounds,
        "results": {env_id: measure(env_id, args.updates, args.rounds, args.warmup) for env_id in args.ids},
    }
    write_result(args.out, report)


if __name__ == "__main__":
    main()
