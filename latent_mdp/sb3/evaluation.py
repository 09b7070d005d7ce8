"""Evaluation of a latent actor (or of the base policy alone) on a vector form of M^w.

Metrics per episode (:class:`latent_mdp.metrics.EpisodeMetrics`, named by the task preset):
success (the task's success key true at any latent step), the maximum of each tracked info key
seen at the end of a latent step (PushT's ``coverage``; chunk ends are what M^w observes), and the
summed return.

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

from latent_mdp.metrics import EpisodeMetrics, EpisodeRecord, EpisodeTracker
from latent_mdp.noise_space import NoiseSpace

__all__ = [
    "EvalResult",
    "PairedDifference",
    "base_actor",
    "env_metrics",
    "evaluate",
    "evaluate_base_policy",
    "model_actor",
    "paired_difference",
    "wilson_interval",
]

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

    ``mean_max`` maps each tracked info key to the mean over episodes of its largest value (``as_dict``
    writes it as ``mean_max_<key>``). ``episode_success`` lists each episode's success ordered by
    (env, episode of that env), the same order for every actor evaluated with the same seed and
    number of envs.
    """

    episodes: int
    success_rate: float
    mean_return: float
    mean_length: float
    """Mean number of inner env steps per episode."""
    mean_max: dict[str, float] = field(default_factory=dict)
    episode_success: list[bool] = field(default_factory=list)

    @property
    def success_interval(self) -> tuple[float, float]:
        """The 95% Wilson interval of the success rate."""
        return wilson_interval(int(round(self.success_rate * self.episodes)), self.episodes)

    def as_dict(self) -> dict[str, Any]:
        """The summary numbers, one ``mean_max_<key>`` per tracked key, and the 95% interval (not the per-episode list)."""
        summary = {key: getattr(self, key) for key in ("episodes", "success_rate", "mean_return", "mean_length")}
        summary |= {f"mean_max_{key}": value for key, value in self.mean_max.items()}
        return {**summary, "success_interval_95": list(self.success_interval)}

    def __str__(self) -> str:
        low, high = self.success_interval
        maxima = "".join(f", max {key} {value:.3f}" for key, value in self.mean_max.items())
        return f"success {self.success_rate:.1%} (95% CI {low:.1%}-{high:.1%}){maxima}, return {self.mean_return:.2f} over {self.episodes} episodes"


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


def env_metrics(env: Any) -> EpisodeMetrics:
    """The ``task_metrics`` of an SB3 vector env (through any ``VecEnvWrapper``), else the default."""
    metrics = getattr(env, "task_metrics", None)
    return metrics if isinstance(metrics, EpisodeMetrics) else EpisodeMetrics()


def evaluate(
    env: VecEnv, actor: Actor, episodes: int, seed: int = 0, progress: bool = False, metrics: EpisodeMetrics | None = None
) -> EvalResult:
    """Run ``actor`` for exactly ``episodes`` episodes over the ``N`` envs of ``env``.

    Env ``i`` runs ``episodes // N`` episodes, one more for the first ``episodes % N`` envs; the
    quotas are fixed in advance, so short episodes are not over-counted. Env ``i`` is seeded with
    ``seed + i`` once; its later episodes follow from that seed.

    Args:
        metrics: the task's info keys (default: the env's ``task_metrics`` where it has them, as
            :func:`latent_mdp.sb3.make_sb3_vec_env` sets, else success as ``info["is_success"]``).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1; got {episodes}")
    metrics = env_metrics(env) if metrics is None else metrics
    n = env.num_envs
    quota = episodes // n + (np.arange(n) < episodes % n)
    env.seed(seed)
    obs = env.reset()
    tracker = EpisodeTracker(n, metrics)
    records: list[EpisodeRecord] = []
    bar = tqdm(total=episodes, desc="evaluate", disable=not progress)
    while (tracker.counts < quota).any():
        obs, rewards, dones, infos = env.step(actor(obs))
        for record in tracker.step(rewards, dones, infos):
            if record.index < quota[record.env]:
                records.append(record)
                bar.update()
    bar.close()
    records.sort(key=lambda record: (record.env, record.index))
    success = [record.success for record in records]
    return EvalResult(
        episodes=len(records),
        success_rate=float(np.mean(success)),
        mean_return=float(np.mean([record.ret for record in records])),
        mean_length=float(np.mean([record.length for record in records])),
        mean_max={key: float(np.mean([record.maxima[key] for record in records])) for key in metrics.maxima},
        episode_success=success,
    )


def evaluate_base_policy(env_id: str, episodes: int, n_envs: int = 10, seed: int = 10_000, progress: bool = True, **kwargs: Any) -> EvalResult:
    """A registered id's base policy alone (``w ~ N(0, I)``, clipped at ``b_w``) over ``episodes`` episodes.

    ``kwargs`` go to the id (``policy_path=``, ``noise=``, ...). Env ``i`` is seeded with ``seed + i``.
    """
    from latent_mdp.sb3.envs import make_sb3_vec_env

    env = make_sb3_vec_env(env_id, n_envs, **kwargs)
    try:
        return evaluate(env, base_actor(env.noise_space, n_envs, seed), episodes, seed=seed, progress=progress)
    finally:
        env.close()
