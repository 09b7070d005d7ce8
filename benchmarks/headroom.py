"""Noise headroom of a registered id's base policy: best-of-K random noises per start state.

    python -m benchmarks.headroom DSRL-MetaWorld-push-flow-v0 --starts 60

From each of ``--starts`` start states (``reset(seed=10000 + i)``), the base policy runs ``K_max``
episodes side by side, each with its own random noise (``w ~ N(0, I)`` in the id's noise space,
clipped at its bound, fresh every latent step). Best-of-K success is the share of start states
where at least one of the first K episodes succeeds, for K = 1, 2, 4, 8: what an oracle that picks
the best of K random noise sequences reaches, so a lower bound on what choosing the noise can
reach. Best-of-1 is the base's own success rate.
Also recorded: the share of start states where all ``K_max`` succeed, or none does. Writes
``benchmarks/results/headroom_<env_id>.json``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

from benchmarks.results_file import machine, write_result

RESULTS = Path(__file__).parent / "results"
KS = (1, 2, 4, 8)


def start_state_outcomes(env: gym.vector.VectorEnv, success_key: str, start_seed: int, noise_seed: int) -> np.ndarray:
    """(N,) bool: whether each of the N envs of ``env``, all reset to ``start_seed``, succeeded with its own random noise.

    ``env`` is an id's batched Gymnasium form (``gym.make_vec(id, N)``); ``success_key`` its info key of success.
    """
    n = env.num_envs
    rng = np.random.default_rng(noise_seed)
    env.reset(seed=[start_seed] * n)
    done, success = np.zeros(n, bool), np.zeros(n, bool)
    while not done.all():
        _, _, terminated, truncated, infos = env.step(env.noise_space.sample_gaussian_action(rng, n))
        ended = (terminated | truncated) & ~done
        final = infos.get("final_info", {})
        success |= ended & np.asarray(final.get(success_key, np.zeros(n)), dtype=bool)
        done |= ended
    return success


def headroom(outcomes: np.ndarray) -> dict[str, float]:
    """Best-of-K success for K in :data:`KS` from (starts, k_max) bool outcomes."""
    return {f"best_of_{k}": float(outcomes[:, :k].any(axis=1).mean()) for k in KS if k <= outcomes.shape[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("env_id")
    parser.add_argument("--starts", type=int, default=60)
    parser.add_argument("--k-max", type=int, default=max(KS))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from tqdm import tqdm

    import latent_mdp  # noqa: F401  (registers the ids)
    from latent_mdp.envs.registry import task_metrics

    torch.set_num_threads(1)
    start = time.perf_counter()
    env = gym.make_vec(args.env_id, args.k_max)
    key = task_metrics(args.env_id).success
    try:
        outcomes = np.stack([start_state_outcomes(env, key, 10_000 + i, noise_seed=i) for i in tqdm(range(args.starts), desc="start states")])
    finally:
        env.close()
    result = {
        "benchmark": "headroom",
        "env_id": args.env_id,
        "starts": args.starts,
        "k_max": args.k_max,
        **headroom(outcomes),
        "all_succeed": float(outcomes.all(axis=1).mean()),
        "none_succeed": float((~outcomes).all(axis=1).mean()),
        "per_episode_success": float(outcomes.mean()),
        "seconds": time.perf_counter() - start,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
    }
    print({k: v for k, v in result.items() if k.startswith(("best", "all", "none", "per"))})
    write_result(RESULTS / f"headroom_{args.env_id}.json", result)


if __name__ == "__main__":
    main()
