"""One recorded expert episode, as every suite's scripted expert hands it to the demo inversion."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ExpertEpisode"]


@dataclass
class ExpertEpisode:
    """One recorded expert episode: ``T + 1`` observations, ``(T, A)`` actions, ``(T,)`` rewards.

    Attributes:
        observations: the reset observation first and the final one last.
        actions: the actions the env executed, in env units.
        rewards: the env's reward after each action.
        terminated: whether the episode ended by termination (success) rather than a time limit.
    """

    observations: list[np.ndarray]
    actions: np.ndarray
    rewards: np.ndarray
    terminated: bool
