"""`ChunkReplayBuffer`: latent transitions with what they did in the inner env, for DSRL-NA.

Each row holds ``s``, ``u`` (the RL action, ``(k,)``), ``w`` (the noise, ``(H, D)``), the chunk
``a`` ``(h, A)``, ``n`` (how many of its actions were executed), ``r``, ``s'``, ``terminated`` and
``truncated``.

**States are the base policy's inputs.** ``s`` and ``s'`` are the *inner* env observations the
chunk started and stopped at (``info["env_observation"]`` / ``info["next_env_observation"]``,
which every latent_mdp env puts in its step info), not the latent actor's observation. DSRL-NA
re-runs the base policy on them in every update (``pi_dp(s', pi^w(s'))``, ``pi_dp(s, w)``) and
builds the actor's observation from the same encode, so one buffer serves every ``obs_mode``:
the env observation, the policy's features, or both. They may be ``Box`` arrays or flat
``Dict`` observations (e.g. PushT pixels + agent position), stored in their own dtype.

**Chunks.** The action critic values the chunk the agent chose, so a row stores ``h`` actions even
when the episode ended after ``n < h`` inner steps. The unexecuted tail is the decoded chunk's own
tail when the info carries it (``"planned_actions"``), else the last executed action repeated (the
robot holds still: offline data, or rows added from outside DSRLNA). Either way the tail never
changed the outcome, and the critic's input stays a plain chunk, the same kind it is queried on
at ``pi_dp(s', pi^w(s'))``. A mask input was rejected: the executed count is an outcome of the
env, not part of the action, and a critic conditioned on it is queried with "all steps executed"
exactly where episodes end mid-chunk (success), so it would never be trained where the bootstrap
reads it. ``n`` is kept in ``n_steps`` for the record.

**Noise/action bank** (``bank=NoiseBankSpec(...)``). The base policy is frozen, so what it does at a
stored state never changes. Each row can then also hold what DSRL-NA's noise critic needs of its
state ``s``, computed once instead of in every update: ``K`` Gaussian latent actions ``u`` ``(K, k)``,
their decoded chunks ``pi_dp(s, w(u))`` ``(K, h, A)``, and the networks' input ``(O,)`` (the latent
actor's observation of ``s``). Rows are banked lazily, in batches: :meth:`ChunkReplayBuffer.fill_bank`
runs the given function on every row written since its last call (the agent calls it before it
samples), so one encode and one decode cover many new rows at once.

**Held rows** (:meth:`ChunkReplayBuffer.hold`). Offline data written before any online step can be
held: later rows wrap around after them instead of overwriting them, and a fixed share of every
sampled batch comes from them (RLPD's symmetric sampling), however much online data arrives.

**Endings.** ``dones`` / ``timeouts`` hold ``terminated or truncated`` / ``truncated and not
terminated`` (SB3's layout), so the sampled ``dones`` are ``terminated``: truncation bootstraps,
termination does not. Online rows get ``truncated`` from SB3's ``TimeLimit.truncated`` info.

**N-step returns** (``td_steps > 1``). A sampled online row then carries the discounted sum of up
to ``td_steps`` rewards of its env's stream, stopping at the episode's end or at the newest row,
with ``s'``, ``terminated`` of the last of them and ``discounts`` = ``gamma**k`` for the ``k``
rewards summed, as SB3's ``NStepReplayBuffer`` does. Held rows keep one-step targets: offline
transitions need not follow each other (a dataset cut with ``stride < h`` overlaps its chunks),
and an offline episode cut short carries no ending to stop at.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np
import psutil
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import BaseBuffer

from agents.env_access import ChunkSpec
from latent_mdp.checks import positive_int
from latent_mdp.observations import stack_observations
from latent_mdp.policy import Observation

__all__ = [
    "BankRows",
    "ChunkReplayBuffer",
    "ChunkReplayBufferSamples",
    "NoiseBankSpec",
    "concat_observations",
    "pad_chunk",
    "stored_chunk",
]


class NoiseBankSpec(NamedTuple):
    """The per-row layout of the noise/action bank.

    Attributes:
        n_noises: ``K``, Gaussian latent actions banked per state.
        obs_dim: ``O``, the width of the networks' input.
    """

    n_noises: int
    obs_dim: int


class BankRows(NamedTuple):
    """What the bank holds for ``M`` states (numpy, float32).

    Attributes:
        net_observations: ``(M, O)`` the networks' input of each state.
        noises: ``(M, K, k)`` latent actions ``u``.
        chunks: ``(M, K, h, A)`` ``pi_dp(s, w(u))`` in env units.
    """

    net_observations: np.ndarray
    noises: np.ndarray
    chunks: np.ndarray


class ChunkReplayBufferSamples(NamedTuple):
    """A batch of ``B`` transitions. Tensors are float32 on the buffer's device.

    Attributes:
        observations / next_observations: inner env observations ``s`` / ``s'``, numpy arrays
            ``(B, *obs)`` or dicts of them: the base policy's ``encode`` input.
        actions: ``(B, k)`` RL actions ``u``.
        chunks: ``(B, h, A)`` the chosen chunks in env units (see the module docstring).
        rewards: ``(B, 1)``.
        dones: ``(B, 1)``, ``terminated`` (truncation bootstraps).
        bank: the bank rows of ``s`` as tensors (``(B, O)``, ``(B, K, k)``, ``(B, K, h, A)``),
            or None for a buffer without a bank.
        discounts: ``(B, 1)`` the bootstrap's discount of each row (``gamma**k`` after ``k``
            summed rewards) when the buffer samples n-step returns, else None (``gamma``).
    """

    observations: Observation
    next_observations: Observation
    actions: torch.Tensor
    chunks: torch.Tensor
    rewards: torch.Tensor
    dones: torch.Tensor
    bank: BankRows | None = None
    discounts: torch.Tensor | None = None


def _map(fn: Callable[..., np.ndarray], *observations: Observation) -> Observation:
    """``fn`` applied to the arrays of observations that share one structure (arrays or flat dicts)."""
    if isinstance(observations[0], dict):
        return {key: fn(*(o[key] for o in observations)) for key in observations[0]}
    return fn(*observations)


def concat_observations(first: Observation, second: Observation) -> Observation:
    """Two batches ``(B1, ...)`` and ``(B2, ...)`` (arrays or flat dicts) -> one ``(B1 + B2, ...)``."""
    return _map(lambda a, b: np.concatenate([a, b]), first, second)


def _allocate(space: spaces.Space, rows: tuple[int, int]) -> Observation:
    """Zeros ``(buffer_size, n_envs, *shape)`` for a ``Box`` or a flat ``Dict`` of ``Box`` spaces."""
    if isinstance(space, spaces.Dict):
        return {key: _allocate(sub, rows) for key, sub in space.spaces.items()}
    if not isinstance(space, spaces.Box):
        raise TypeError(f"ChunkReplayBuffer stores Box observations or flat Dicts of them; got {space}")
    return np.zeros((*rows, *space.shape), dtype=space.dtype)


def _row_bytes(space: spaces.Space) -> int:
    """Bytes of one observation of ``space``."""
    if isinstance(space, spaces.Dict):
        return sum(_row_bytes(sub) for sub in space.spaces.values())
    return int(np.prod(space.shape)) * np.dtype(space.dtype).itemsize


def _check_layout(space: spaces.Space, observations: Observation, what: str) -> None:
    """Raise ``ValueError`` unless ``observations`` ``(M, *obs)`` fit ``space``."""
    if isinstance(space, spaces.Dict):
        if not isinstance(observations, dict) or set(observations) != set(space.spaces):
            got = sorted(observations) if isinstance(observations, dict) else type(observations).__name__
            raise ValueError(f"{what} must be a dict with keys {sorted(space.spaces)}; got {got}")
        for key, sub in space.spaces.items():
            _check_layout(sub, observations[key], f"{what}[{key!r}]")
        return
    shape = np.shape(observations)[1:]
    if shape != space.shape:
        raise ValueError(f"{what} have shape {shape} per row; the env's observations have {space.shape}")


def pad_chunk(executed: np.ndarray, horizon: int) -> np.ndarray:
    """``(n, A)`` executed actions, ``n >= 1`` -> ``(h, A)`` float32, the last action repeated after ``n``."""
    rows = np.minimum(np.arange(horizon), len(executed) - 1)
    return np.asarray(executed, dtype=np.float32)[rows]


def stored_chunk(info: dict[str, Any], horizon: int) -> np.ndarray:
    """The ``(h, A)`` chunk to store for one M^w step: ``planned_actions`` if known, else padded."""
    if "planned_actions" in info:
        return np.asarray(info["planned_actions"], dtype=np.float32)[:horizon]
    return pad_chunk(info["executed_actions"], horizon)


def _check_fits_in_memory(
    rows: int,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    chunk: ChunkSpec,
    noise_shape: tuple[int, int],
    bank: NoiseBankSpec | None,
) -> None:
    """Raise ``MemoryError`` before allocating a buffer that could not be filled without running out of memory.

    A full buffer that does not fit would kill the run when it fills up, long after it started.
    """
    k, chunk_size = int(np.prod(action_space.shape)), chunk.horizon * chunk.action_dim
    banked = 0 if bank is None else bank.obs_dim + bank.n_noises * (k + chunk_size)
    per_row = 2 * _row_bytes(observation_space) + 4 * (k + int(np.prod(noise_shape)) + chunk_size + 5 + banked)
    total, available = rows * per_row, psutil.virtual_memory().available
    if total > 0.9 * available:
        raise MemoryError(
            f"a full replay buffer of {rows} rows takes {total / 1e9:.1f} GB ({per_row / 1e3:.1f} kB a row, "
            f"s and s' included) but {available / 1e9:.1f} GB are available: lower buffer_size "
            f"(at most about {int(0.9 * available / per_row)} rows here)"
        )


def _env_observations(infos: list[dict[str, Any]], key: str) -> Observation:
    if any(key not in info for info in infos):
        raise KeyError(
            f"the step infos carry no {key!r}: DSRL-NA stores the base policy's inputs, which "
            "latent_mdp's LatentActionWrapper / LatentActionVecEnv put in every step info"
        )
    return stack_observations([info[key] for info in infos])


class ChunkReplayBuffer(BaseBuffer):
    """Circular buffer of latent transitions with their inner observations, noise and chunk.

    Args:
        buffer_size: rows per env column.
        observation_space: the **inner** env's observation space (what the base policy encodes).
        action_space: the RL action space ``[-1, 1]^k``.
        device: where sampled tensors go.
        n_envs: env columns (one per env of a vector env).
        chunk: the executed-chunk spec ``(h, A)``.
        noise_shape: ``(H, D)``.
        bank: the noise/action bank's layout, or None for no bank (see the module docstring).
        td_steps: rewards summed per sampled online row (1: one-step targets; see the module docstring).
        gamma: the discount per latent step of those sums; only read when ``td_steps > 1``.
    """

    observations: Observation
    next_observations: Observation
    td_steps: int = 1
    """One-step targets also for buffers saved before this class took ``td_steps``."""

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        *,
        chunk: ChunkSpec,
        noise_shape: tuple[int, int],
        bank: NoiseBankSpec | None = None,
        td_steps: int = 1,
        gamma: float = 0.99,
    ) -> None:
        td_steps = positive_int("td_steps", td_steps)
        super().__init__(buffer_size, observation_space, action_space, device, n_envs)
        self.td_steps, self.gamma = td_steps, float(gamma)
        self.buffer_size = max(buffer_size // n_envs, 1)
        self.chunk = chunk
        self.bank_spec = bank
        rows = (self.buffer_size, self.n_envs)
        _check_fits_in_memory(self.buffer_size * self.n_envs, observation_space, action_space, chunk, noise_shape, bank)
        self.observations = _allocate(observation_space, rows)
        self.next_observations = _allocate(observation_space, rows)
        self.actions = np.zeros((*rows, self.action_dim), dtype=np.float32)
        self.noises = np.zeros((*rows, *noise_shape), dtype=np.float32)
        self.chunks = np.zeros((*rows, chunk.horizon, chunk.action_dim), dtype=np.float32)
        self.n_steps = np.zeros(rows, dtype=np.int64)
        self.rewards = np.zeros(rows, dtype=np.float32)
        self.dones = np.zeros(rows, dtype=np.float32)
        self.timeouts = np.zeros(rows, dtype=np.float32)
        self.bank: BankRows | None = None
        if bank is not None:
            self.bank = BankRows(
                np.zeros((*rows, bank.obs_dim), dtype=np.float32),
                np.zeros((*rows, bank.n_noises, self.action_dim), dtype=np.float32),
                np.zeros((*rows, bank.n_noises, chunk.horizon, chunk.action_dim), dtype=np.float32),
            )
        self._unbanked: list[np.ndarray] = []
        self.held_rows = 0
        """Rows ``[0, held_rows)`` are held offline data (:meth:`hold`); the ring runs over the rest."""
        self.held_fraction = 0.0
        self.online_added = False
        """Whether :meth:`add` (an online step) has written rows; rows are held only before it has."""

    def hold(self, fraction: float) -> int:
        """Hold every row written so far (offline data) for good, and draw ``fraction`` of each batch from them.

        Returns how many transitions are held (rows times env columns).

        Raises:
            ValueError: ``fraction`` is outside ``[0, 1)``; nothing has been written, the buffer
                has wrapped, rows are held already, or the held rows leave no room for online data.
        """
        if not 0.0 <= fraction < 1.0:
            raise ValueError(f"the held share of a batch must lie in [0, 1); got {fraction}")
        if self.held_rows or self.online_added or self.full or self.pos == 0:
            raise ValueError("hold offline data once, after writing it and before any online step")
        if self.pos >= self.buffer_size:
            raise ValueError(f"{self.pos} held rows leave no room in a buffer of {self.buffer_size} rows per env")
        self.held_rows, self.held_fraction = self.pos, float(fraction)
        return self.held_rows * self.n_envs

    def sample(self, batch_size: int, env: Any = None) -> ChunkReplayBufferSamples:
        """``batch_size`` rows: ``round(batch_size * held_fraction)`` of them held, the rest online (uniform within each)."""
        if self.held_rows == 0:
            return super().sample(batch_size, env)
        upper = self.buffer_size if self.full else self.pos
        n_held = batch_size if upper == self.held_rows else round(batch_size * self.held_fraction)
        held = np.random.randint(0, self.held_rows, size=n_held)
        online = np.random.randint(self.held_rows, upper, size=batch_size - n_held)
        return self._get_samples(np.concatenate([held, online]), env)

    def add(
        self,
        obs: Any,
        next_obs: Any,
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        """Add one latent step of the ``N`` envs (SB3's ``add`` signature).

        ``obs`` / ``next_obs`` (the latent actor's observations) are not stored: ``s``, ``s'``, the
        chunk and the noise come from the M^w step infos (see the module docstring).
        """
        truncated = np.array([info.get("TimeLimit.truncated", False) for info in infos], dtype=bool)
        self.online_added = True
        self.add_transitions(
            observations=_env_observations(infos, "env_observation"),
            next_observations=_env_observations(infos, "next_env_observation"),
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
        observations: Observation,
        next_observations: Observation,
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

        Shapes: observations ``(M, *obs)`` (arrays, or dicts of them for a ``Dict`` space), actions
        ``(M, k)``, noises ``(M, H, D)``, chunks ``(M, h, A)`` (tails filled as the module docstring
        says), n_steps / rewards / terminated / truncated ``(M,)``.

        Raises:
            ValueError: observations that do not fit the buffer's space, or too many rows.
        """
        m = len(rewards)
        if not 0 < m <= self.buffer_size * self.n_envs:
            raise ValueError(f"cannot write {m} transitions into a buffer of {self.buffer_size * self.n_envs}")
        _check_layout(self.observation_space, observations, "observations")
        _check_layout(self.observation_space, next_observations, "next observations")
        order = np.arange(-(-m // self.n_envs) * self.n_envs) % m
        ring = self.buffer_size - self.held_rows
        if len(order) // self.n_envs > ring:
            raise ValueError(f"cannot write {m} transitions into the {ring * self.n_envs} rows the held ones leave")
        positions = self.held_rows + (self.pos - self.held_rows + np.arange(len(order) // self.n_envs)) % ring

        def write(store: np.ndarray, values: np.ndarray) -> np.ndarray:
            values = np.asarray(values)[order]
            store[positions] = values.reshape(len(positions), self.n_envs, *values.shape[1:])
            return store

        terminated, truncated = np.asarray(terminated, dtype=bool), np.asarray(truncated, dtype=bool)
        _map(write, self.observations, observations)
        _map(write, self.next_observations, next_observations)
        for store, values in [
            (self.actions, actions),
            (self.noises, noises),
            (self.chunks, chunks),
            (self.n_steps, n_steps),
            (self.rewards, rewards),
            (self.dones, terminated | truncated),
            (self.timeouts, truncated & ~terminated),
        ]:
            write(store, values)
        self.full = self.full or self.pos + len(positions) >= self.buffer_size
        self.pos = int(self.held_rows + (self.pos - self.held_rows + len(positions)) % ring)
        if self.bank is not None:
            self._unbanked.append(positions)

    @property
    def unbanked_rows(self) -> int:
        """Rows written since the last :meth:`fill_bank` (0 for a buffer without a bank)."""
        if not self._unbanked:
            return 0
        return len(np.unique(np.concatenate(self._unbanked))) * self.n_envs

    def fill_bank(self, compute: Callable[[Observation], BankRows], chunk_rows: int = 1024) -> int:
        """Bank every row written since the last call; returns how many rows were banked.

        Args:
            compute: maps ``M`` inner observations ``s`` ``(M, *obs)`` to their :class:`BankRows`.
            chunk_rows: at most this many states per call of ``compute`` (bounds its memory).
        """
        if self.bank is None:
            raise RuntimeError("this buffer has no bank: build it with bank=NoiseBankSpec(...)")
        if not self._unbanked:
            return 0
        positions = np.unique(np.concatenate(self._unbanked))
        per_call = max(1, chunk_rows // self.n_envs)
        for start in range(0, len(positions), per_call):
            rows = positions[start : start + per_call]
            states = _map(lambda store: store[rows].reshape(-1, *store.shape[2:]), self.observations)
            computed = compute(states)
            for store, values in zip(self.bank, computed):
                store[rows] = np.asarray(values, dtype=np.float32).reshape(len(rows), self.n_envs, *store.shape[2:])
        self._unbanked = []
        return len(positions) * self.n_envs

    def _n_step_ends(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For ``(B,)`` sampled rows and env columns: the row of each one's last summed transition,
        the discounted sum of its rewards and the bootstrap discount ``gamma**k`` (all ``(B,)``)."""
        ring = self.buffer_size - self.held_rows
        newest = self.held_rows + (self.pos - self.held_rows - 1) % ring  # its successor is not written yet
        returns, discounts = np.zeros(len(rows)), np.ones(len(rows))
        last, row, scale, alive = rows.copy(), rows.copy(), 1.0, np.ones(len(rows), dtype=bool)
        for _ in range(self.td_steps):
            returns += np.where(alive, scale * self.rewards[row, cols], 0.0)
            last = np.where(alive, row, last)
            scale *= self.gamma
            discounts = np.where(alive, scale, discounts)
            alive &= (self.dones[row, cols] == 0) & (row != newest) & (row >= self.held_rows)
            row = self.held_rows + (row - self.held_rows + 1) % ring
        return last, returns, discounts

    def _get_samples(self, batch_inds: np.ndarray, env=None) -> ChunkReplayBufferSamples:  # type: ignore[override]
        env_indices = np.random.randint(0, high=self.n_envs, size=(len(batch_inds),))
        take = lambda store: store[batch_inds, env_indices]  # noqa: E731
        ends, rewards, discounts = batch_inds, take(self.rewards), None
        if self.td_steps > 1:
            ends, rewards, discounts = self._n_step_ends(batch_inds, env_indices)
        take_end = lambda store: store[ends, env_indices]  # noqa: E731
        terminated = take_end(self.dones) * (1 - take_end(self.timeouts))
        bank = None
        if self.bank is not None:
            if self._unbanked:
                raise RuntimeError("rows were added since the bank was filled: call fill_bank before sampling")
            bank = BankRows(*(self.to_torch(take(store)) for store in self.bank))
        return ChunkReplayBufferSamples(
            observations=_map(take, self.observations),
            next_observations=_map(take_end, self.next_observations),
            actions=self.to_torch(take(self.actions)),
            chunks=self.to_torch(take(self.chunks)),
            rewards=self.to_torch(rewards.reshape(-1, 1).astype(np.float32)),
            dones=self.to_torch(terminated.reshape(-1, 1)),
            bank=bank,
            discounts=None if discounts is None else self.to_torch(discounts.reshape(-1, 1).astype(np.float32)),
        )
