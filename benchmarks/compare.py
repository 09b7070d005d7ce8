"""Compare RL methods on the latent-action MDP of a DSRL env, seed by seed, with learning curves.

    python -m benchmarks.compare DSRL-PushT-flow-v0 DSRL-PushT-pi0-v0 --seeds 0 1 2 --env-steps 150000
    python -m benchmarks.compare DSRL-PushT-flow-v0 --quick        # minutes: tiny budgets, 1 seed

Methods (:data:`METHODS`): the base policy alone (``w ~ N(0, I)`` and ``w = 0``), DSRL with SAC,
TD3, TQC, CrossQ and DSRL-NA (:func:`latent_mdp.sb3.train.train`), SAC on the raw action space and
residual SAC (:mod:`benchmarks.baselines`). Budgets are in inner env steps for every method; a
DSRL run gets ``ceil(env_steps / action_horizon)`` latent steps, plus its Gaussian warm-up
(``warmup_latent_steps`` in its JSON; its env steps are on the curve's x axis).

Each run writes ``<out>/<env_id>/<method>_s<seed>.json`` (learning curve, final evaluation, wall
time, command, machine); its checkpoints live in ``<out>/<env_id>/runs/<method>_s<seed>/``. A run
whose JSON exists is skipped, so an interrupted comparison resumes where it stopped: finished
seeds are kept and a run in progress continues from its last checkpoint. At the end
``compare.png`` (success and coverage against env steps, seed bands) and ``table.md`` are
written beside the JSONs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
import traceback
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from tqdm.auto import tqdm

from benchmarks.compare_report import write_report
from benchmarks.comparison import FULL, QUICK, QUICK_YAML, RESULTS, Budget, Comparison
from benchmarks.methods import METHODS, SAC_BASELINES
from benchmarks.overrides import method_entry, read_yaml
from benchmarks.runners import runner
from latent_mdp.sb3.callbacks import read_checkpoint_state

__all__ = ["FULL", "METHODS", "QUICK", "QUICK_YAML", "RESULTS", "Budget", "Comparison", "main", "run_comparison", "run_one"]


def machine() -> dict[str, Any]:
    """The machine a run was measured on."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _timed(run_dir: Path, work: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], float]:
    """Run ``work``; return its result and the wall time of the run over all its sessions.

    The seconds of every session, interrupted ones included, add up in ``run_dir/wall_seconds.json``.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "wall_seconds.json"
    before = json.loads(path.read_text())["seconds"] if path.exists() else 0.0
    start = time.perf_counter()
    try:
        result = work()
    finally:
        total = before + time.perf_counter() - start
        path.write_text(json.dumps({"seconds": total}) + "\n")
    return result, total


def _write_json(path: Path, content: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(tmp, path)


def _finished(path: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The result at ``path`` if it exists; an error if it was made with other settings."""
    if not path.exists():
        return None
    result = json.loads(path.read_text())
    if result.get("settings") != settings:
        raise ValueError(
            f"{path} was produced with other settings ({result.get('settings')}, not {settings}): "
            "delete it to rerun, or write this comparison elsewhere with --out"
        )
    return result


