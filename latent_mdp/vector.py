"""M^w for ``N`` envs as a ``gymnasium.vector.VectorEnv``, over the batched engine :class:`LatentBatch`.

The Stable-Baselines3 form of the same engine is :class:`latent_mdp.sb3.LatentActionVecEnv`.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array

from latent_mdp.batch import EnvSource, LatentBatch
from latent_mdp.config import LatentMDPConfig
from latent_mdp.core import CoreViews, LatentCore
from latent_mdp.policy import NoisePolicy

__all__ = ["LatentActionVectorEnv"]


def _pad_rows(actions: np.ndarray, rows: int) -> np.ndarray:
    """``(n, A)`` -> ``(rows, A)``, NaN rows after the first ``n``."""
    padding = np.full((rows - len(actions), actions.shape[1]), np.nan, dtype=actions.dtype)
    return np.concatenate([actions, padding])


class LatentActionVectorEnv(CoreViews, VectorEnv):
    """M^w for ``N`` envs as a ``gymnasium.vector.VectorEnv`` with same-step auto-reset.

    A finished env is reset inside ``step``; its last observation and info are in
    ``infos["final_obs"]`` and ``infos["final_info"]`` (masked by ``infos["_final_obs"]``).
    Gymnasium batches infos into fixed-shape arrays, so ``executed_actions`` is padded to
    ``(h * replans, A)`` with NaN rows past ``inner_steps``, and ``planned_actions`` with NaN rows
    past the chunks that were decoded.

    Args:
        envs: the inner envs, env factories, or a ``gymnasium.vector.SyncVectorEnv``.
        policy: the frozen base policy.
        config: the settings of M^w (:class:`latent_mdp.LatentMDPConfig`).
        copy: return fresh observation arrays from ``reset`` and ``step`` (default, as
            Gymnasium's own vector envs); ``False`` reuses one buffer, overwritten at every call.
        **options: settings that override ``config``'s, by field name.

    Example:
        >>> import gym_pusht, gymnasium as gym
        >>> from latent_mdp import LatentActionVectorEnv
        >>> from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy
        >>> policy = FlowMLPPolicy(FlowMLPConfig(obs_dim=5, action_dim=2, chunk_size=8))
        >>> envs = LatentActionVectorEnv([lambda: gym.make("gym_pusht/PushT-v0")] * 3, policy, action_horizon=4)
        >>> obs, infos = envs.reset(seed=0)
        >>> obs, rewards, terminated, truncated, infos = envs.step(envs.action_space.sample())
        >>> obs.shape, infos["inner_steps"].tolist()
        ((3, 5), [4, 4, 4])
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(
        self, envs: EnvSource, policy: NoisePolicy, config: LatentMDPConfig | None = None, *, copy: bool = True, **options: Any
    ) -> None:
        self.batch = LatentBatch(envs, policy, config, **options)
        self.copy = copy
        self.num_envs = self.batch.num_envs
        self.single_observation_space = self.batch.core.observation_space
        self.single_action_space = self.batch.core.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = self.batch.envs[0].render_mode
        self._buffer = create_empty_array(self.single_observation_space, n=self.num_envs)

    def _concatenate(self, observations: list[Any]) -> Any:
        batched = concatenate(self.single_observation_space, observations, self._buffer)
        return deepcopy(batched) if self.copy else batched

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None) -> tuple[Any, dict]:
        if seed is None or isinstance(seed, int):
            seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
        observations, env_infos = self.batch.reset(seeds, [options] * self.num_envs)
        infos: dict[str, Any] = {}
        for i, info in enumerate(env_infos):
            infos = self._add_info(infos, info, i)
        return self._concatenate(observations), infos

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        out = self.batch.step(actions)
        infos: dict[str, Any] = {}
        horizon = self.batch.core.env_steps_per_action
        for i, info in enumerate(out.infos):
            info = {**info, **{key: _pad_rows(info[key], horizon) for key in ("executed_actions", "planned_actions")}}
            if out.final_observations[i] is not None:
                infos = self._add_info(infos, {"final_obs": out.final_observations[i], "final_info": info}, i)
                info = out.reset_infos[i]
            infos = self._add_info(infos, info, i)
        return self._concatenate(out.observations), out.rewards, out.terminated, out.truncated, infos

    @property
    def core(self) -> LatentCore:
        """M^w's policy calls for all ``N`` envs."""
        return self.batch.core

    def render(self) -> tuple[Any, ...] | None:
        return tuple(env.render() for env in self.batch.envs)

    def close_extras(self, **kwargs: Any) -> None:
        self.batch.close()
