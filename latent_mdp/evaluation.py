"""Evaluation of a latent actor (or of the base policy alone) on a vector form of M^w.

Metrics per episode: success (the inner ``info["is_success"]`` at any latent step), the maximum
``info["coverage"]`` seen at the end of a latent step (PushT reports coverage after every inner
step; chunk ends are what M^w observes), and the summed return.

Every env runs the same number of episodes, so short (often successful) episodes are not
over-counted, as they would be by taking the first ``E`` episodes to finish.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from tqdm.auto import tqdm

from latent_mdp.noise_space import NoiseSpace

__all__ = ["EvalResult", "base_actor", "evaluate", "model_actor"]

Actor = Callable[[Any], np.ndarray]
"""Maps a batch of observations to latent actions ``(N, k)``."""


@dataclass
class EvalResult:
    """Summary of ``episodes`` evaluation episodes."""

    episodes: int
    success_rate: float
    mean_max_coverage: float
    mean_return: float
    mean_length: float
    """Mean number of inner env steps per episode."""

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"success {self.success_rate:.1%}, max coverage {self.mean_max_coverage:.3f}, "
            f"return {self.mean_return:.2f} over {self.episodes} episodes"
        )


def base_actor(noise_space: NoiseSpace, n_envs: int, seed: int = 0) -> Actor:
    """The base policy on its own: latent actions for ``w ~ N(0, I)`` (clipped at ``b_w``)."""
    rng = np.random.default_rng(seed)
    return lambda obs: noise_space.sample_gaussian_action(rng, n_envs)


def model_actor(model: Any, deterministic: bool = True) -> Actor:
    """A trained SB3-style model as an actor: its mean action, or a sample when not ``deterministic``."""
    return lambda obs: model.predict(obs, deterministic=deterministic)[0]


def evaluate(env: VecEnv, actor: Actor, episodes: int, seed: int = 0, progress: bool = False) -> EvalResult:
    """Run ``actor`` for at least ``episodes`` episodes (rounded up to a multiple of ``env.num_envs``).

    Env ``i`` is seeded with ``seed + i`` once; its later episodes follow from that seed.
    """
    n = env.num_envs
    quota = math.ceil(episodes / n)
    env.seed(seed)
    obs = env.reset()
    done_counts = np.zeros(n, dtype=int)
    success = np.zeros(n, dtype=bool)
    coverage = np.zeros(n)
    returns = np.zeros(n)
    lengths = np.zeros(n, dtype=int)
    records: list[tuple[bool, float, float, int]] = []
    bar = tqdm(total=quota * n, desc="evaluate", disable=not progress)
    while (done_counts < quota).any():
        obs, rewards, dones, infos = env.step(actor(obs))
        for i, info in enumerate(infos):
            success[i] |= bool(info.get("is_success", False))
            coverage[i] = max(coverage[i], float(info.get("coverage", 0.0)))
            returns[i] += rewards[i]
            lengths[i] += info.get("inner_steps", 1)
            if dones[i]:
                if done_counts[i] < quota:
                    records.append((success[i], coverage[i], returns[i], lengths[i]))
                    bar.update()
                done_counts[i] += 1
                success[i], coverage[i], returns[i], lengths[i] = False, 0.0, 0.0, 0
    bar.close()
    s, c, r, length = (np.array(column, dtype=float) for column in zip(*records))
    return EvalResult(len(records), float(s.mean()), float(c.mean()), float(r.mean()), float(length.mean()))
