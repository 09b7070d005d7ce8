"""Cost per noise with prefix reuse against naive ``predict_action_chunk``, for LeRobot VLAs on CPU.

* ``per_noise``: for K in {1, 4, 16} noises on one observation, the time per noise of
  - ``naive``: K full LeRobot calls, ``preprocessor -> predict_action_chunk(batch, noise=w_i) ->
    postprocessor`` (the prefix is recomputed every time; full size times ``--full-naive-calls``
    of them, as every call costs the same);
  - ``reused``: one ``encode`` (prefix + KV cache) and one ``decode`` of all K noises;
  and ``ratio = reused / naive`` (the issue's target: <= 0.3 at K = 16 for full-size SmolVLA).
* ``throughput``: chunks per second of N = 1, 4, 16 batched envs with the tiny pi0 (one encode +
  one decode for all N), against N separate encode + decode calls.

Tiny models (default) are built offline by ``latent_mdp.builders.lerobot_models``; ``--full`` adds
the real sizes with random weights: SmolVLA (SmolVLM2-500M backbone, 450M) and pi0 (4B fp32,
skipped unless about 20 GB of memory is free). Medians of ``--repeats`` alternating runs, torch on
one thread. Results merge into ``benchmarks/results/prefix_reuse.json``.

Usage: ``python -m benchmarks.prefix_reuse [--repeats 7] [--models pi0 smolvla ...]
[--full [--full-models smolvla pi0] [--full-repeats 2] [--full-naive-calls 2]]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from benchmarks.lerobot_reference import reference_actions  # noqa: E402
from benchmarks.results_file import write_result  # noqa: E402
from latent_mdp.builders.lerobot_models import build_random_policy  # noqa: E402
from latent_mdp.policies.lerobot import LeRobotNoisePolicy  # noqa: E402
from latent_mdp.tasks.pusht.stats import pusht_observations  # noqa: E402

KS = (1, 4, 16)
NS = (1, 4, 16)
TASK = "push the T-shaped block onto the target"
CHUNK = {"pi0": 50, "pi05": 50, "smolvla": 50, "diffusion": 16}
FULL_PI0_BYTES = 20e9


def median_seconds(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Median wall time of each callable over ``repeats`` alternating rounds (after one warm-up)."""
    for fn in fns.values():
        fn()  # warm-up: first-call allocations and lazy initialisation
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def per_noise(policy: LeRobotNoisePolicy, repeats: int, naive_cap: int) -> dict[str, dict[str, float]]:
    """Time per noise at each K. Naive calls are independent, so at most ``naive_cap`` of the K
    are timed (the full-size models would otherwise spend minutes on identical calls)."""
    obs = pusht_observations(1)
    results = {}
    for k in KS:
        w = policy.sample_noise(k, torch.Generator().manual_seed(k))
        naive_calls = min(k, naive_cap)

        def naive(w: torch.Tensor = w[:naive_calls]) -> None:
            for i in range(len(w)):
                reference_actions(policy, obs, w[i : i + 1])

        def reused(w: torch.Tensor = w) -> None:
            policy.decode(policy.encode(obs), w)

        t = median_seconds({"naive": naive, "reused": reused}, repeats)
        naive_per_noise, reused_per_noise = t["naive"] / naive_calls, t["reused"] / k
        results[str(k)] = {
            "naive_ms_per_noise": 1e3 * naive_per_noise,
            "reused_ms_per_noise": 1e3 * reused_per_noise,
            "ratio": reused_per_noise / naive_per_noise,
            "naive_calls_timed": naive_calls,
        }
        print(f"  K={k:2d}: naive {results[str(k)]['naive_ms_per_noise']:9.2f} ms/noise, reused "
              f"{results[str(k)]['reused_ms_per_noise']:9.2f} ms/noise, ratio {results[str(k)]['ratio']:.3f}")
    return results


def throughput(policy: LeRobotNoisePolicy, repeats: int) -> dict[str, dict[str, float]]:
    results = {}
    for n in NS:
        obs = pusht_observations(n, seed=n)
        w = policy.sample_noise(n, torch.Generator().manual_seed(n))

        def batched() -> None:
            policy.decode(policy.encode(obs), w)

        def separate() -> None:
            for i in range(n):
                policy.decode(policy.encode({key: v[i : i + 1] for key, v in obs.items()}), w[i : i + 1])

        t = median_seconds({"batched": batched, "separate": separate}, repeats)
        results[str(n)] = {
            "batched_chunks_per_s": n / t["batched"],
            "separate_chunks_per_s": n / t["separate"],
            "speedup": t["separate"] / t["batched"],
        }
        print(f"  N={n:2d}: batched {results[str(n)]['batched_chunks_per_s']:8.1f} chunks/s, separate "
              f"{results[str(n)]['separate_chunks_per_s']:8.1f} chunks/s, speedup {results[str(n)]['speedup']:.2f}x")
    return results


def build(kind: str, root: Path, full_size: bool) -> LeRobotNoisePolicy:
    loaded = build_random_policy(kind, root / kind, chunk_size=CHUNK[kind], full_size=full_size)
    return LeRobotNoisePolicy(loaded, task=TASK)


def describe(policy: LeRobotNoisePolicy) -> dict[str, Any]:
    return {
        "params": sum(p.numel() for p in policy.policy.parameters()),
        "chunk_size": policy.chunk_size,
        "noise_dim": policy.noise_dim,
    }


def available_bytes() -> float:
    try:
        import psutil

        return float(psutil.virtual_memory().available)
    except ImportError:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also full-size random-init SmolVLA and pi0")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--full-repeats", type=int, default=2)
    parser.add_argument("--full-naive-calls", type=int, default=2, help="naive calls timed per K, full size")
    parser.add_argument("--models", nargs="*", default=["pi0", "pi05", "smolvla", "diffusion"],
                        help="tiny models to time (none: only --full)")
    parser.add_argument("--full-models", nargs="+", default=["smolvla", "pi0"], choices=["smolvla", "pi0"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "prefix_reuse.json")
    args = parser.parse_args()
    torch.set_num_threads(1)

    report: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    report["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": 1,
                         "torch": torch.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tiny = report.setdefault("tiny", {})
        for kind in args.models:
            print(f"tiny {kind}")
            policy = build(kind, root / "tiny", full_size=False)
            tiny[kind] = describe(policy) | {"per_noise": per_noise(policy, args.repeats, naive_cap=max(KS))}
            if kind == "pi0":
                print("tiny pi0 throughput")
                report["throughput_tiny_pi0"] = throughput(policy, args.repeats)
        if args.full:
            full = report.setdefault("full", {})
            for kind in args.full_models:
                if kind == "pi0" and available_bytes() < FULL_PI0_BYTES:
                    full[kind] = {"skipped": f"needs ~{FULL_PI0_BYTES / 1e9:.0f} GB free, "
                                             f"{available_bytes() / 1e9:.1f} GB available"}
                    print(f"full {kind}: skipped ({full[kind]['skipped']})")
                    continue
                print(f"full {kind}")
                policy = build(kind, root / "full", full_size=True)
                full[kind] = describe(policy) | {
                    "per_noise": per_noise(policy, args.full_repeats, naive_cap=args.full_naive_calls)
                }
                del policy
    write_result(args.out, report)


if __name__ == "__main__":
    main()
