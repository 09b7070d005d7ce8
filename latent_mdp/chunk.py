"""Executing one decoded action chunk in one inner env: the heart of a latent-action step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np

__all__ = ["ChunkResult", "RewardMode", "chain_chunks", "latent_discount", "run_chunk", "validate_latent_action"]

RewardMode = Literal["sum", "discounted"]


def latent_discount(gamma: float, action_horizon: int) -> float:
    """Per-step discount of the latent-action MDP M^w: one M^w step is ``action_horizon`` env steps.

    An agent on M^w that should value the future like an env-level agent with ``gamma`` uses
    ``gamma ** action_horizon``.
    """
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1]; got {gamma}")
    if action_horizon < 1:
        raise ValueError(f"action_horizon must be >= 1; got {action_horizon}")
    return gamma**action_horizon


@dataclass
class ChunkResult:
    """The outcome of executing (a prefix of) one action chunk.

    Attributes:
        observation: the last inner observation (the one after the last executed action).
        reward: summed, or discounted within the chunk, inner rewards.
        terminated / truncated: from the last executed inner step; kept apart.
        executed_actions: ``(n, A)``, the actions actually sent to the env (after clipping).
        planned_actions: ``(h, A)``, the whole clipped chunk the latent action chose; it differs
            from ``executed_actions`` when the episode ended mid-chunk.
        info: the last inner step's info.
    """

    observation: Any
    reward: float
    terminated: bool
    truncated: bool
    planned_actions: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def executed_actions(self) -> np.ndarray:
        return self.planned_actions[: self.inner_steps]

    inner_steps: int = 0


def run_chunk(
    env: gym.Env,
    actions: np.ndarray,
    reward_mode: RewardMode = "sum",
    gamma: float = 1.0,
) -> ChunkResult:
    """Step ``env`` through ``actions`` ``(h, A)``, stopping at the first terminated or truncated.

    Actions are clipped to the env's ``Box`` action space when it has one. With
    ``reward_mode="discounted"`` the i-th inner reward is weighted by ``gamma ** i``.
    """
    space = env.action_space
    if isinstance(space, gym.spaces.Box):
        actions = np.clip(actions, space.low, space.high).astype(space.dtype)
    reward, weight = 0.0, 1.0
    terminated = truncated = False
    obs, info, n = None, {}, 0
    for action in actions:
        obs, r, terminated, truncated, info = env.step(action)
        n += 1
        reward += weight * float(r)
        if reward_mode == "discounted":
            weight *= gamma
        if terminated or truncated:
            break
    return ChunkResult(obs, reward, bool(terminated), bool(truncated), actions, dict(info), n)


def chain_chunks(first: ChunkResult, later: ChunkResult, reward_mode: RewardMode = "sum", gamma: float = 1.0) -> ChunkResult:
    """``first`` followed by ``later`` (executed from ``first``'s last observation) as one result.

    ``planned_actions`` concatenates both plans, so ``executed_actions`` stays its first
    ``inner_steps`` rows (``first`` ran to its end, or ``later`` would not exist). With
    ``reward_mode="discounted"`` ``later``'s reward is weighted by ``gamma ** first.inner_steps``.
    """
    if first.terminated or first.truncated:
        raise ValueError("cannot chain a chunk after one that ended its episode")
    weight = gamma**first.inner_steps if reward_mode == "discounted" else 1.0
    return ChunkResult(
        later.observation,
        first.reward + weight * later.reward,
        later.terminated,
        later.truncated,
        np.concatenate([first.planned_actions, later.planned_actions]),
        later.info,
        first.inner_steps + later.inner_steps,
    )


def validate_latent_action(
    action: Any, space: gym.spaces.Box, strict: bool, n_envs: int | None = None
) -> np.ndarray:
    """Check an RL action against the unit box: finite, right shape; clip (or, strict, reject) bounds.

    Args:
        action: ``(k,)`` for one env (``n_envs=None``), ``(N, k)`` for ``N`` envs.
        space: the single-env latent action space ``Box(-1, 1, (k,))``.

    Raises:
        ValueError: NaN/inf, a wrong shape, or (strict) a value outside ``[-1, 1]``.
    """
    raw = np.asarray(action)
    if raw.dtype.kind not in "biuf":
        raise ValueError(f"latent action must be real numbers; got dtype {raw.dtype}")
    expected = space.shape if n_envs is None else (n_envs, *space.shape)
    if raw.shape != expected:
        raise ValueError(f"latent action must have shape {expected}; got {raw.shape}")
    if not np.all(np.isfinite(raw)):
        raise ValueError(f"latent action contains NaN or inf: {raw}")
    u = raw.astype(np.float64)  # float64 first: a finite 1e39 is out of bounds, not inf
    if np.any(u < space.low) or np.any(u > space.high):
        if strict:
            worst = float(np.max(np.abs(u)))
            raise ValueError(f"latent action leaves [-1, 1] (max |u| = {worst:.4g}) and strict=True")
        u = np.clip(u, space.low, space.high)
    return u.astype(np.float32)
