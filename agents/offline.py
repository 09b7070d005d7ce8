"""Offline data for the action critic: chunked ``(s, a, r, s', terminated)`` transitions from a LeRobotDataset.

A LeRobotDataset frame ``t`` holds the observation before step ``t``, the action taken and the
step's outcome (``next.reward``, ``next.done``). Within each episode, a transition starts at every
``stride``-th frame ``t`` and covers the chunk of the next ``h`` actions, as one M^w step with
``action_horizon = h`` would:

* ``s`` = observation of frame ``t``; ``a`` = actions ``t .. t+n-1``, the last one repeated up to
  ``(h, A)`` (as :func:`agents.buffer.pad_chunk`);
* ``r`` = the sum of their rewards (the wrapper's default ``reward="sum"``);
* ``s'`` = observation of frame ``t+n``; ``terminated`` = ``done`` of the last covered frame.

``n = h`` unless the episode ends first. A chunk that reaches the episode's last frame has no
recorded ``s'``: if that frame is ``done`` the transition is terminal (``s'`` is a copy of ``s``
and is never bootstrapped from), otherwise (an episode cut without ``done``) it is dropped.
The ``done`` key is read as termination. Datasets whose ``done`` also marks time limits should
pass a separate key (e.g. ``next.success``) or accept that those endings will not bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["ChunkTransitions", "chunk_episode", "episode_transitions", "load_lerobot_transitions"]


@dataclass(frozen=True)
class ChunkTransitions:
    """``M`` chunked transitions.

    Attributes:
        observations / next_observations: ``(M, O)`` float32.
        chunks: ``(M, h, A)`` float32 env-unit actions, the last executed one repeated after ``n_steps``.
        n_steps: ``(M,)`` executed actions per chunk, ``1 <= n <= h``.
        rewards: ``(M,)`` float32 sums over the chunk.
        terminated: ``(M,)`` bool.
    """

    observations: np.ndarray
    next_observations: np.ndarray
    chunks: np.ndarray
    n_steps: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray

    def __len__(self) -> int:
        return len(self.rewards)

    @classmethod
    def concatenate(cls, parts: Sequence[ChunkTransitions]) -> ChunkTransitions:
        fields = cls.__dataclass_fields__
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in fields})


def chunk_episode(
    observations: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
    dones: np.ndarray,
    horizon: int,
    stride: int = 1,
) -> ChunkTransitions:
    """Cut one episode of ``T`` frames into chunked transitions (see the module docstring).

    Args:
        observations: ``(T, O)``; actions: ``(T, A)``; rewards / dones: ``(T,)``.
        horizon: ``h``, actions per chunk.
        stride: frames between chunk starts (1: every frame starts a chunk).
    """
    n_frames = len(actions)
    starts = np.arange(0, n_frames, stride)
    ends = np.minimum(starts + horizon, n_frames)  # exclusive
    keep = (ends < n_frames) | bool(dones[-1])
    starts, ends = starts[keep], ends[keep]
    n_steps = ends - starts
    steps = np.arange(horizon)
    rows = np.minimum(starts[:, None] + steps, ends[:, None] - 1)  # repeats the last executed action
    executed = steps[None, :] < n_steps[:, None]
    next_rows = np.where(ends < n_frames, ends, starts)
    return ChunkTransitions(
        observations=observations[starts].astype(np.float32),
        next_observations=observations[next_rows].astype(np.float32),
        chunks=actions[rows].astype(np.float32),
        n_steps=n_steps,
        rewards=(rewards[rows] * executed).sum(axis=1).astype(np.float32),
        terminated=dones[ends - 1].astype(bool),
    )


def episode_transitions(observations: Sequence[np.ndarray], actions: np.ndarray, rewards: np.ndarray, terminated: bool, horizon: int) -> ChunkTransitions:
    """A recorded episode (``T + 1`` observations, ``(T, A)`` actions, ``(T,)`` rewards) as M^w steps of ``horizon`` actions.

    One transition starts every ``horizon`` steps, as the env's own latent steps do; see
    :func:`chunk_episode` for the last one.

    Raises:
        ValueError: inconsistent lengths, or observations that are not flat arrays.
    """
    actions = np.asarray(actions, dtype=np.float32)
    if len(observations) != len(actions) + 1 or len(rewards) != len(actions):
        raise ValueError(f"an episode needs T + 1 observations and T rewards for T actions; got {len(observations)}, {len(rewards)}, {len(actions)}")
    frames = np.stack([np.asarray(obs, dtype=np.float32) for obs in observations[:-1]])
    if frames.ndim != 2:
        raise ValueError(f"episode_transitions takes flat (O,) observations; got frames of shape {frames.shape[1:]}")
    dones = np.zeros(len(actions), dtype=bool)
    dones[-1] = terminated
    return chunk_episode(frames, actions, np.asarray(rewards, dtype=np.float64), dones, horizon, stride=horizon)


def _column(table: Any, key: str) -> np.ndarray:
    """One dataset column as a float array ``(T, d)``."""
    values = np.asarray(table[key], dtype=np.float64)
    return values.reshape(len(values), -1)


def load_lerobot_transitions(
    dataset: Any,
    horizon: int,
    obs_keys: str | Sequence[str],
    *,
    action_key: str = "action",
    reward_key: str = "next.reward",
    done_key: str = "next.done",
    stride: int = 1,
) -> ChunkTransitions:
    """Chunked transitions from a ``lerobot.datasets.lerobot_dataset.LeRobotDataset``.

    Args:
        dataset: the LeRobotDataset (its frames are read from ``dataset.hf_dataset``; no video).
        horizon: ``h``, the env's ``action_horizon``.
        obs_keys: key(s) whose values, concatenated in this order, form the M^w observation
            ``(O,)`` (e.g. ``"pusht_state"``). They must match the env's observation layout.
        action_key / reward_key / done_key: the action ``(A,)``, reward and termination columns.
        stride: frames between chunk starts.
    """
    keys = [obs_keys] if isinstance(obs_keys, str) else list(obs_keys)
    table = dataset.hf_dataset.select_columns([*keys, action_key, reward_key, done_key, "episode_index"])
    table = table.with_format("numpy")[:]
    observations = np.concatenate([_column(table, key) for key in keys], axis=1)
    actions = _column(table, action_key)
    rewards, dones = _column(table, reward_key)[:, 0], _column(table, done_key)[:, 0] > 0
    episodes = np.asarray(table["episode_index"]).reshape(-1)
    boundaries = np.flatnonzero(np.diff(episodes)) + 1
    parts = [
        chunk_episode(observations[idx], actions[idx], rewards[idx], dones[idx], horizon, stride)
        for idx in np.split(np.arange(len(episodes)), boundaries)
    ]
    return ChunkTransitions.concatenate(parts)
