"""The batched engine of M^w: ``N`` inner envs that share one ``encode`` and one ``decode`` per chunk.

:class:`LatentBatch` runs the latent-action MDP for ``N`` envs in-process, one after the other:
each executes its own chunk and stops at its own first ``terminated``/``truncated``, which a
lock-step inner ``VectorEnv`` cannot do, and finished envs are reset in the same step. The
vector forms are thin format adapters over it: :class:`latent_mdp.LatentActionVectorEnv`
(Gymnasium) and :class:`latent_mdp.sb3.LatentActionVecEnv` (Stable-Baselines3).

Example:
    >>> import gym_pusht, gymnasium as gym
    >>> from latent_mdp.batch import LatentBatch
    >>> from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy
    >>> policy = FlowMLPPolicy(FlowMLPConfig(obs_dim=5, action_dim=2, chunk_size=8))
    >>> batch = LatentBatch([lambda: gym.make("gym_pusht/PushT-v0")] * 2, policy, action_horizon=4)
    >>> observations, infos = batch.reset([0, 1], [None, None])
    >>> step = batch.step(batch.core.action_space.sample()[None].repeat(2, 0))
    >>> step.rewards.shape, int(step.infos[0]["inner_steps"])
    ((2,), 4)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import gymnasium as gym
import numpy as np
from gymnasium.vector import SyncVectorEnv

from latent_mdp.checks import positive_int
from latent_mdp.config import LatentMDPConfig
from latent_mdp.core import LatentCore
from latent_mdp.policy import NoisePolicy, PolicyContext

__all__ = ["BatchStep", "EnvSource", "LatentBatch", "check_num_envs"]

EnvSource = Sequence[gym.Env | Callable[[], gym.Env]] | SyncVectorEnv


def check_num_envs(n_envs: Any) -> None:
    """Raise ``ValueError`` unless ``n_envs`` is a positive integer (checked before a base policy is loaded for them)."""
    positive_int("n_envs", n_envs)


def _make_envs(source: EnvSource) -> list[gym.Env]:
    if isinstance(source, SyncVectorEnv):
        return list(source.envs)
    envs = [env if isinstance(env, gym.Env) else env() for env in source]
    if not envs:
        raise ValueError("a vector form needs at least one env")
    return envs


@dataclass
class BatchStep:
    """One latent step of ``N`` envs, after auto-reset.

    Attributes:
        observations: the actor's next observations (a reset observation for finished envs).
        final_observations: the actor's last observation of each finished episode, else None.
        infos: each env's step info (a finished env's info is its final step's).
        reset_infos: the reset info of each finished env, else None.
    """

    observations: list[Any]
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    infos: list[dict[str, Any]]
    final_observations: list[Any | None]
    reset_infos: list[dict[str, Any] | None]


class LatentBatch:
    """M^w for ``N`` envs: one :class:`LatentCore`, one policy call per chunk for all, auto-reset.

    Args:
        envs: the inner envs (or factories, or a ``SyncVectorEnv``).
        policy: the frozen base policy, shared by all envs.
        config: the settings of M^w (:class:`latent_mdp.LatentMDPConfig`).
        autoreset: reset a finished env within the step (the vector forms); ``False`` leaves it
            finished, its last observation the step's, as a single Gymnasium env does.
        **options: settings that override ``config``'s, by field name.
    """

    def __init__(
        self, envs: EnvSource, policy: NoisePolicy, config: LatentMDPConfig | None = None, *, autoreset: bool = True, **options: Any
    ) -> None:
        self.envs = _make_envs(envs)
        self.core = LatentCore(policy, self.envs[0].observation_space, config, **options)
        self.autoreset = autoreset
        self._ctx: PolicyContext | None = None
        self._last_obs: list[Any] = []

    @property
    def num_envs(self) -> int:
        return len(self.envs)

    def reset(self, seeds: Sequence[int | None], options: Sequence[dict | None]) -> tuple[list[Any], list[dict]]:
        results = [env.reset(seed=s, options=o) for env, s, o in zip(self.envs, seeds, options)]
        self._last_obs = [obs for obs, _ in results]
        self._ctx, built = self.core.encode(self._last_obs)
        return built, [info for _, info in results]

    def step(self, latent_actions: Any) -> BatchStep:
        """One latent step of every env: ``latent_actions`` ``(N, k)`` are checked (and clipped unless strict) first."""
        self.check_started()
        return self.step_validated(self.core.validate(latent_actions, self.num_envs))

    def step_validated(self, u: np.ndarray) -> BatchStep:
        """:meth:`step` for latent actions ``u`` ``(N, k)`` that :meth:`LatentCore.validate` already returned."""
        self.check_started()
        ctx, self._ctx = self._ctx, None  # until the chunks ran: an inner env that raises needs a reset
        w, results = self.core.execute(self.envs, ctx, u)
        n = self.num_envs
        rewards, terminated, truncated = np.zeros(n), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        infos: list[dict[str, Any]] = []
        finished: list[int] = []
        for i, result in enumerate(results):
            rewards[i], terminated[i], truncated[i] = result.reward, result.terminated, result.truncated
            infos.append(self.core.step_info(result, u[i], w[i], self._last_obs[i]))
            self._last_obs[i] = result.observation
            if result.terminated or result.truncated:
                finished.append(i)
        final_observations: list[Any | None] = [None] * n
        reset_infos: list[dict[str, Any] | None] = [None] * n
        if finished and self.autoreset:
            final_raw = [self._last_obs[i] for i in finished]
            final_built = self._build_without_context(final_raw)
            for i, obs in zip(finished, final_built):
                final_observations[i] = obs
                self._last_obs[i], reset_infos[i] = self.envs[i].reset()
        self._ctx, built = self.core.encode(self._last_obs)
        return BatchStep(built, rewards, terminated, truncated, infos, final_observations, reset_infos)

    def check_started(self) -> None:
        """Raise ``RuntimeError`` unless the envs were reset (and no step has raised since)."""
        if self._ctx is None:
            raise RuntimeError("M^w stepped before reset (or after a step that raised)")

    def _build_without_context(self, env_observations: list[Any]) -> list[Any]:
        """The actor's view of final observations (encoded only when features are needed)."""
        if not self.core.observations.needs_features:
            return list(env_observations)
        _, built = self.core.encode(env_observations)
        return built

    def latent_gamma(self, gamma: float) -> float:
        """The discount of M^w for an env-level ``gamma``: ``gamma ** (action_horizon * replans)``."""
        return self.core.latent_gamma(gamma)

    def close(self) -> None:
        for env in self.envs:
            env.close()