def run_one(comparison: Comparison, method: str, seed: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """One method and seed: the stored result if it is finished, else run (or resume) and store it."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected some of {list(METHODS)}")
    entry = method_entry(overrides, method, comparison.env_id, dsrl=method not in SAC_BASELINES)
    settings = {"budget": asdict(comparison.budget), "override": entry}
    path = comparison.result_path(method, seed)
    finished = _finished(path, settings)
    if finished is not None:
        tqdm.write(f"{method} seed {seed}: done already ({path})")
        return finished
    run_method, run_dir = runner(method), comparison.run_dir(method, seed)
    if read_checkpoint_state(run_dir) is None:  # a fresh start: no curve left from a run killed before its first checkpoint
        (run_dir / "eval_history.json").unlink(missing_ok=True)
    record, seconds = _timed(run_dir, lambda: run_method(comparison, method, seed, entry))
    result = {
        "env_id": comparison.env_id,
        "method": method,
        "label": METHODS[method],
        "seed": seed,
        "settings": settings,
        **record,
        "wall_seconds": seconds,
        "command": comparison.command,
        "machine": machine(),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    comparison.directory.mkdir(parents=True, exist_ok=True)
    _write_json(path, result)
    final = result["final"]
    tqdm.write(f"{method} seed {seed}: success {final['success_rate']:.1%}, max coverage {final['mean_max_coverage']:.3f}, {seconds:.0f} s")
    return result


def run_comparison(comparison: Comparison) -> list[dict[str, Any]]:
    """Every method and seed of ``comparison`` (finished ones are read back), then the plot and table.

    A run that fails does not stop the others: its traceback goes to ``<run dir>/error.txt`` and,
    once the rest are done and reported, a ``RuntimeError`` lists every failure.
    """
    overrides = read_yaml(comparison.config)
    pairs = [(method, seed) for method in comparison.methods for seed in comparison.seeds]
    results, failures = [], []
    bar = tqdm(pairs, desc=f"compare {comparison.env_id}", unit="run", disable=not comparison.progress)
    for method, seed in bar:
        bar.set_postfix(method=method, seed=seed)
        try:
            results.append(run_one(comparison, method, seed, overrides))
        except Exception as error:  # noqa: BLE001  (one failing run must not cost the others)
            run_dir = comparison.run_dir(method, seed)
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "error.txt").write_text(traceback.format_exc())
            failures.append(f"{method} seed {seed}: {type(error).__name__}: {error} (traceback in {run_dir / 'error.txt'})")
            tqdm.write(f"FAILED {failures[-1]}")
    bar.close()
    if results:
        table = write_report(comparison.directory, title=comparison.env_id)
        print(f"\n{comparison.env_id} ({comparison.directory}):\n{table}")
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(pairs)} runs failed on {comparison.env_id}:\n" + "\n".join(failures))
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("env_ids", nargs="+", metavar="ENV_ID", help="registered DSRL env ids")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS), metavar="METHOD",
                        help=f"some of {', '.join(METHODS)} (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, help="default: 0 1 2 (--quick: 0)")
    parser.add_argument("--quick", action="store_true", help="tiny budgets and networks (benchmarks/quick.yml): minutes")
    parser.add_argument("--env-steps", type=int, help=f"training budget in env steps (default {FULL.env_steps}, --quick {QUICK.env_steps})")
    parser.add_argument("--eval-episodes", type=int, help="episodes per curve point")
    parser.add_argument("--final-episodes", type=int, help="episodes of the final evaluation")
    parser.add_argument("--n-evals", type=int, help="points per learning curve")
    parser.add_argument("--config", type=Path, help="override YAML (layout: benchmarks/overrides.py; --quick: benchmarks/quick.yml)")
    parser.add_argument("--out", type=Path, help="results root (default benchmarks/results/compare, --quick: .../compare-quick)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def comparisons_from_args(args: argparse.Namespace, command: str) -> list[Comparison]:
    """One :class:`Comparison` per env id of the command line."""
    defaults = QUICK if args.quick else FULL
    budget = Budget(
        env_steps=args.env_steps or defaults.env_steps,
        eval_episodes=args.eval_episodes or defaults.eval_episodes,
        final_episodes=args.final_episodes or defaults.final_episodes,
        n_evals=args.n_evals or defaults.n_evals,
    )
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    config = args.config or (QUICK_YAML if args.quick else None)
    out = args.out or RESULTS / ("compare-quick" if args.quick else "compare")
    return [
        Comparison(env_id, list(args.methods), seeds, budget, out, config, progress=not args.no_progress, command=command)
        for env_id in args.env_ids
    ]


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(1)
    argv = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "-m", "benchmarks.compare", *argv])
    failed = False
    for comparison in comparisons_from_args(parse_args(argv), command):
        try:
            run_comparison(comparison)
        except RuntimeError as error:
            print(error, file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
