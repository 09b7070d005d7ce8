"""Evaluation of a latent actor (or of the base policy alone) on a vector form of M^w.

Metrics per episode: success (the inner ``info["is_success"]`` at any latent step), the maximum
``info["coverage"]`` seen at the end of a latent step (PushT reports coverage after every inner
step; chunk ends are what M^w observes), and the summed return.

Every env runs the same number of episodes, so short (often successful) episodes are not
over-counted, as they would be by taking the first ``E`` episodes to finish. Episode ``j`` of env
``i`` starts from the same state whatever the actor (each env is seeded once and PushT draws its
start state at reset), so two evaluations with the same seed can be compared episode by episode:
:func:`paired_difference` does, which removes the spread between easy and hard start states from
the interval of the difference.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from tqdm.auto import tqdm

from latent_mdp.noise_space import NoiseSpace

__all__ = ["EvalResult", "PairedDifference", "base_actor", "evaluate", "model_actor", "paired_difference", "wilson_interval"]

Actor = Callable[[Any], np.ndarray]
"""Maps a batch of observations to latent actions ``(N, k)``."""


Z95 = 1.959964
"""The standard normal quantile of a two-sided 95% interval."""


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a success rate: ``(low, high)``, 95% by default."""
    if n < 1:
        raise ValueError(f"an interval needs at least one episode; got n = {n}")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class EvalResult:
    """Summary of ``episodes`` evaluation episodes.

    ``episode_success`` lists each episode's success ordered by (env, episode of that env), the
    same order for every actor evaluated with the same seed and number of envs.
    """

    episodes: int
    success_rate: float
    mean_max_coverage: float
    mean_return: float
    mean_length: float
    """Mean number of inner env steps per episode."""
    episode_success: list[bool] = field(default_factory=list)

    @property
    def success_interval(self) -> tuple[float, float]:
        """The 95% Wilson interval of the success rate."""
        return wilson_interval(int(round(self.success_rate * self.episodes)), self.episodes)

    def as_dict(self) -> dict[str, Any]:
        """The summary numbers and the 95% interval (not the per-episode list)."""
        summary = {key: value for key, value in asdict(self).items() if key != "episode_success"}
        return {**summary, "success_interval_95": list(self.success_interval)}

    def __str__(self) -> str:
        low, high = self.success_interval
        return (
            f"success {self.success_rate:.1%} (95% CI {low:.1%}-{high:.1%}), max coverage "
            f"{self.mean_max_coverage:.3f}, return {self.mean_return:.2f} over {self.episodes} episodes"
        )


@dataclass(frozen=True)
class PairedDifference:
    """``treated - control`` success over the same episodes, with its 95% interval."""

    episodes: int
    difference: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "excludes_zero": self.excludes_zero}

    def __str__(self) -> str:
        return f"{self.difference:+.1%} (95% CI {self.low:+.1%} to {self.high:+.1%}, {self.episodes} paired episodes)"


def paired_difference(treated: EvalResult, control: EvalResult, z: float = Z95) -> PairedDifference:
    """The success difference of two evaluations of the same episodes, with a paired normal interval.

    Raises:
        ValueError: the evaluations do not hold the same number of per-episode outcomes.
    """
    a = np.asarray(treated.episode_success, dtype=float)
    b = np.asarray(control.episode_success, dtype=float)
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"paired evaluations need the same episodes (at least 2); got {len(a)} and {len(b)}")
    d = a - b
    half = z * float(d.std(ddof=1)) / math.sqrt(len(d))
    return PairedDifference(len(d), float(d.mean()), float(d.mean()) - half, float(d.mean()) + half)


def base_actor(noise_space: NoiseSpace, n_envs: int, seed: int = 0) -> Actor:
    """The base policy on its own: latent actions for ``w ~ N(0, I)`` (clipped at ``b_w``)."""
    rng = np.random.default_rng(seed)
    return lambda obs: noise_space.sample_gaussian_action(rng, n_envs)


def model_actor(model: Any, deterministic: bool = True) -> Actor:
    """A trained SB3-style model as an actor: its mean action, or a sample when not ``deterministic``."""
    return lambda obs: model.predict(obs, deterministic=deterministic)[0]


def evaluate(env: VecEnv, actor: Actor, episodes: int, seed: int = 0, progress: bool = False) -> EvalResult:
    """Run ``actor`` for exactly ``episodes`` episodes over the ``N`` envs of ``env``.

    Env ``i`` runs ``episodes // N`` episodes, one more for the first ``episodes % N`` envs; the
    quotas are fixed in advance, so short episodes are not over-counted. Env ``i`` is seeded with
    ``seed + i`` once; its later episodes follow from that seed.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1; got {episodes}")
    n = env.num_envs
    quota = episodes // n + (np.arange(n) < episodes % n)
    env.seed(seed)
    obs = env.reset()
    done_counts = np.zeros(n, dtype=int)
    success = np.zeros(n, dtype=bool)
    coverage = np.zeros(n)
    returns = np.zeros(n)
    lengths = np.zeros(n, dtype=int)
    records: list[tuple[int, int, bool, float, float, int]] = []
    bar = tqdm(total=episodes, desc="evaluate", disable=not progress)
    while (done_counts < quota).any():
        obs, rewards, dones, infos = env.step(actor(obs))
        for i, info in enumerate(infos):
            success[i] |= bool(info.get("is_success", False))
            coverage[i] = max(coverage[i], float(info.get("coverage", 0.0)))
            returns[i] += rewards[i]
            lengths[i] += info.get("inner_steps", 1)
            if dones[i]:
                if done_counts[i] < quota[i]:
                    records.append((i, done_counts[i], success[i], coverage[i], returns[i], lengths[i]))
                    bar.update()
                done_counts[i] += 1
                success[i], coverage[i], returns[i], lengths[i] = False, 0.0, 0.0, 0
    bar.close()
    records.sort(key=lambda record: record[:2])
    _, _, s, c, r, length = (np.array(column, dtype=float) for column in zip(*records))
    return EvalResult(
        len(records), float(s.mean()), float(c.mean()), float(r.mean()), float(length.mean()), [bool(x) for x in s]
    )
