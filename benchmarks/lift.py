"""DSRL lift: success and coverage against env steps, over seeds, for one env id and algorithm.

    python benchmarks/lift.py DSRL-PushT-flow-v0 --algo sac --steps 18750 --seeds 0 1 2

Each seed is a full ``latent-mdp train`` run in ``runs/lift/<name>_s<seed>`` (resumed if
interrupted, skipped if finished). The aggregate goes to ``benchmarks/results/lift_<name>.json``.
``<name>`` is ``<env>_<algo>``, or ``<env>_<algo>_<tag>`` for a variant trained with ``--config``
and named by ``--tag``, so that a variant neither reuses nor overwrites the shipped recipe's runs
and results: the base policy and the trained actor (a sample from it, the
product, and its mean) on the same ``--episodes`` evaluation episodes per seed (200 by default),
their means, each seed's paired difference from the base with its 95% interval, and every
periodic evaluation (env steps, success rate, mean max coverage). ``final_success_mean`` (the
sampled actor's success, averaged over seeds), ``n_seeds`` and ``env_steps`` sit at the top level.

``--keep-recorded`` takes a seed the results file already holds, trained for the same steps
under the same config, from that file instead of rerunning it. It is how a seed is added to a
result on a fresh clone, where ``runs/`` (not committed) no longer holds the earlier seeds::

    python benchmarks/lift.py DSRL-MetaWorld-push-flow-v0 --algo sac --steps 22000 --seeds 0 1 2 \
        --config benchmarks/configs/metaworld_absorbing_features.yml --tag absfeat --keep-recorded
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
PARTS = ("base", "trained", "trained_stochastic")
"""The final evaluations: the base policy, the actor's mean and a sample from the actor."""


def run_seed(
    env_id: str, algo: str, steps: int, seed: int, config: Path | None, run_dir: Path, episodes: int, parts: tuple[str, ...] = PARTS
) -> dict:
    from latent_mdp.sb3.train import train

    summary_file = run_dir / "summary.json"
    if summary_file.exists():
        summary = json.loads(summary_file.read_text())
        if summary["latent_steps"] >= steps:
            print(f"seed {seed}: finished earlier, reusing {summary_file}")
            return summary
    resume = (run_dir / "checkpoint").exists()
    return train(
        env_id, algo, steps, seed=seed, config=config, run_dir=run_dir, resume=resume, videos=False, final_episodes=episodes,
        compared=parts,
    )


def recorded_seeds(results_file: Path, steps: int, config: Path | None) -> dict[int, dict]:
    """The per-seed summaries ``results_file`` holds, by seed, if it was made with ``steps`` and ``config``.

    Returns an empty dict when the file is missing or was made with other steps or another
    config's content, so that a changed recipe is never mixed with an old one.
    """
    if not results_file.exists():
        return {}
    recorded = json.loads(results_file.read_text())
    content = None if config is None else config.read_text()
    recorded_content = (recorded.get("config") or {}).get("content")
    if recorded["latent_steps"] != steps or recorded_content != content:
        print(f"{results_file} was made with other steps or another config; not reusing its seeds")
        return {}
    return {entry["seed"]: entry for entry in recorded["per_seed"]}


def _summary_keys(summaries: list[dict], part: str) -> list[str]:
    """The numbers every seed's ``part`` has: success, return, and the task's tracked maxima (PushT's coverage)."""
    keys = ["success_rate", "mean_return", *sorted(k for k in summaries[0][part] if k.startswith("mean_max_"))]
    return [key for key in keys if all(key in s[part] for s in summaries)]


def aggregate(env_id: str, algo: str, steps: int, summaries: list[dict], config: Path | None) -> dict:
    parts = [part for part in PARTS if all(part in s for s in summaries)]

    def mean(part: str, key: str) -> float:
        return float(np.mean([s[part][key] for s in summaries]))

    return {
        "benchmark": "lift",
        "env_id": env_id,
        "algo": algo,
        "final_success_mean": mean("trained_stochastic", "success_rate"),
        "base_success_mean": mean("base", "success_rate"),
        "n_seeds": len(summaries),
        "latent_steps": steps,
        "config": None if config is None else {"path": str(config), "content": config.read_text()},
        "seeds": [s["seed"] for s in summaries],
        "mean": {part: {key: mean(part, key) for key in _summary_keys(summaries, part)} for part in parts},
        "env_steps": float(np.mean([s["env_steps"] for s in summaries])),
        "train_minutes": float(np.mean([s["train_seconds"] for s in summaries]) / 60),
        "per_seed": [
            {key: s.get(key) for key in ("seed", "env_steps", "train_seconds", *parts, "lift", "eval_history")}
            for s in summaries
        ],
        "machine": f"{platform.machine()} CPU ({os.cpu_count()} cores), torch threads 1",
        "date": time.strftime("%Y-%m-%d"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("env_id")
    parser.add_argument("--algo", default="sac")
    parser.add_argument("--steps", type=int, default=18_750, help="latent steps per seed (18,750 x 8 = 150k env steps)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--config", type=Path, default=None, help="YAML overriding the shipped hyperparameters")
    parser.add_argument("--tag", default=None, help="names a --config variant's runs and results file")
    parser.add_argument("--runs", type=Path, default=Path("runs/lift"))
    parser.add_argument("--episodes", type=int, default=200, help="episodes of each seed's final evaluation")
    parser.add_argument(
        "--keep-recorded", action="store_true", help="take seeds the results file already holds (same steps and config) from it instead of rerunning them"
    )
    parser.add_argument(
        "--skip-mean", action="store_true", help="do not evaluate the actor's mean (not the product; saves a third of the final evaluation)"
    )
    args = parser.parse_args()
    if args.config is not None and args.tag is None:
        parser.error("--config needs --tag, so that a variant does not overwrite the shipped recipe's results")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(1)
    name = f"{args.env_id}_{args.algo}" + (f"_{args.tag}" if args.tag else "")
    parts = tuple(part for part in PARTS if not (args.skip_mean and part == "trained"))
    out = RESULTS / f"lift_{name}.json"
    recorded = recorded_seeds(out, args.steps, args.config) if args.keep_recorded else {}
    summaries = []
    for seed in args.seeds:
        if seed in recorded:
            print(f"seed {seed}: recorded in {out}, reusing it")
            summaries.append(recorded[seed])
        else:
            summaries.append(run_seed(args.env_id, args.algo, args.steps, seed, args.config, args.runs / f"{name}_s{seed}", args.episodes, parts))
    result = aggregate(args.env_id, args.algo, args.steps, summaries, args.config)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    base, sampled = result["mean"]["base"], result["mean"]["trained_stochastic"]
    coverage = f", coverage {base['mean_max_coverage']:.3f} -> {sampled['mean_max_coverage']:.3f}" if "mean_max_coverage" in base else ""
    print(
        f"{args.env_id} / {args.algo} over seeds {args.seeds}: success {base['success_rate']:.1%} -> "
        f"{sampled['success_rate']:.1%} (sampled actor){coverage} ({result['env_steps']:.0f} env steps, "
        f"{result['train_minutes']:.1f} min per seed); wrote {out}"
    )


if __name__ == "__main__":
    main()
