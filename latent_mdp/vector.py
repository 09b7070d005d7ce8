"""Vector forms of M^w: ``N`` inner envs that share one ``encode`` and one ``decode`` per chunk.

* :class:`LatentActionVecEnv` is a Stable-Baselines3 ``VecEnv`` (auto-reset, with
  ``terminal_observation`` and ``TimeLimit.truncated`` in the infos, as SB3 expects).
* :class:`LatentActionVectorEnv` is a ``gymnasium.vector.VectorEnv`` with same-step auto-reset
  (``final_obs`` and ``final_info`` in the infos).

Both run the ``N`` inner envs in-process, one after the other: each executes its own chunk and
stops at its own first ``terminated``/``truncated``, which a lock-step inner ``VectorEnv`` cannot
do. Give them a list of envs or env factories, or a ``gymnasium.vector.SyncVectorEnv`` (its
sub-envs are used).
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn
from stable_baselines3.common.vec_env.util import obs_space_info

from latent_mdp.core import LatentCore
from latent_mdp.policy import NoisePolicy, PolicyContext

__all__ = ["LatentActionVecEnv", "LatentActionVectorEnv", "LatentBatch"]

EnvSource = Sequence[gym.Env | Callable[[], gym.Env]] | SyncVectorEnv


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
    """The engine of both vector forms: ``N`` envs, one :class:`LatentCore`, auto-reset.

    Args:
        envs: the inner envs (or factories, or a ``SyncVectorEnv``).
        policy: the frozen base policy, shared by all envs.
        **core_kwargs: ``noise``, ``noise_bound``, ``action_horizon``, ``obs_mode``, ``reward``,
            ``gamma``, ``strict``, ``replans`` (see :class:`latent_mdp.LatentActionWrapper`).
    """

    def __init__(self, envs: EnvSource, policy: NoisePolicy, **core_kwargs: Any) -> None:
        self.envs = _make_envs(envs)
        self.core = LatentCore(policy, self.envs[0].observation_space, **core_kwargs)
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
        if self._ctx is None:
            raise RuntimeError("vector env stepped before reset (or after a step that raised)")
        u = self.core.validate(latent_actions, self.num_envs)
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
        if finished:
            final_raw = [self._last_obs[i] for i in finished]
            final_built = self._build_without_context(final_raw)
            for i, obs in zip(finished, final_built):
                final_observations[i] = obs
                self._last_obs[i], reset_infos[i] = self.envs[i].reset()
        self._ctx, built = self.core.encode(self._last_obs)
        return BatchStep(built, rewards, terminated, truncated, infos, final_observations, reset_infos)

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


LATENT_ATTRIBUTES = ("action_horizon", "replans", "noise_space", "policy", "reward_mode", "gamma", "strict", "options")
"""Attributes that ``LatentActionVecEnv.get_attr`` answers from M^w's core, as a wrapper would."""


def _pad_rows(actions: np.ndarray, rows: int) -> np.ndarray:
    """``(n, A)`` -> ``(rows, A)``, NaN rows after the first ``n``."""
    padding = np.full((rows - len(actions), actions.shape[1]), np.nan, dtype=actions.dtype)
    return np.concatenate([actions, padding])


class LatentActionVecEnv(VecEnv):
    """M^w for ``N`` envs as a Stable-Baselines3 ``VecEnv``: one policy call per chunk for all ``N``.

    Args:
        envs: the inner envs, env factories, or a ``gymnasium.vector.SyncVectorEnv``.
        policy: the frozen base policy.
        **kwargs: as :class:`latent_mdp.LatentActionWrapper` (``noise``, ``action_horizon``, ...).
    """

    def __init__(self, envs: EnvSource, policy: NoisePolicy, **kwargs: Any) -> None:
        self.batch = LatentBatch(envs, policy, **kwargs)
        super().__init__(self.batch.num_envs, self.batch.core.observation_space, self.batch.core.action_space)
        self.keys, _, _ = obs_space_info(self.observation_space)
        self._actions: np.ndarray | None = None
        self.render_mode = self.batch.envs[0].render_mode

    @property
    def noise_space(self):
        return self.batch.core.noise_space

    @property
    def policy(self) -> NoisePolicy:
        return self.batch.core.policy

    def latent_gamma(self, gamma: float) -> float:
        """The discount of M^w for an env-level ``gamma``: ``gamma ** (action_horizon * replans)``."""
        return self.batch.latent_gamma(gamma)

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


class LatentActionVectorEnv(VectorEnv):
    """M^w for ``N`` envs as a ``gymnasium.vector.VectorEnv`` with same-step auto-reset.

    A finished env is reset inside ``step``; its last observation and info are in
    ``infos["final_obs"]`` and ``infos["final_info"]`` (masked by ``infos["_final_obs"]``).
    Gymnasium batches infos into fixed-shape arrays, so ``executed_actions`` is padded to
    ``(h * replans, A)`` with NaN rows past ``inner_steps``, and ``decoded_chunk`` with NaN rows
    past the chunks that were decoded.

    Args:
        envs: the inner envs, env factories, or a ``gymnasium.vector.SyncVectorEnv``.
        policy: the frozen base policy.
        copy: return fresh observation arrays from ``reset`` and ``step`` (default, as
            Gymnasium's own vector envs); ``False`` reuses one buffer, overwritten at every call.
        **kwargs: as :class:`latent_mdp.LatentActionWrapper`.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, envs: EnvSource, policy: NoisePolicy, *, copy: bool = True, **kwargs: Any) -> None:
        self.batch = LatentBatch(envs, policy, **kwargs)
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
            info = {**info, **{key: _pad_rows(info[key], horizon) for key in ("executed_actions", "decoded_chunk")}}
            if out.final_observations[i] is not None:
                infos = self._add_info(infos, {"final_obs": out.final_observations[i], "final_info": info}, i)
                info = out.reset_infos[i]
            infos = self._add_info(infos, info, i)
        return self._concatenate(out.observations), out.rewards, out.terminated, out.truncated, infos

    def render(self) -> tuple[Any, ...] | None:
        return tuple(env.render() for env in self.batch.envs)

    def close_extras(self, **kwargs: Any) -> None:
        self.batch.close()
