"""LeRobot's own action path for a :class:`LeRobotNoisePolicy`: the reference its encode/decode split is checked against.

The benchmarks time it against prefix reuse, and the tests check that ``decode`` returns what it returns.
"""

from __future__ import annotations

import torch

from latent_mdp.policies.lerobot import LeRobotNoisePolicy
from latent_mdp.policy import Observation

__all__ = ["normalized_reference", "reference_actions"]


@torch.no_grad()
def normalized_reference(policy: LeRobotNoisePolicy, obs_batch: Observation, noise: torch.Tensor) -> torch.Tensor:
    """``predict_action_chunk(batch, noise=w)`` of ``B`` observations, in LeRobot's normalized units ``(B, n_action_steps, A)``."""
    batch, noise = policy.lerobot_batch(obs_batch), noise.to(policy.device)
    if policy.policy_type == "diffusion":
        policy.policy.reset()  # its observation queue: one step of history, as the adapter encodes
        return policy.policy.predict_action_chunk(policy.backend.stack_history(batch), noise=noise)
    return policy.policy.predict_action_chunk(batch, noise=noise)


@torch.no_grad()
def reference_actions(policy: LeRobotNoisePolicy, obs_batch: Observation, noise: torch.Tensor) -> torch.Tensor:
    """One full LeRobot call per batch: ``predict_action_chunk(batch, noise=w)``, then the postprocessor.

    Args:
        policy: the adapted LeRobot policy.
        obs_batch: ``B`` Gymnasium observations.
        noise: ``(B, H, D)``, one noise per observation.

    Returns:
        ``(B, n_action_steps, A)`` float32 env units; equals ``decode``'s first
        ``recommended_action_horizon`` rows.
    """
    return policy.postprocessor(normalized_reference(policy, obs_batch, noise)).to(dtype=torch.float32, device="cpu")
