"""A LeRobot processor step that turns PushT's 8 block keypoints into the block's pose.

gym-pusht's ``environment_state`` holds the T block's 8 corner keypoints, ``(B, 16)`` as
``x0, y0, x1, y1, ...`` in px. They are a rigid function of the block's pose, so 4 numbers say the
same: the keypoints' centroid (a fixed point of the block, 45 px from gym-pusht's body position)
and the direction of the edge from keypoint 0 to keypoint 1 (the block's angle), ``(B, 4)`` as
``[cx, cy, cos(angle), sin(angle)]``.

pi0.5 reads its state only as prompt text, one number token per state value, and a token's value
vector carries no position, so it must learn which prompt position holds which dimension.
:class:`BlockPoseStep`, placed right before the normalizer, shortens what it must read from 18
numbers (agent x, y and 16 keypoint coordinates) to 6. The normalizer then holds the pose's
statistics, not the keypoints'.

The step is registered with LeRobot's ``ProcessorStepRegistry`` as ``latent_mdp_block_pose`` when
this module is imported (loading any LeRobot checkpoint through this package does), so
checkpoints that use it load through LeRobot's own ``PolicyProcessorPipeline.from_pretrained``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from lerobot.configs import PipelineFeatureType, PolicyFeature
from lerobot.processor.pipeline import ObservationProcessorStep, ProcessorStepRegistry
from lerobot.utils.constants import OBS_ENV_STATE

__all__ = ["KEYPOINTS_DIM", "POSE_DIM", "REGISTRY_NAME", "BlockPoseStep", "block_pose"]

REGISTRY_NAME = "latent_mdp_block_pose"
KEYPOINTS_DIM = 16
POSE_DIM = 4


def block_pose(keypoints: torch.Tensor) -> torch.Tensor:
    """The block pose ``(..., 4)`` = ``[cx, cy, cos, sin]`` of gym-pusht keypoints ``(..., 16)``.

    Raises:
        ValueError: the last axis is not the 8 keypoints' 16 coordinates.
    """
    if keypoints.shape[-1] != KEYPOINTS_DIM:
        raise ValueError(f"{REGISTRY_NAME} needs the 8 block keypoints (..., {KEYPOINTS_DIM}); got {tuple(keypoints.shape)}")
    points = keypoints.reshape(*keypoints.shape[:-1], KEYPOINTS_DIM // 2, 2)
    edge = points[..., 1, :] - points[..., 0, :]
    direction = edge / edge.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    return torch.cat([points.mean(dim=-2), direction], dim=-1)


@ProcessorStepRegistry.register(REGISTRY_NAME)
@dataclass
class BlockPoseStep(ObservationProcessorStep):
    """``observation.environment_state := block_pose(observation.environment_state)``, ``(B, 16) -> (B, 4)``."""

    def observation(self, observation: dict[str, Any]) -> dict[str, Any]:
        if OBS_ENV_STATE not in observation:
            raise KeyError(f"{REGISTRY_NAME} needs '{OBS_ENV_STATE}' (the block keypoints); got {sorted(observation)}")
        observation[OBS_ENV_STATE] = block_pose(torch.as_tensor(observation[OBS_ENV_STATE]))
        return observation

    def get_config(self) -> dict[str, Any]:
        return {}

    def transform_features(
        self, features: dict[PipelineFeatureType, dict[str, PolicyFeature]]
    ) -> dict[PipelineFeatureType, dict[str, PolicyFeature]]:
        observed = dict(features.get(PipelineFeatureType.OBSERVATION, {}))
        if OBS_ENV_STATE in observed:
            observed[OBS_ENV_STATE] = PolicyFeature(observed[OBS_ENV_STATE].type, (POSE_DIM,))
        return {**features, PipelineFeatureType.OBSERVATION: observed}
