"""Overhead of the latent-action wrapper, and throughput of its batched vector form, on PushT state.

* ``overhead_ratio``: the time of one wrapped M^w step divided by the time of the same work done
  by hand (one ``encode`` + one ``decode`` + the same ``h`` inner env steps). Target <= 1.05.
  The two replay the same latent actions from the same seeds (identical trajectories), in
  alternating blocks within one run (alternating which goes first); the ratio of medians is reported.
* ``vector_speedup``: inner env steps per second of ``LatentActionVecEnv`` at N = 1, 4, 16 envs
  (one policy call per chunk for all N), against N single wrappers in an SB3 ``DummyVecEnv``.

Usage: ``python -m benchmarks.wrapper_overhead [--blocks 15] [--out benchmarks/results/wrapper_overhead.json]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import gym_pusht  # noqa: F401  (registers gym_pusht/PushT-v0)
import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from benchmarks.results_file import machine, write_result
from latent_mdp import LatentActionVecEnv, LatentActionWrapper
from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy

CHUNK = 8


def make_policy() -> FlowMLPPolicy:
    """A flow MLP of the shipped PushT size (weights do not change the cost)."""
    torch.manual_seed(0)
    config = FlowMLPConfig(obs_dim=5, action_dim=2, chunk_size=CHUNK, action_mean=[256, 256], action_std=[128, 128])
    return FlowMLPPolicy(config)


def pusht() -> gym.Env:
    return gym.make("gym_pusht/PushT-v0", obs_type="state")


def latent_actions(steps: int, seed: int) -> np.ndarray:
    """The latent actions ``(steps, 2)`` of one timing block (both sides replay the same ones)."""
    return np.random.default_rng(seed).uniform(-1, 1, (steps, 2)).astype(np.float32)


def time_wrapped(env: LatentActionWrapper, us: np.ndarray, seed: int) -> float:
    env.reset(seed=seed)
    start = time.perf_counter()
    for u in us:
        _, _, terminated, truncated, _ = env.step(u)
        if terminated or truncated:
            env.reset()
    return (time.perf_counter() - start) / len(us)


def time_by_hand(env: gym.Env, policy: FlowMLPPolicy, us: np.ndarray, seed: int) -> float:
    """The same work without the wrapper: encode, decode, h env steps, stop at the episode end.

    With the same seed and latent actions it follows exactly the wrapped trajectory.
    """
    obs, _ = env.reset(seed=seed)
    start = time.perf_counter()
    for u in us:
        with torch.no_grad():
            ctx = policy.encode(obs[None])
            w = torch.from_numpy(np.tile(1.5 * u, (CHUNK, 1)))
            actions = policy.decode(ctx, w[None])[0].numpy()
        for action in np.clip(actions, 0, 512):
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                obs, _ = env.reset()
                break
    return (time.perf_counter() - start) / len(us)


def measure_overhead(blocks: int, steps: int) -> dict:
    policy = make_policy()
    wrapped = LatentActionWrapper(pusht(), policy)
    raw = pusht()
    time_wrapped(wrapped, latent_actions(20, 0), 0), time_by_hand(raw, policy, latent_actions(20, 0), 0)  # warm up
    wrapped_times, hand_times = [], []
    for block in range(blocks):
        us = latent_actions(steps, block)
        if block % 2:  # alternate which side runs first, so neither gains from the other's warm caches
            hand_times.append(time_by_hand(raw, policy, us, block))
            wrapped_times.append(time_wrapped(wrapped, us, block))
        else:
            wrapped_times.append(time_wrapped(wrapped, us, block))
            hand_times.append(time_by_hand(raw, policy, us, block))
    wrapped_ms, hand_ms = statistics.median(wrapped_times) * 1e3, statistics.median(hand_times) * 1e3
    return {"wrapped_step_ms": wrapped_ms, "by_hand_step_ms": hand_ms, "overhead_ratio": wrapped_ms / hand_ms}


def throughput(vec_env, chunks: int) -> float:
    """Inner env steps per second over ``chunks`` latent steps of every env."""
    vec_env.seed(0)
    vec_env.reset()
    rng = np.random.default_rng(0)
    inner = 0
    start = time.perf_counter()
    for _ in range(chunks):
        _, _, _, infos = vec_env.step(rng.uniform(-1, 1, (vec_env.num_envs, 2)).astype(np.float32))
        inner += sum(info["inner_steps"] for info in infos)
    return inner / (time.perf_counter() - start)


def measure_vector(chunks: int) -> dict:
    policy = make_policy()
    results = {}
    for n in (1, 4, 16):
        batched = throughput(LatentActionVecEnv([pusht] * n, policy), chunks)
        separate = throughput(DummyVecEnv([lambda: LatentActionWrapper(pusht(), policy)] * n), chunks)
        results[str(n)] = {"batched_steps_per_s": batched, "separate_wrappers_steps_per_s": separate}
    base = results["1"]["batched_steps_per_s"]
    for n, row in results.items():
        row["speedup_vs_n1"] = row["batched_steps_per_s"] / base
        row["batched_over_separate"] = row["batched_steps_per_s"] / row["separate_wrappers_steps_per_s"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=15, help="alternating timing blocks")
    parser.add_argument("--steps", type=int, default=200, help="latent steps per block")
    parser.add_argument("--chunks", type=int, default=150, help="latent steps per vector throughput run")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "wrapper_overhead.json")
    args = parser.parse_args()
    torch.set_num_threads(1)

    overhead = measure_overhead(args.blocks, args.steps)
    print(
        f"wrapped step {overhead['wrapped_step_ms']:.3f} ms, by hand {overhead['by_hand_step_ms']:.3f} ms, "
        f"overhead_ratio {overhead['overhead_ratio']:.3f} (target <= 1.05)"
    )
    vector = measure_vector(args.chunks)
    for n, row in vector.items():
        print(
            f"N={n:>2}: {row['batched_steps_per_s']:8.0f} inner steps/s batched "
            f"(x{row['speedup_vs_n1']:.2f} vs N=1), {row['separate_wrappers_steps_per_s']:8.0f} with N wrappers "
            f"(batched x{row['batched_over_separate']:.2f})"
        )
    result = {
        "benchmark": "wrapper_overhead",
        "env": "gym_pusht/PushT-v0 (obs_type=state)",
        "policy": f"FlowMLPPolicy(hidden 256, 3 layers, chunk {CHUNK}, 10 Euler steps), repeat noise, action_horizon {CHUNK}",
        "machine": machine(),
        **overhead,
        "vector_speedup": vector,
        "date": time.strftime("%Y-%m-%d"),
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()
