"""`LatentCore`: the policy-side work shared by the single-env wrapper and the vector forms.

It owns the frozen policy, the noise space and the observation mode, and does the policy calls
of a latent-action step for a batch of ``N`` envs: one ``decode`` of the chosen noises, the
chunks' execution (:meth:`LatentCore.execute`), and one ``encode`` of the new observations.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from latent_mdp.chunk import ChunkResult, RewardMode, chain_chunks, latent_discount, run_chunk, validate_latent_action
from latent_mdp.config import LatentMDPConfig
from latent_mdp.noise_space import NoiseMode, NoiseSpace
from latent_mdp.observations import ObservationBuilder, batch_size_of, check_finite_observation, stack_observations
from latent_mdp.policy import NoisePolicy, Observation, PolicyContext, decode_checked, encode_checked

__all__ = ["CoreViews", "LatentCore"]


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
        config: the settings of M^w (:class:`LatentMDPConfig`; default: its defaults).
        **options: settings that override ``config``'s (its field names).

    Raises:
        TypeError: ``policy`` is not a :class:`NoisePolicy`, or an option is unknown.
        ValueError: a setting is invalid, or does not fit the policy (``action_horizon > H``,
            a :class:`NoiseSpace` of another shape, features the policy lacks).
    """

    def __init__(
        self, policy: NoisePolicy, env_observation_space: gym.Space, config: LatentMDPConfig | None = None, **options: Any
    ) -> None:
        if not isinstance(policy, NoisePolicy):
            raise TypeError(f"policy must implement latent_mdp.NoisePolicy; got {type(policy).__name__}")
        config = LatentMDPConfig(**options) if config is None else config.replace(**options)
        self.policy = policy
        self.noise_space = _make_noise_space(policy, config.noise, config.noise_bound)
        horizon = policy.chunk_size if config.action_horizon is None else int(config.action_horizon)
        if horizon > policy.chunk_size:
            raise ValueError(f"action_horizon must lie in [1, chunk_size={policy.chunk_size}]; got {config.action_horizon}")
        self.config = config.replace(noise=self.noise_space, noise_bound=self.noise_space.bound, action_horizon=horizon)
        """The settings, resolved against the policy: ``noise`` is a :class:`NoiseSpace`, ``action_horizon`` set."""
        self.observations = ObservationBuilder(env_observation_space, policy.feature_dim, config.obs_mode, policy.name)
        self.action_space = self.noise_space.action_space

    @property
    def action_horizon(self) -> int:
        """``h``: actions executed per chunk."""
        return int(self.config.action_horizon)  # type: ignore[arg-type]  (resolved in __init__)

    @property
    def reward_mode(self) -> RewardMode:
        return self.config.reward

    @property
    def gamma(self) -> float:
        """The within-chunk discount of ``reward="discounted"``."""
        return float(self.config.gamma)

    @property
    def strict(self) -> bool:
        return bool(self.config.strict)

    @property
    def replans(self) -> int:
        return int(self.config.replans)

    @property
    def observation_space(self) -> gym.Space:
        return self.observations.space

    @property
    def base_policy(self) -> NoisePolicy:
        """The frozen base policy (``policy``), under the name that the SB3 layer uses."""
        return self.policy

    @property
    def options(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this core's settings around the same policy."""
        return self.config.as_kwargs()

    @property
    def env_steps_per_action(self) -> int:
        """Inner env steps one latent action spans when no episode ends: ``action_horizon * replans``."""
        return self.action_horizon * self.replans

    def latent_gamma(self, gamma: float) -> float:
        """The discount of M^w for an env-level ``gamma``: ``gamma ** (action_horizon * replans)``."""
        return latent_discount(gamma, self.env_steps_per_action)

    def _context(self, env_observations: list[Any]) -> PolicyContext:
        """The policy's context of ``N`` env observations, each checked to be finite first."""
        for i, obs in enumerate(env_observations):
            check_finite_observation(obs, f"env {i}'s observation")
        return encode_checked(self.policy, stack_observations(env_observations), len(env_observations))

    def _decode_tensor(self, ctx: PolicyContext, w: np.ndarray) -> torch.Tensor:
        """The first ``action_horizon`` actions ``(N, h, A)`` that noises ``w`` ``(N, H, D)`` decode to, on the policy's device."""
        return decode_checked(self.policy, ctx, torch.from_numpy(w).to(self.policy.device))[:, : self.action_horizon]

    def decode_noise(self, ctx: PolicyContext, w: np.ndarray) -> np.ndarray:
        """The first ``action_horizon`` actions ``(N, h, A)`` that noises ``w`` ``(N, H, D)`` decode to."""
        return self._decode_tensor(ctx, w).cpu().numpy()

    def encode_states(self, states: Observation) -> PolicyContext:
        """One checked ``encode`` of ``n`` stacked inner observations ``(n, *obs)`` (arrays, or dicts of them).

        Raises:
            ValueError: the observations hold NaN or inf, or the policy's context is malformed.
        """
        check_finite_observation(states, "the stacked observations")
        return encode_checked(self.policy, states, batch_size_of(states))

    def features(self, ctx: PolicyContext, n: int) -> np.ndarray | None:
        """The policy's features ``(n, F)`` of an encoded batch when the actor observes them (``obs_mode``), else None.

        Raises:
            ValueError: the features are not finite or not ``(n, feature_dim)``.
        """
        if not self.observations.needs_features:
            return None
        features = self.policy.features(ctx).detach().cpu().numpy()
        expected = (n, self.policy.feature_dim)
        if features.shape != expected:
            raise ValueError(f"{self.policy.name}.features returned shape {features.shape}; expected {expected}")
        if not np.all(np.isfinite(features)):
            raise ValueError(f"{self.policy.name}.features returned NaN or inf")
        return features

    def decode_actions(self, ctx: PolicyContext, u: np.ndarray) -> torch.Tensor:
        """The first ``action_horizon`` actions ``(n * K, h, A)`` of latent actions ``u`` ``(n * K, k)``, on the policy's device.

        ``ctx`` encodes ``n`` states; row ``i`` of ``u`` belongs to state ``i // K``.
        """
        return self._decode_tensor(ctx, self.noise_space.to_noise(u))

    def encode(self, env_observations: list[Any]) -> tuple[PolicyContext, list[Any]]:
        """Encode ``N`` env observations in one call; return the context and the actor's observations.

        Raises:
            ValueError: an observation holds NaN or inf, or the policy's features are not finite
                or not ``(N, feature_dim)``; the message names the env or the policy.
        """
        ctx = self._context(env_observations)
        features = self.features(ctx, len(env_observations))
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
        return w, self.decode_noise(ctx, w)

    def execute(self, envs: list[gym.Env], ctx: PolicyContext, u: np.ndarray) -> tuple[np.ndarray, list[ChunkResult]]:
        """One latent step in each of ``N`` envs: decode, execute, and re-plan ``replans - 1`` times.

        Args:
            envs: the ``N`` inner envs, none of them finished.
            ctx: the context of the ``N`` observations the step starts from (:meth:`encode`).
            u: validated latent actions ``(N, k)``.

        Returns:
            The noise ``w`` ``(N, H, D)`` and each env's :class:`ChunkResult`, the ``replans``
            chunks chained (an env stops re-planning at its first ``terminated``/``truncated``).
        """
        w, actions = self.decode(ctx, u)
        results = [run_chunk(env, a, self.reward_mode, self.gamma) for env, a in zip(envs, actions)]
        for _ in range(self.replans - 1):
            active = [i for i, r in enumerate(results) if not (r.terminated or r.truncated)]
            if not active:
                break
            sub_ctx = self._context([results[i].observation for i in active])
            for i, a in zip(active, self.decode_noise(sub_ctx, w[active])):
                later = run_chunk(envs[i], a, self.reward_mode, self.gamma)
                results[i] = chain_chunks(results[i], later, self.reward_mode, self.gamma)
        return w, results

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
            "planned_actions": result.planned_actions,
            "inner_steps": result.inner_steps,
            "noise": w,
            "latent_action": u,
            "env_observation": env_observation,
            "next_env_observation": result.observation,
        }


class CoreViews:
    """What every form of M^w tells of its settings, read from its :class:`LatentCore` ``core``.

    The wrapper, both vector forms and the SB3 worker env mix it in, so these names mean one
    thing on each of them.
    """

    core: LatentCore

    @property
    def base_policy(self) -> NoisePolicy:
        """The frozen base policy whose noise M^w steers."""
        return self.core.policy

    @property
    def noise_space(self) -> NoiseSpace:
        """How a latent action of one env maps to the base policy's noise."""
        return self.core.noise_space

    @property
    def action_horizon(self) -> int:
        """The inner env steps each decoded chunk executes."""
        return self.core.action_horizon

    def latent_gamma(self, gamma: float) -> float:
        """The discount of M^w for an env-level ``gamma``: ``gamma ** (action_horizon * replans)``."""
        return self.core.latent_gamma(gamma)
