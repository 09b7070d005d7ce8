"""SAC on the noise, regularized toward the base policy's own noise ``N(0, I)`` instead of uniform.

SAC's entropy bonus pulls its actor toward the uniform distribution on ``[-b_w, b_w]^d``. On the
latent-action MDP the natural reference is the distribution the base policy was trained with,
``w ~ N(0, I)``: it *is* the base policy. :class:`NoisePriorPolicy` makes SB3's SAC optimize

    Q(s, w) - alpha * KL(pi(. | s) || N(0, I) clipped to the box)

by having its actor report ``log pi(w | s) - log p(w)`` where SAC expects ``log pi(w | s)``. SAC's
own training loop is unchanged: its entropy terms become KL terms, and with ``ent_coef="auto"``
``target_entropy = -k`` tunes ``alpha`` so that the KL stays near ``k`` nats. ``alpha -> inf``
gives back the base policy; a small ``alpha`` lets the actor concentrate where the critic is sure.

Use it with ``policy: NoisePriorPolicy`` in a SAC YAML entry.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.sac.policies import Actor, MultiInputPolicy, SACPolicy

__all__ = ["MultiInputNoisePriorPolicy", "NoisePriorActor", "NoisePriorPolicy", "noise_prior_log_prob"]


def noise_prior_log_prob(unit_actions: torch.Tensor, bound: float) -> torch.Tensor:
    """Log-density of ``u = w / bound`` for ``w ~ N(0, I)`` truncated to ``[-bound, bound]^d``.

    Args:
        unit_actions: ``(B, d)`` actions in SAC's ``[-1, 1]`` units.
        bound: ``b_w``, the half-width of the noise box.

    Returns:
        ``(B,)`` log-densities (with respect to ``du``).
    """
    d = unit_actions.shape[-1]
    per_dim_const = math.log(bound) - 0.5 * math.log(2 * math.pi) - math.log(math.erf(bound / math.sqrt(2)))
    return -0.5 * (unit_actions * bound).pow(2).sum(-1) + d * per_dim_const


class NoisePriorActor(Actor):
    """SB3's SAC actor whose ``action_log_prob`` is taken relative to the base noise prior."""

    def __init__(self, observation_space: gym.Space, action_space: gym.spaces.Box, *args, **kwargs) -> None:
        super().__init__(observation_space, action_space, *args, **kwargs)
        high = np.asarray(action_space.high, dtype=np.float64)
        if not (np.allclose(action_space.low, -high) and np.allclose(high, high.flat[0])):
            raise ValueError(f"the noise prior needs a symmetric box [-b_w, b_w]^d; got {action_space}")
        self.bound = float(high.flat[0])

    def action_log_prob(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Actions ``(B, d)`` in ``[-1, 1]`` and ``log pi(u | s) - log p(u)``, ``(B,)``."""
        actions, log_prob = super().action_log_prob(obs)
        return actions, log_prob - noise_prior_log_prob(actions, self.bound)


class _NoisePriorActorMixin:
    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> NoisePriorActor:
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return NoisePriorActor(**actor_kwargs).to(self.device)


class NoisePriorPolicy(_NoisePriorActorMixin, SACPolicy):
    """SAC's ``MlpPolicy`` with a :class:`NoisePriorActor`."""


class MultiInputNoisePriorPolicy(_NoisePriorActorMixin, MultiInputPolicy):
    """SAC's ``MultiInputPolicy`` (Dict observations) with a :class:`NoisePriorActor`."""
