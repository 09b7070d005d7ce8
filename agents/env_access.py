"""Reaching the latent-action MDP behind an SB3 ``VecEnv``: the frozen policy, noise space, chunking.

An agent on M^w that re-runs the base policy (DSRL-NA does, in every update) needs the policy that
the env itself uses, never a global. Two in-process forms carry one:

* a ``DummyVecEnv`` of :class:`latent_mdp.LatentActionWrapper` (what SB3 builds from a single
  wrapper, possibly under ``Monitor`` and other gymnasium wrappers);
* a :class:`latent_mdp.LatentActionVecEnv`.

VecEnv wrappers (``VecMonitor``, ...) on top are looked through with ``unwrapped``.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from latent_mdp.core import LatentCore
from latent_mdp.sb3.vec_env import LatentActionVecEnv
from latent_mdp.sb3.worker_vec_env import WorkerVecEnv
from latent_mdp.wrapper import LatentActionWrapper

__all__ = ["ChunkSpec", "LatentEnv", "latent_env_of"]


@dataclass(frozen=True)
class ChunkSpec:
    """The shape and units of executed action chunks: what the action critic Q^A consumes.

    Attributes:
        horizon: ``h``, actions executed per latent step.
        action_dim: ``A``.
        low / high: ``(A,)`` bounds of the inner env's action space (env units); chunks are
            clipped to them and scaled to ``[-1, 1]`` where both are finite.
    """

    horizon: int
    action_dim: int
    low: tuple[float, ...]
    high: tuple[float, ...]

    @classmethod
    def from_space(cls, horizon: int, space: gym.Space) -> ChunkSpec:
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise TypeError(f"DSRL-NA needs a flat Box action space in the inner env; got {space}")
        low, high = (tuple(float(x) for x in np.asarray(b, dtype=np.float64)) for b in (space.low, space.high))
        return cls(horizon, space.shape[0], low, high)


@dataclass(frozen=True)
class LatentEnv:
    """What DSRL-NA needs from M^w: its core (policy, noise space, obs mode) and its chunk spec."""

    core: LatentCore
    chunk: ChunkSpec

    @property
    def env_observation_space(self) -> gym.Space:
        """The inner env's observation space: what the base policy encodes and the buffer stores."""
        return self.core.observations.env_space


def _find_wrapper(env: gym.Env) -> LatentActionWrapper | None:
    while True:
        if isinstance(env, LatentActionWrapper):
            return env
        if not isinstance(env, gym.Wrapper):
            return None
        env = env.env


def latent_env_of(env: VecEnv) -> LatentEnv:
    """The latent-action MDP behind ``env``.

    Raises:
        TypeError: ``env`` is none of the forms (e.g. a plain ``SubprocVecEnv``, whose policy
            lives in other processes; a :class:`WorkerVecEnv` holds a client in this one).
    """
    venv = env.unwrapped
    if isinstance(venv, (LatentActionVecEnv, WorkerVecEnv)):
        core, inner_space = venv.core, venv.inner_action_space
    elif isinstance(venv, DummyVecEnv) and (wrapper := _find_wrapper(venv.envs[0])) is not None:
        core, inner_space = wrapper.core, wrapper.env.action_space
    else:
        raise TypeError(
            "DSRL-NA runs the frozen base policy itself, so it needs M^w in this process: a "
            f"LatentActionWrapper (in a DummyVecEnv) or a LatentActionVecEnv; got {type(venv).__name__}"
        )
    if core.replans != 1:
        raise ValueError(
            f"DSRL-NA's action critic scores one chunk per transition; the env re-plans {core.replans} "
            "chunks per latent action (replans > 1). Use replans=1 with DSRL-NA, or an SB3 algorithm."
        )
    return LatentEnv(core, ChunkSpec.from_space(core.action_horizon, inner_space))
