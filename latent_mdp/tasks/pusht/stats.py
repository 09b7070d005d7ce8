"""PushT's observation and action sizes, and normalization statistics for PushT-like data.

gym-pusht's positions lie on ``[0, 512]`` px; its pixels are ``96 x 96`` RGB, its agent state
``(2,)`` and its block keypoints ``(16,)``. The LeRobot model builders use these as their defaults.
"""

from __future__ import annotations

import numpy as np
import torch

from latent_mdp.tasks.pusht.block_pose import POSE_DIM
from latent_mdp.tasks.stats import image_stats, uniform_stats

__all__ = ["ACTION_DIM", "ENV_STATE_DIM", "IMAGE_SIZE", "STATE_DIM", "pusht_observations", "pusht_stats"]

IMAGE_SIZE = 96
STATE_DIM = 2
ENV_STATE_DIM = 16
ACTION_DIM = 2
ENV_LOW, ENV_HIGH = 0.0, 512.0


def pusht_stats(*, block_pose: bool = False) -> dict[str, dict[str, torch.Tensor]]:
    """Normalization statistics for PushT-like data: positions uniform on ``[0, 512]``.

    Holds every statistic any of the four policy types reads (mean/std, min/max, q01/q99).

    Args:
        block_pose: ``observation.environment_state`` is the block pose ``(4,)`` of
            :mod:`~latent_mdp.tasks.pusht.block_pose` (centroid on ``[0, 512]``, angle's
            cos / sin on ``[-1, 1]``), not the 16 keypoints.
    """

    if block_pose:
        low, high = torch.tensor([ENV_LOW, ENV_LOW, -1.0, -1.0]), torch.tensor([ENV_HIGH, ENV_HIGH, 1.0, 1.0])
        env_state = uniform_stats(POSE_DIM, low, high)
    else:
        env_state = uniform_stats(ENV_STATE_DIM, ENV_LOW, ENV_HIGH)
    return {
        "observation.image": image_stats(),
        "observation.state": uniform_stats(STATE_DIM, ENV_LOW, ENV_HIGH),
        "observation.environment_state": env_state,
        "action": uniform_stats(ACTION_DIM, ENV_LOW, ENV_HIGH),
    }


def pusht_observations(batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``batch`` random PushT-like Gymnasium observations holding every key the tiny models read.

    Returns:
        ``{"pixels": (B, 96, 96, 3) uint8, "agent_pos": (B, 2), "environment_state": (B, 16)}``.
    """
    rng = np.random.default_rng(seed)
    return {
        "pixels": rng.integers(0, 256, (batch, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8),
        "agent_pos": rng.uniform(ENV_LOW, ENV_HIGH, (batch, STATE_DIM)),
        "environment_state": rng.uniform(ENV_LOW, ENV_HIGH, (batch, ENV_STATE_DIM)),
    }
