"""`LatentCore`: the policy-side work shared by the single-env wrapper and the vector forms.

It owns the frozen policy, the noise space and the observation mode, and does the two policy
calls of a latent-action step for a batch of ``N`` envs: one ``encode`` of the new observations
and one ``decode`` of the chosen noises.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from latent_mdp.chunk import ChunkResult, RewardMode, validate_latent_action
from latent_mdp.noise_space import NoiseMode, NoiseSpace
from latent_mdp.observations import ObservationBuilder, ObsMode, stack_observations
from latent_mdp.policy import NoisePolicy, PolicyContext, decode_checked, encode_checked

__all__ = ["LatentCore"]


def _make_noise_space(policy: NoisePolicy, noise: NoiseSpace | NoiseMode, noise_bound: float) -> NoiseSpace:
    if isinstance(noise, NoiseSpace):
        if (noise.chunk_size, noise.noise_dim) != (policy.chunk_size, policy.noise_dim):
            raise ValueError(
                f"{noise} does not fit {policy.name}, whose noise is "
                f"(H, D) = ({policy.chunk_size}, {policy.noise_dim})"
            )
        return noise
    return NoiseSpace(policy.chunk_size, policy.noise_dim, mode=noise, bound=noise_bound)


class LatentCore:
    """Policy calls and bookkeeping of the latent-action MDP, for ``N >= 1`` envs at once.

    Args:
        policy: the frozen base policy.
        env_observation_space: the inner env's (single) observation space.
        noise: a :class:`NoiseSpace`, or a mode name built with ``noise_bound``.
        action_horizon: ``h <= H`` actions executed per latent step (default ``H``).
        obs_mode: what the latent actor observes (see :class:`ObservationBuilder`).
        reward: ``"sum"`` or ``"discounted"`` (with ``gamma``) within a chunk.
        strict: reject out-of-bound latent actions instead of clipping them.
    """

    def __init__(
        self,
        policy: NoisePolicy,
        env_observation_space: gym.Space,
        *,
        noise: NoiseSpace | NoiseMode = "repeat",
        noise_bound: float = 1.5,
        action_horizon: int | None = None,
        obs_mode: ObsMode = "env",
        reward: RewardMode = "sum",
        gamma: float = 0.99,
        strict: bool = False,
    ) -> None:
        if not isinstance(policy, NoisePolicy):
            raise TypeError(f"policy must implement latent_mdp.NoisePolicy; got {type(policy).__name__}")
        self.policy = policy
        self.noise_space = _make_noise_space(policy, noise, noise_bound)
        self.action_horizon = policy.chunk_size if action_horizon is None else int(action_horizon)
        if not 1 <= self.action_horizon <= policy.chunk_size:
            raise ValueError(
                f"action_horizon must lie in [1, chunk_size={policy.chunk_size}]; got {action_horizon}"
            )
        if reward not in ("sum", "discounted"):
            raise ValueError(f"reward must be 'sum' or 'discounted'; got {reward!r}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1]; got {gamma}")
        self.reward_mode: RewardMode = reward
        self.gamma = gamma
        self.strict = strict
        self.observations = ObservationBuilder(env_observation_space, policy.feature_dim, obs_mode, policy.name)
        self.action_space = self.noise_space.action_space

    @property
    def observation_space(self) -> gym.Space:
        return self.observations.space

    def encode(self, env_observations: list[Any]) -> tuple[PolicyContext, list[Any]]:
        """Encode ``N`` env observations in one call; return the context and the actor's observations."""
        ctx = encode_checked(self.policy, stack_observations(env_observations), len(env_observations))
        features = None
        if self.observations.needs_features:
            features = self.policy.features(ctx).detach().cpu().numpy()
        built = [
            self.observations.build(obs, None if features is None else features[i])
            for i, obs in enumerate(env_observations)
        ]
        return ctx, built

    def validate(self, latent_action: Any, n_envs: int | None = None) -> np.ndarray:
        """A checked (and clipped, unless strict) latent action: ``(k,)``, or ``(N, k)`` for ``N`` envs."""
        return validate_latent_action(latent_action, self.action_space, self.strict, n_envs)

    def decode(self, ctx: PolicyContext, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decode ``N`` validated latent actions ``u`` ``(N, k)`` in one policy call.

        Returns:
            The noise ``w`` ``(N, H, D)`` and the actions to execute ``(N, h, A)`` in env units.
        """
        w = self.noise_space.to_noise(u)
        noise = torch.from_numpy(w).to(self.policy.device)
        actions = decode_checked(self.policy, ctx, noise).cpu().numpy()
        return w, actions[:, : self.action_horizon]

    @staticmethod
    def step_info(result: ChunkResult, u: np.ndarray, w: np.ndarray, env_observation: Any) -> dict[str, Any]:
        """The info of one latent step: the last inner info plus the chunk's record.

        ``env_observation`` is the inner observation the chunk was decoded for (``s``, the base
        policy's input); ``next_env_observation`` is the one where the chunk stopped (``s'``, the
        terminal one when the episode ended). Agents that re-run the base policy on stored
        transitions (DSRL-NA) store these two, whatever the latent actor observes.
        """
        return {
            **result.info,
            "executed_actions": result.executed_actions,
            "decoded_chunk": result.planned_actions,
            "inner_steps": result.inner_steps,
            "noise": w,
            "latent_action": u,
            "env_observation": env_observation,
            "next_env_observation": result.observation,
        }
