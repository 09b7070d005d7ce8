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
from latent_mdp.noise_space import NoiseMode, NoiseSpace
from latent_mdp.observations import ObservationBuilder, ObsMode, check_finite_observation, stack_observations
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


def _is_integer(value: Any) -> bool:
    """True for Python and numpy integers, not for bools (``True`` is no horizon)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


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
        replans: chunks one latent action drives. With ``replans = R > 1`` the base policy
            re-plans every ``action_horizon`` steps from its new observation with the *same*
            noise, ``R`` times: one decision then spans ``R * action_horizon`` env steps (so it
            decides more of the outcome), while the base still closes the loop every chunk.
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
        replans: int = 1,
    ) -> None:
        if not isinstance(policy, NoisePolicy):
            raise TypeError(f"policy must implement latent_mdp.NoisePolicy; got {type(policy).__name__}")
        self.policy = policy
        self.noise_space = _make_noise_space(policy, noise, noise_bound)
        if action_horizon is not None and not _is_integer(action_horizon):
            raise ValueError(f"action_horizon must be an integer; got {action_horizon!r} ({type(action_horizon).__name__})")
        self.action_horizon = policy.chunk_size if action_horizon is None else int(action_horizon)
        if not 1 <= self.action_horizon <= policy.chunk_size:
            raise ValueError(
                f"action_horizon must lie in [1, chunk_size={policy.chunk_size}]; got {action_horizon}"
            )
        if reward not in ("sum", "discounted"):
            raise ValueError(f"reward must be 'sum' or 'discounted'; got {reward!r}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must lie in [0, 1]; got {gamma}")
        if not _is_integer(replans) or replans < 1:
            raise ValueError(f"replans must be an integer >= 1; got {replans!r}")
        self.reward_mode: RewardMode = reward
        self.gamma = gamma
        self.strict = strict
        self.replans = int(replans)
        self.observations = ObservationBuilder(env_observation_space, policy.feature_dim, obs_mode, policy.name)
        self.action_space = self.noise_space.action_space

    @property
    def observation_space(self) -> gym.Space:
        return self.observations.space

    @property
    def options(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this core's settings around the same policy."""
        return {
            "noise": self.noise_space,
            "action_horizon": self.action_horizon,
            "obs_mode": self.observations.obs_mode,
            "reward": self.reward_mode,
            "gamma": self.gamma,
            "strict": self.strict,
            "replans": self.replans,
        }

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

    def _decode_noise(self, ctx: PolicyContext, w: np.ndarray) -> np.ndarray:
        """The first ``action_horizon`` actions ``(N, h, A)`` that noises ``w`` ``(N, H, D)`` decode to."""
        actions = decode_checked(self.policy, ctx, torch.from_numpy(w).to(self.policy.device)).cpu().numpy()
        return actions[:, : self.action_horizon]

    def encode(self, env_observations: list[Any]) -> tuple[PolicyContext, list[Any]]:
        """Encode ``N`` env observations in one call; return the context and the actor's observations.

        Raises:
            ValueError: an observation holds NaN or inf, or the policy's features are not finite
                or not ``(N, feature_dim)``; the message names the env or the policy.
        """
        ctx = self._context(env_observations)
        features = None
        if self.observations.needs_features:
            features = self.policy.features(ctx).detach().cpu().numpy()
            expected = (len(env_observations), self.policy.feature_dim)
            if features.shape != expected:
                raise ValueError(f"{self.policy.name}.features returned shape {features.shape}; expected {expected}")
            if not np.all(np.isfinite(features)):
                raise ValueError(f"{self.policy.name}.features returned NaN or inf")
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
        return w, self._decode_noise(ctx, w)

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
            for i, a in zip(active, self._decode_noise(sub_ctx, w[active])):
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
            "decoded_chunk": result.planned_actions,
            "inner_steps": result.inner_steps,
            "noise": w,
            "latent_action": u,
            "env_observation": env_observation,
            "next_env_observation": result.observation,
        }
