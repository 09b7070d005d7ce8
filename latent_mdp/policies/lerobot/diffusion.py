"""DiffusionPolicy as encode / decode: the observation encoding once, the DDIM loop per noise.

``encode`` computes the UNet's global conditioning (state, environment state and ResNet image
features, flattened over ``n_obs_steps``); it is also the feature vector, ``F = global_cond_dim``.
``decode`` runs ``conditional_sample`` from the given noise ``(B*K, horizon, A)``.

Determinism: DDPM adds fresh noise at every step, so its actions are not a function of the initial
noise. :func:`make_deterministic` swaps the scheduler for DDIM with ``eta = 0`` (a logged warning)
or, when told not to swap, refuses.

Chunk layout: the noise covers ``horizon`` steps starting ``n_obs_steps - 1`` steps in the past;
LeRobot executes rows ``n_obs_steps - 1 ...``. ``decode`` returns ``H = horizon`` rows starting at
the current step; when ``n_obs_steps > 1`` the last ``n_obs_steps - 1`` rows repeat the final
action (hold position). Execute at most ``n_action_steps`` of them (the adapter's
``recommended_action_horizon``). The encoder has no observation history: it repeats the current
observation ``n_obs_steps`` times, as LeRobot does on the first step of an episode.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import torch

from latent_mdp.policy import PolicyContext

__all__ = ["DiffusionBackend", "DiffusionContext", "make_deterministic"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class DiffusionContext(PolicyContext):
    """The UNet's global conditioning ``(B, G)`` for ``B`` observations."""

    global_cond: torch.Tensor

    @property
    def batch_size(self) -> int:
        return int(self.global_cond.shape[0])

    def take(self, index: torch.Tensor) -> DiffusionContext:
        return DiffusionContext(self.global_cond.index_select(0, index.to(self.global_cond.device)))

    @classmethod
    def concat(cls, parts: Sequence[PolicyContext]) -> DiffusionContext:
        return DiffusionContext(torch.cat([part.global_cond for part in parts]))  # type: ignore[attr-defined]


def make_deterministic(policy: Any, *, swap: bool) -> None:
    """Swap a DDPM scheduler for DDIM (eta 0) in place, or raise when not ``swap``."""
    from diffusers import DDIMScheduler, DDPMScheduler

    scheduler = policy.diffusion.noise_scheduler
    if not isinstance(scheduler, DDPMScheduler):
        return
    if not swap:
        raise ValueError(
            "this DiffusionPolicy samples with DDPM, which adds fresh noise at every step, so its "
            "actions are not a function of the initial noise; load with swap_ddpm_for_ddim=True to swap in "
            "DDIM (eta=0), or retrain with noise_scheduler_type='DDIM'"
        )
    logger.warning(
        "DiffusionPolicy uses DDPM, which is stochastic given the initial noise; swapping in "
        "DDIM (eta=0, same betas, %s steps) so decode is deterministic",
        policy.diffusion.num_inference_steps,
    )
    policy.diffusion.noise_scheduler = DDIMScheduler.from_config(scheduler.config)
    policy.config.noise_scheduler_type = "DDIM"


class DiffusionBackend:
    """Encode / decode for a LeRobot ``DiffusionPolicy`` whose scheduler is deterministic."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        config = policy.config
        self.n_obs_steps = int(config.n_obs_steps)
        self.n_action_steps = int(config.n_action_steps)
        self.chunk_size = int(config.horizon)
        self.action_dim = int(config.action_feature.shape[0])
        self.noise_dim = self.action_dim
        self.feature_dim = self._global_cond_dim()

    def _global_cond_dim(self) -> int:
        config = self.policy.config
        dim = config.robot_state_feature.shape[0]
        if config.image_features:
            encoders = self.policy.diffusion.rgb_encoder
            encoder = encoders[0] if isinstance(encoders, torch.nn.ModuleList) else encoders
            dim += encoder.feature_dim * len(config.image_features)
        if config.env_state_feature:
            dim += config.env_state_feature.shape[0]
        return int(dim * self.n_obs_steps)

    def stack_history(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Add the ``n_obs_steps`` axis by repeating the current observation (LeRobot's layout)."""
        from lerobot.utils.constants import OBS_ENV_STATE, OBS_IMAGES, OBS_STATE

        config = self.policy.config

        def history(x: torch.Tensor) -> torch.Tensor:
            return x.unsqueeze(1).expand(x.shape[0], self.n_obs_steps, *x.shape[1:])

        stacked = {OBS_STATE: history(batch[OBS_STATE])}
        if config.env_state_feature:
            stacked[OBS_ENV_STATE] = history(batch[OBS_ENV_STATE])
        for key in config.image_features:
            stacked[key] = history(batch[key])
        if config.image_features:
            stacked[OBS_IMAGES] = torch.stack([stacked[key] for key in config.image_features], dim=-4)
        return stacked

    def encode(self, batch: dict[str, Any]) -> DiffusionContext:
        self.policy.eval()
        cond = self.policy.diffusion._prepare_global_conditioning(self.stack_history(batch))  # noqa: SLF001
        return DiffusionContext(cond)

    def features(self, ctx: DiffusionContext) -> torch.Tensor:
        """``(B, F)``: the UNet's global conditioning."""
        return ctx.global_cond

    def decode(self, ctx: DiffusionContext, noise: torch.Tensor) -> torch.Tensor:
        """Normalized actions ``(B*K, horizon, A)`` from the current step; see the module notes."""
        k = noise.shape[0] // ctx.batch_size
        cond = ctx.global_cond.repeat_interleave(k, dim=0)
        sample = self.policy.diffusion.conditional_sample(noise.shape[0], global_cond=cond, noise=noise)
        start = self.n_obs_steps - 1
        if start == 0:
            return sample
        hold = sample[:, -1:].expand(-1, start, -1)
        return torch.cat([sample[:, start:], hold], dim=1)
