"""Soak test: memory of M^w over a long run, against the bare task env under it.

Each part runs in its own fresh process (so one part's memory does not count in another's), for
``--steps`` inner env steps with uniformly random actions, resetting at every episode end, and
records the process's resident memory (RSS) every ``--every`` inner steps:

* ``latent``: the registered id (default ``DSRL-PushT-flow-v0``, its shipped base policy), one
  ``LatentActionWrapper`` stepped with random latent actions from its seeded action space.
* ``bare``: the task env under it (``make_inner``), stepped with random inner actions, the same
  number of inner steps. If both grow alike, the growth is the task env's, not the wrapper's.

Memory first grows while the allocators warm up, so the verdict compares the last sample with
the one at ``--settle`` inner steps: ``growth_after_settle_mb`` must stay within ``--bound-mb``.

Usage: ``python -m benchmarks.soak [--steps 1000000] [--every 50000] [--out benchmarks/results/soak.json]``
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

from benchmarks.results_file import machine, write_result

PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_mb() -> float:
    """This process's resident set size in MB (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_MB


def _make(part: str, env_id: str) -> Any:
    import gymnasium as gym

    import latent_mdp  # noqa: F401  (registers the ids)
    from latent_mdp.envs.registry import make_inner

    if part == "latent":
        return gym.make(env_id)
    if part == "bare":
        return make_inner(env_id)
    raise ValueError(f"unknown part {part!r}; choose latent or bare")


def soak(part: str, env_id: str, steps: int, every: int, seed: int) -> dict[str, Any]:
    """Step one env of ``part`` for ``steps`` inner steps; RSS and live-object samples every ``every``."""
    import torch

    torch.set_num_threads(1)
    env = _make(part, env_id)
    env.action_space.seed(seed)
    env.reset(seed=seed)
    samples = [{"inner_steps": 0, "episodes": 0, "rss_mb": rss_mb(), "gc_objects": len(gc.get_objects()), "seconds": 0.0}]
    inner, episodes, next_sample, start = 0, 0, every, time.perf_counter()
    while inner < steps:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        inner += int(info.get("inner_steps", 1))
        if terminated or truncated:
            episodes += 1
            env.reset()
        if inner >= next_sample:
            samples.append(
                {
                    "inner_steps": inner,
                    "episodes": episodes,
                    "rss_mb": rss_mb(),
                    "gc_objects": len(gc.get_objects()),
                    "seconds": time.perf_counter() - start,
                }
            )
            print(f"{part:>6}: {inner:>8} inner steps, {episodes:>5} episodes, RSS {samples[-1]['rss_mb']:7.1f} MB", flush=True)
            next_sample += every
    env.close()
    return {"part": part, "samples": samples, "inner_steps_per_s": inner / (time.perf_counter() - start)}


def _run_in_child(queue: mp.Queue, *args: Any) -> None:
    queue.put(soak(*args))


def run_part(part: str, env_id: str, steps: int, every: int, seed: int) -> dict[str, Any]:
    """:func:`soak` in a fresh spawned process, so its RSS is its own."""
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_run_in_child, args=(queue, part, env_id, steps, every, seed))
    process.start()
    result = queue.get()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"the {part} soak process exited with code {process.exitcode}")
    return result


def verdict(result: dict[str, Any], settle: int, bound_mb: float) -> dict[str, Any]:
    """Growth from the first sample at or after ``settle`` inner steps to the last, against the bound."""
    samples = result["samples"]
    settled = next(s for s in samples if s["inner_steps"] >= settle)
    last = samples[-1]
    growth = last["rss_mb"] - settled["rss_mb"]
    return {
        "rss_start_mb": samples[0]["rss_mb"],
        "rss_settled_mb": settled["rss_mb"],
        "rss_end_mb": last["rss_mb"],
        "rss_peak_mb": max(s["rss_mb"] for s in samples),
        "growth_after_settle_mb": growth,
        "growth_per_100k_steps_mb": 1e5 * growth / max(1, last["inner_steps"] - settled["inner_steps"]),
        "within_bound": growth <= bound_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="DSRL-PushT-flow-v0")
    parser.add_argument("--steps", type=int, default=1_000_000, help="inner env steps per part")
    parser.add_argument("--every", type=int, default=50_000, help="inner steps between RSS samples")
    parser.add_argument("--settle", type=int, default=200_000, help="inner steps of allocator warm-up before the bound applies")
    parser.add_argument("--bound-mb", type=float, default=25.0, help="allowed RSS growth after --settle")
    parser.add_argument("--parts", nargs="+", default=["latent", "bare"], choices=["latent", "bare"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "soak.json")
    args = parser.parse_args()
    if not 0 < args.every <= args.settle < args.steps:
        parser.error("need 0 < --every <= --settle < --steps")

    parts = {}
    for part in args.parts:
        result = run_part(part, args.env, args.steps, args.every, args.seed)
        result.update(verdict(result, args.settle, args.bound_mb))
        parts[part] = result
        print(
            f"{part}: RSS {result['rss_start_mb']:.0f} -> {result['rss_settled_mb']:.0f} MB at {args.settle} steps "
            f"-> {result['rss_end_mb']:.0f} MB at {args.steps}; growth after settling {result['growth_after_settle_mb']:+.1f} MB "
            f"(bound {args.bound_mb:g}: {'within' if result['within_bound'] else 'EXCEEDED'}), "
            f"{result['inner_steps_per_s']:.0f} inner steps/s"
        )
    out = {
        "benchmark": "soak",
        "env": args.env,
        "steps": args.steps,
        "every": args.every,
        "settle": args.settle,
        "bound_mb": args.bound_mb,
        "machine": machine(),
        "parts": parts,
        "date": time.strftime("%Y-%m-%d"),
    }
    write_result(args.out, out)


if __name__ == "__main__":
    main()
