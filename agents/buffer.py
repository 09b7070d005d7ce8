"""`ChunkReplayBuffer`: SB3's ``ReplayBuffer`` plus what a latent step did in the inner env.

Each row holds ``s``, ``u`` (the RL action, ``(k,)``), ``w`` (the noise, ``(H, D)``), the chunk
``a`` ``(h, A)``, ``n`` (how many of its actions were executed), ``r``, ``s'``, ``terminated`` and ``truncated``.

**Chunks.** The action critic values the chunk the agent chose, so a row stores ``h`` actions even
when the episode ended after ``n < h`` inner steps. The unexecuted tail is the decoded chunk's own
tail when the info carries it (``"decoded_chunk"``, which every latent_mdp env puts in its
step info), else the last executed action repeated (the robot holds still: offline data,
or rows added from outside DSRLNA). Either way the tail never changed the outcome, and the
critic's input stays a plain chunk, the same kind it is queried on at ``pi_dp(s', pi^w(s'))``. A
mask input was rejected: the executed count is an outcome of the env, not part of the action,
and a critic conditioned on it is queried with "all steps executed" exactly where episodes end
mid-chunk (success), so it would never be trained where the bootstrap reads it. ``n`` is kept in
``n_steps`` for the record.

**Endings.** SB3's ``dones`` / ``timeouts`` arrays hold ``terminated or truncated`` / ``truncated and
not terminated``, so the sampled ``dones`` are ``terminated``: truncation bootstraps, termination
does not. Online rows get ``terminated``/``truncated`` from SB3's ``TimeLimit.truncated`` info.

Only ``Box`` observations are supported (no ``Dict``); ``optimize_memory_usage`` is not supported.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer

from agents.env_access import ChunkSpec

__all__ = ["ChunkReplayBuffer", "ChunkReplayBufferSamples", "pad_chunk", "stored_chunk"]


class ChunkReplayBufferSamples(NamedTuple):
    """A batch of ``B`` transitions. Tensors are float32 on the buffer's device.

    Attributes:
        observations / next_observations: ``(B, *obs)`` tensors for the networks.
        actions: ``(B, k)`` RL actions ``u``.
        chunks: ``(B, h, A)`` the chosen chunks in env units (see the module docstring).
        rewards: ``(B, 1)``.
        dones: ``(B, 1)``, ``terminated`` (truncation bootstraps).
        raw_observations / raw_next_observations: the same observations as numpy arrays, the
            input of the base policy's ``encode``.
    """

    observations: torch.Tensor
    actions: torch.Tensor
    next_observations: torch.Tensor
    dones: torch.Tensor
    rewards: torch.Tensor
    chunks: torch.Tensor
    raw_observations: np.ndarray
    raw_next_observations: np.ndarray


def pad_chunk(executed: np.ndarray, horizon: int) -> np.ndarray:
    """``(n, A)`` executed actions, ``n >= 1`` -> ``(h, A)`` float32, the last action repeated after ``n``."""
    rows = np.minimum(np.arange(horizon), len(executed) - 1)
    return np.asarray(executed, dtype=np.float32)[rows]


def stored_chunk(info: dict[str, Any], horizon: int) -> np.ndarray:
    """The ``(h, A)`` chunk to store for one M^w step: ``decoded_chunk`` if known, else padded."""
    if "decoded_chunk" in info:
        return np.asarray(info["decoded_chunk"], dtype=np.float32)[:horizon]
    return pad_chunk(info["executed_actions"], horizon)


class ChunkReplayBuffer(ReplayBuffer):
    """SB3 replay buffer of latent transitions with their noise and executed chunk.

    Args:
        buffer_size / observation_space / action_space / device / n_envs: as SB3's ``ReplayBuffer``.
        chunk: the executed-chunk spec ``(h, A)``.
        noise_shape: ``(H, D)``.
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        *,
        chunk: ChunkSpec,
        noise_shape: tuple[int, int],
    ) -> None:
        if not isinstance(observation_space, spaces.Box):
            raise TypeError(f"ChunkReplayBuffer stores Box observations only; got {observation_space}")
        if optimize_memory_usage:
            raise ValueError("ChunkReplayBuffer does not support optimize_memory_usage")
        super().__init__(buffer_size, observation_space, action_space, device, n_envs, False, True)
        self.chunk = chunk
        rows = (self.buffer_size, self.n_envs)
        self.noises = np.zeros((*rows, *noise_shape), dtype=np.float32)
        self.chunks = np.zeros((*rows, chunk.horizon, chunk.action_dim), dtype=np.float32)
        self.n_steps = np.zeros(rows, dtype=np.int64)

    def add(
        self,
        obs: np.ndarray,
        next_obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        """Add one latent step of the ``N`` envs; the chunk and noise come from the M^w infos."""
        truncated = np.array([info.get("TimeLimit.truncated", False) for info in infos], dtype=bool)
        self.add_transitions(
            observations=np.asarray(obs),
            next_observations=np.asarray(next_obs),
            actions=np.asarray(action).reshape(self.n_envs, -1),
            noises=np.stack([info["noise"] for info in infos]),
            chunks=np.stack([stored_chunk(info, self.chunk.horizon) for info in infos]),
            n_steps=np.array([info["inner_steps"] for info in infos]),
            rewards=np.asarray(reward),
            terminated=np.asarray(done, dtype=bool) & ~truncated,
            truncated=truncated,
        )

    def add_transitions(
        self,
        *,
        observations: np.ndarray,
        next_observations: np.ndarray,
        actions: np.ndarray,
        noises: np.ndarray,
        chunks: np.ndarray,
        n_steps: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """Write ``M`` transitions (leading axis ``M``) at the write position, filling env columns.

        ``M`` is rounded up to a multiple of ``n_envs`` by repeating the first rows, so that no
        sampled column holds an empty slot.

        Shapes: observations ``(M, *obs)``, actions ``(M, k)``, noises ``(M, H, D)``, chunks
        ``(M, h, A)`` (tails filled as the module docstring says), n_steps / rewards / terminated / truncated ``(M,)``.
        """
        m = len(rewards)
        if not 0 < m <= self.buffer_size * self.n_envs:
            raise ValueError(f"cannot write {m} transitions into a buffer of {self.buffer_size * self.n_envs}")
        order = np.arange(-(-m // self.n_envs) * self.n_envs) % m
        positions = (self.pos + np.arange(len(order) // self.n_envs)) % self.buffer_size
        terminated, truncated = np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool)
        columns = [
            (self.observations, observations),
            (self.next_observations, next_observations),
            (self.actions, actions),
            (self.noises, noises),
            (self.chunks, chunks),
            (self.n_steps, n_steps),
            (self.rewards, rewards),
            (self.dones, terminated | truncated),
            (self.timeouts, truncated & ~terminated),
        ]
        for store, values in columns:
            values = np.asarray(values)[order]
            store[positions] = values.reshape(len(positions), self.n_envs, *values.shape[1:])
        self.full = self.full or self.pos + len(positions) >= self.buffer_size
        self.pos = int((self.pos + len(positions)) % self.buffer_size)

    def _get_samples(self, batch_inds: np.ndarray, env=None) -> ChunkReplayBufferSamples:  # type: ignore[override]
        env_indices = np.random.randint(0, high=self.n_envs, size=(len(batch_inds),))
        raw_obs = self.observations[batch_inds, env_indices]
        raw_next = self.next_observations[batch_inds, env_indices]
        terminated = self.dones[batch_inds, env_indices] * (1 - self.timeouts[batch_inds, env_indices])
        return ChunkReplayBufferSamples(
            observations=self.to_torch(raw_obs).float(),
            actions=self.to_torch(self.actions[batch_inds, env_indices]),
            next_observations=self.to_torch(raw_next).float(),
            dones=self.to_torch(terminated.reshape(-1, 1)),
            rewards=self.to_torch(self.rewards[batch_inds, env_indices].reshape(-1, 1)),
            chunks=self.to_torch(self.chunks[batch_inds, env_indices]),
            raw_observations=raw_obs,
            raw_next_observations=raw_next,
        )
