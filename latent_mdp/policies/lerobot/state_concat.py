"""A LeRobot processor step that feeds ``observation.environment_state`` to VLAs through their state.

pi0, pi0.5 and SmolVLA read images, language and ``observation.state`` only; an
``observation.environment_state`` input (PushT's 16 block keypoints) would be ignored. Placed
right after the normalizer in the preprocessor, :class:`ConcatEnvironmentStateStep` appends the
normalized environment state to the normalized robot state, ``(B, S) + (B, E) -> (B, S + E)``,
which the VLA pads to its ``max_state_dim`` as usual. The raw ``observation.state`` (what
relative actions are measured from) is untouched before the normalizer.

The step is registered with LeRobot's ``ProcessorStepRegistry`` as
``latent_mdp_concat_environment_state`` when this module is imported (``import latent_mdp`` does),
so checkpoints that use it load through LeRobot's own ``PolicyProcessorPipeline.from_pretrained``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from lerobot.configs import PipelineFeatureType, PolicyFeature
from lerobot.processor.pipeline import ObservationProcessorStep, ProcessorStepRegistry
from lerobot.utils.constants import OBS_ENV_STATE, OBS_STATE

__all__ = ["REGISTRY_NAME", "ConcatEnvironmentStateStep"]

REGISTRY_NAME = "latent_mdp_concat_environment_state"


@ProcessorStepRegistry.register(REGISTRY_NAME)
@dataclass
class ConcatEnvironmentStateStep(ObservationProcessorStep):
    """``observation.state := [observation.state, observation.environment_state]``; drops the latter."""

    def observation(self, observation: dict[str, Any]) -> dict[str, Any]:
        if OBS_ENV_STATE not in observation or OBS_STATE not in observation:
            raise KeyError(
                f"{REGISTRY_NAME} needs both '{OBS_STATE}' and '{OBS_ENV_STATE}'; got {sorted(observation)}"
            )
        env_state = observation.pop(OBS_ENV_STATE)
        observation[OBS_STATE] = torch.cat([observation[OBS_STATE], env_state.to(observation[OBS_STATE])], dim=-1)
        return observation

    def get_config(self) -> dict[str, Any]:
        return {}

    def transform_features(
        self, features: dict[PipelineFeatureType, dict[str, PolicyFeature]]
    ) -> dict[PipelineFeatureType, dict[str, PolicyFeature]]:
        observed = dict(features.get(PipelineFeatureType.OBSERVATION, {}))
        state, env_state = observed.get(OBS_STATE), observed.pop(OBS_ENV_STATE, None)
        if state is not None and env_state is not None:
            observed[OBS_STATE] = PolicyFeature(state.type, (state.shape[0] + env_state.shape[0],))
        return {**features, PipelineFeatureType.OBSERVATION: observed}
