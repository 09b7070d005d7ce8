"""M^w for ``N`` envs as a Stable-Baselines3 ``VecEnv``, over the batched engine :class:`LatentBatch`.

SB3 conventions: auto-reset, with ``terminal_observation`` and ``TimeLimit.truncated`` in the infos.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn
from stable_baselines3.common.vec_env.util import obs_space_info

from latent_mdp.batch import EnvSource, LatentBatch
from latent_mdp.config import LatentMDPConfig
from latent_mdp.core import CoreViews, LatentCore
from latent_mdp.metrics import EpisodeMetrics
from latent_mdp.policy import NoisePolicy

__all__ = ["LATENT_ATTRIBUTES", "LatentActionVecEnv"]

LATENT_ATTRIBUTES = ("action_horizon", "replans", "noise_space", "base_policy", "policy", "reward_mode", "gamma", "strict", "options", "config")
"""Attributes that ``LatentActionVecEnv.get_attr`` answers from M^w's core, as a wrapper would."""


class LatentActionVecEnv(CoreViews, VecEnv):
    """M^w for ``N`` envs as a Stable-Baselines3 ``VecEnv``: one policy call per chunk for all ``N``.

    Args:
        envs: the inner envs, env factories, or a ``gymnasium.vector.SyncVectorEnv``.
        policy: the frozen base policy.
        config: the settings of M^w (:class:`latent_mdp.LatentMDPConfig`).
        task_metrics: the info keys of the task's outcome, which evaluation and the training
            callbacks read (default: success as ``info["is_success"]``, no maxima).
        **options: settings that override ``config``'s, by field name (``noise``, ``action_horizon``, ...).

    Example:
        >>> import gym_pusht, gymnasium as gym
        >>> from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy
        >>> from latent_mdp.sb3 import LatentActionVecEnv
        >>> policy = FlowMLPPolicy(FlowMLPConfig(obs_dim=5, action_dim=2, chunk_size=8))
        >>> env = LatentActionVecEnv([lambda: gym.make("gym_pusht/PushT-v0")] * 2, policy, noise="full", action_horizon=4)
        >>> obs = env.reset()
        >>> obs, rewards, dones, infos = env.step(np.zeros((2, 16), dtype=np.float32))
        >>> obs.shape, [info["inner_steps"] for info in infos]
        ((2, 5), [4, 4])
    """

    def __init__(
        self,
        envs: EnvSource,
        policy: NoisePolicy,
        config: LatentMDPConfig | None = None,
        *,
        task_metrics: EpisodeMetrics | None = None,
        **options: Any,
    ) -> None:
        self.batch = LatentBatch(envs, policy, config, **options)
        self.task_metrics = EpisodeMetrics() if task_metrics is None else task_metrics
        super().__init__(self.batch.num_envs, self.batch.core.observation_space, self.batch.core.action_space)
        self.keys, _, _ = obs_space_info(self.observation_space)
        self._actions: np.ndarray | None = None
        self.render_mode = self.batch.envs[0].render_mode

    @property
    def core(self) -> LatentCore:
        """M^w's policy calls for all ``N`` envs."""
        return self.batch.core

    @property
    def inner_action_space(self) -> gym.Space:
        """The inner env's action space (one env step's action)."""
        return self.batch.envs[0].action_space

    @property
    def policy(self) -> NoisePolicy:
        """Deprecated: the base policy, now :attr:`base_policy` (``policy`` means the actor in SB3)."""
        warnings.warn(
            "LatentActionVecEnv.policy is renamed base_policy (in SB3, a model's policy is its actor); "
            "the old name goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.base_policy

    def _stack(self, observations: list[Any]) -> Any:
        if isinstance(self.observation_space, gym.spaces.Dict):
            return {key: np.stack([o[key] for o in observations]) for key in self.keys}
        return np.stack(observations)

    def reset(self) -> Any:
        observations, infos = self.batch.reset(self._seeds, self._options)
        self.reset_infos = infos
        self._reset_seeds()
        self._reset_options()
        return self._stack(observations)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        out = self.batch.step(self._actions)
        infos = []
        for i, info in enumerate(out.infos):
            info = dict(info)
            if out.final_observations[i] is not None:
                info["terminal_observation"] = out.final_observations[i]
                info["TimeLimit.truncated"] = bool(out.truncated[i] and not out.terminated[i])
                self.reset_infos[i] = out.reset_infos[i]
            infos.append(info)
        dones = out.terminated | out.truncated
        return self._stack(out.observations), out.rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.batch.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [env.render() for env in self.batch.envs]

    def _targets(self, indices: VecEnvIndices) -> list[gym.Env]:
        return [self.batch.envs[i] for i in self._get_indices(indices)]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """M^w's own settings (:data:`LATENT_ATTRIBUTES`) from the shared core, anything else from the inner envs."""
        targets = self._targets(indices)
        if attr_name in LATENT_ATTRIBUTES:
            return [getattr(self.batch.core, attr_name)] * len(targets)
        return [env.get_wrapper_attr(attr_name) for env in targets]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for env in self._targets(indices):
            env.set_wrapper_attr(attr_name, value)

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list[Any]:
        return [env.get_wrapper_attr(method_name)(*method_args, **method_kwargs) for env in self._targets(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        from stable_baselines3.common import env_util

        return [env_util.is_wrapped(env, wrapper_class) for env in self._targets(indices)]
