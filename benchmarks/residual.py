"""`ResidualActionWrapper`: residual RL on top of a frozen noise policy (a baseline to DSRL).

The agent does not choose the noise. The base policy runs as it would on its own, with
``w ~ N(0, I)``, and the agent adds a bounded correction to each of its actions:

    a_exec = clip(a_base + bound * r, low, high),    r in [-1, 1]^A

A chunk ``a_base = pi_dp(s, w)`` is decoded every ``action_horizon`` env steps (one fresh noise per
chunk), exactly as the base policy alone would act, so ``r = 0`` reproduces the base policy. The
agent observes the env observation and the base action it is about to correct (scaled to
``[-1, 1]``): a ``Box`` observation gets it appended, a ``Dict`` observation gets a
``"base_action"`` key.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
import torch

from latent_mdp.core import LatentCore
from latent_mdp.policy import NoisePolicy

__all__ = ["BASE_ACTION_KEY", "ResidualActionWrapper"]

BASE_ACTION_KEY = "base_action"
DEFAULT_BOUND_FRACTION = 0.1
"""Default bound: this fraction of the action range, per dimension."""


def _with_base_action(env_space: gym.Space, action_shape: tuple[int, ...]) -> gym.Space:
    """The agent's observation space: the env's plus the base action in ``[-1, 1]``."""
    unit = gym.spaces.Box(-1.0, 1.0, shape=action_shape, dtype=np.float32)
    if isinstance(env_space, gym.spaces.Dict):
        return gym.spaces.Dict({**env_space.spaces, BASE_ACTION_KEY: unit})
    if isinstance(env_space, gym.spaces.Box) and len(env_space.shape) == 1:
        low = np.concatenate([env_space.low, unit.low]).astype(np.float32)
        high = np.concatenate([env_space.high, unit.high]).astype(np.float32)
        return gym.spaces.Box(low, high, dtype=np.float32)
    raise ValueError(f"residual RL needs a flat Box or a Dict observation space; got {env_space}")


class ResidualActionWrapper(gym.Wrapper):
    """A task env plus a frozen :class:`NoisePolicy`; the action is a bounded residual on its action.

    Args:
        env: the task env, with a bounded ``Box`` action space in the policy's units.
        policy: the frozen base policy (``action_dim`` must match the env's action).
        bound: the largest correction per action dimension, in env units (scalar or ``(A,)``);
            default: 10% of the action range.
        action_horizon: env steps per decoded chunk, ``1 <= h <= H`` (default ``H``).
        seed: seed of the base policy's noise draws (``reset(seed=...)`` reseeds them too).
    """

    def __init__(
        self,
        env: gym.Env,
        policy: NoisePolicy,
        *,
        bound: float | np.ndarray | None = None,
        action_horizon: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(env)
        space = env.action_space
        if not isinstance(space, gym.spaces.Box) or not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
            raise ValueError(f"residual RL needs a bounded Box action space; got {space}")
        if space.shape != (policy.action_dim,):
            raise ValueError(f"{policy.name} acts in {policy.action_dim} dims; the env's action space is {space}")
        self.policy = policy
        self.low, self.high = space.low.astype(np.float32), space.high.astype(np.float32)
        span = self.high - self.low
        chosen = DEFAULT_BOUND_FRACTION * span if bound is None else np.broadcast_to(np.asarray(bound), span.shape)
        self.bound = chosen.astype(np.float32)
        if np.any(self.bound <= 0):
            raise ValueError(f"bound must be positive; got {bound}")
        # The engine's encode and decode, with the noise given as is (not through a latent action).
        self.core = LatentCore(policy, env.observation_space, action_horizon=action_horizon)
        self.action_horizon = self.core.action_horizon
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=space.shape, dtype=np.float32)
        self.observation_space = _with_base_action(env.observation_space, space.shape)
        self._generator = torch.Generator().manual_seed(0 if seed is None else seed)
        self._chunk: np.ndarray | None = None
        self._row = 0

    @property
    def base_action(self) -> np.ndarray:
        """The base policy's action for the current step, in env units ``(A,)``."""
        if self._chunk is None:
            raise RuntimeError("ResidualActionWrapper used before reset")
        return self._chunk[self._row]

    def _decode_chunk(self, obs: Any) -> None:
        ctx, _ = self.core.encode([obs])
        noise = self.policy.sample_noise(1, self._generator).numpy()
        self._chunk = self.core.decode_noise(ctx, noise)[0]
        self._row = 0

    def _observe(self, obs: Any) -> Any:
        scaled = (2.0 * (self.base_action - self.low) / (self.high - self.low) - 1.0).clip(-1.0, 1.0).astype(np.float32)
        if isinstance(obs, dict):
            return {**obs, BASE_ACTION_KEY: scaled}
        return np.concatenate([np.asarray(obs, dtype=np.float32), scaled])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        if seed is not None:
            self._generator.manual_seed(seed)
        obs, info = self.env.reset(seed=seed, options=options)
        self._decode_chunk(obs)
        return self._observe(obs), info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        residual = np.asarray(action, dtype=np.float32).reshape(self.action_space.shape)
        if not np.all(np.isfinite(residual)):
            raise ValueError(f"non-finite residual action {residual}")
        base = self.base_action
        executed = np.clip(base + self.bound * np.clip(residual, -1.0, 1.0), self.low, self.high)
        obs, reward, terminated, truncated, info = self.env.step(executed)
        self._row += 1
        if self._row >= self.action_horizon:
            self._decode_chunk(obs)
        info = {**info, "base_action": base, "executed_action": executed}
        return self._observe(obs), reward, terminated, truncated, info
