"""Per-episode task metrics: which info keys mean success, and which ones to track at their maximum.

A task preset names its metrics (PushT: success is ``info["is_success"]``, and the maximum of
``info["coverage"]`` is worth tracking); evaluation, the training callbacks and the CLI read them
from there instead of hard-coding one task's keys. :class:`EpisodeTracker` accumulates them over
the latent steps of ``N`` envs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

__all__ = ["EpisodeMetrics", "EpisodeRecord", "EpisodeTracker"]


@dataclass(frozen=True)
class EpisodeMetrics:
    """The info keys a task reports per step.

    Attributes:
        success: the info key that is true at a successful step (an episode succeeds when it is
            true at any latent step).
        maxima: info keys whose largest value over the episode's latent steps is recorded
            (read at the end of each latent step, as M^w sees them).

    Example:
        >>> metrics = EpisodeMetrics(success="is_success", maxima=("coverage",))
        >>> metrics.result_keys()
        ['mean_max_coverage']
    """

    success: str = "is_success"
    maxima: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not isinstance(self.success, str) or not self.success:
            raise ValueError(f"success must name an info key; got {self.success!r}")
        if isinstance(self.maxima, str) or not all(isinstance(key, str) and key for key in self.maxima):
            raise ValueError(f"maxima must be a tuple of info keys; got {self.maxima!r}")

    def result_keys(self) -> list[str]:
        """The names of the mean maxima in a result (``mean_max_<key>``)."""
        return [f"mean_max_{key}" for key in self.maxima]


@dataclass(frozen=True)
class EpisodeRecord:
    """One finished episode of env ``env``, its ``index``-th."""

    env: int
    index: int
    success: bool
    maxima: dict[str, float]
    ret: float
    length: int


class EpisodeTracker:
    """Accumulates :class:`EpisodeMetrics`, the return and the length of the running episode of ``N`` envs."""

    def __init__(self, n_envs: int, metrics: EpisodeMetrics) -> None:
        self.metrics = metrics
        self.counts = np.zeros(n_envs, dtype=int)
        """Finished episodes per env."""
        self._success = np.zeros(n_envs, dtype=bool)
        self._maxima = {key: np.full(n_envs, -np.inf) for key in metrics.maxima}
        self._returns = np.zeros(n_envs)
        self._lengths = np.zeros(n_envs, dtype=int)

    def step(self, rewards: Sequence[float], dones: Sequence[bool], infos: Sequence[dict[str, Any]]) -> list[EpisodeRecord]:
        """Add one latent step of every env; returns the episodes it finished."""
        finished = []
        for i, info in enumerate(infos):
            self._success[i] |= bool(info.get(self.metrics.success, False))
            for key, values in self._maxima.items():
                if key in info:
                    values[i] = max(values[i], float(info[key]))
            self._returns[i] += float(rewards[i])
            self._lengths[i] += int(info.get("inner_steps", 1))
            if dones[i]:
                maxima = {key: float(values[i]) if np.isfinite(values[i]) else float("nan") for key, values in self._maxima.items()}
                finished.append(EpisodeRecord(i, int(self.counts[i]), bool(self._success[i]), maxima, float(self._returns[i]), int(self._lengths[i])))
                self.counts[i] += 1
                self._success[i], self._returns[i], self._lengths[i] = False, 0.0, 0
                for values in self._maxima.values():
                    values[i] = -np.inf
        return finished
