"""SB3's replay buffer with a fixed store of demonstrations in every batch ("symmetric sampling").

Demonstrations become M^w transitions by inversion (:mod:`latent_mdp.demo_noise`); this buffer
keeps them apart from the online data, which never overwrites them, and fills a fixed share of
every sampled batch with them, as RLPD does, so they keep their weight however much online data
arrives. With ``n_steps > 1`` both parts of a batch carry n-step returns (SB3's
``NStepReplayBuffer``), each summed within its own episode.
"""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import NStepReplayBuffer, ReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.vec_env import VecNormalize

from latent_mdp.checks import positive_int
from latent_mdp.demo_noise import LatentTransitions

__all__ = ["DemoReplayBuffer"]


class DemoReplayBuffer(NStepReplayBuffer):
    """SB3's replay buffer plus demonstrations that fill ``demo_fraction`` of every batch.

    Pass it to an SB3 off-policy algorithm as ``replay_buffer_class`` (with
    ``replay_buffer_kwargs={"demo_fraction": 0.5}``), then :meth:`add_demos`. Online transitions
    go to the buffer itself as usual; the demonstrations sit in a store of their own that online
    data never overwrites. A batch of ``B`` holds ``round(B * demo_fraction)`` demonstration rows
    (none while the store is empty) and online rows for the rest.

    With ``n_steps=1`` (the default) a batch is what SB3's ``ReplayBuffer`` samples, drawn the same
    way. With ``n_steps > 1`` every row's reward is the discounted sum of up to ``n_steps`` rewards
    of its episode, its next observation the one after the last of them, and its ``discounts``
    ``gamma**k`` for the ``k`` rewards summed, as SB3's ``NStepReplayBuffer`` gives (set
    ``gamma`` to the algorithm's). The demonstrations' episodes must then be stored in order, each
    ending in a terminated or truncated transition, as :meth:`add_demos` receives them from
    :meth:`latent_mdp.demo_noise.LatentTransitions.concatenate`.

    Args:
        demo_fraction: the share of each batch drawn from the demonstrations, in ``[0, 1)``.
        demo_capacity: the most demonstration transitions the store holds.
        n_steps: rewards summed per sampled row (1: one-step TD targets).
        gamma: the discount of the n-step sums; only read when ``n_steps > 1``.
        Other arguments: as ``ReplayBuffer`` (``optimize_memory_usage`` is not supported).
    """

    n_steps: int = 1
    """One-step targets also for buffers saved before this class took ``n_steps``."""

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        demo_fraction: float = 0.5,
        demo_capacity: int = 100_000,
        n_steps: int = 1,
        gamma: float = 0.99,
    ) -> None:
        if not isinstance(observation_space, spaces.Box):
            raise TypeError(f"DemoReplayBuffer stores Box observations (obs_mode 'env' or 'policy'); got {observation_space}")
        if optimize_memory_usage:
            raise ValueError("DemoReplayBuffer does not support optimize_memory_usage")
        if not 0.0 <= demo_fraction < 1.0:
            raise ValueError(f"demo_fraction must lie in [0, 1); got {demo_fraction}")
        n_steps = positive_int("n_steps", n_steps)
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma must lie in (0, 1]; got {gamma}")
        args = (observation_space, action_space, device)
        super().__init__(buffer_size, *args, n_envs, False, handle_timeout_termination, n_steps=n_steps, gamma=float(gamma))
        self.demo_fraction = float(demo_fraction)
        store = dict(n_steps=n_steps, gamma=float(gamma)) if n_steps > 1 else {}
        store_class = NStepReplayBuffer if n_steps > 1 else ReplayBuffer
        self.demos = store_class(demo_capacity, *args, 1, False, handle_timeout_termination, **store)

    def add_demos(self, transitions: LatentTransitions) -> int:
        """Append demonstration transitions to the store; returns how many it holds now.

        Raises:
            ValueError: observations or actions of the wrong width, or more than ``demo_capacity``.
        """
        store, m = self.demos, len(transitions)
        obs_shape, action_shape = self.observation_space.shape, (self.action_dim,)
        if transitions.observations.shape[1:] != obs_shape or transitions.actions.shape[1:] != action_shape:
            raise ValueError(
                f"demonstrations have observations {transitions.observations.shape[1:]} and actions "
                f"{transitions.actions.shape[1:]}; this buffer stores {obs_shape} and {action_shape}"
            )
        if store.pos + m > store.buffer_size:
            raise ValueError(f"{store.pos + m} demonstration transitions exceed demo_capacity={store.buffer_size}")
        rows = slice(store.pos, store.pos + m)
        store.observations[rows, 0] = transitions.observations
        store.next_observations[rows, 0] = transitions.next_observations
        store.actions[rows, 0] = transitions.actions
        store.rewards[rows, 0] = transitions.rewards
        store.dones[rows, 0] = transitions.terminated | transitions.truncated
        store.timeouts[rows, 0] = transitions.truncated & ~transitions.terminated
        store.pos += m
        store.full = store.pos == store.buffer_size
        return store.size()

    def _get_samples(self, batch_inds: np.ndarray, env: VecNormalize | None = None) -> ReplayBufferSamples:
        if self.n_steps == 1:  # SB3's one-step rows, without NStepReplayBuffer's discounts column
            return ReplayBuffer._get_samples(self, batch_inds, env)
        return super()._get_samples(batch_inds, env)

    def sample(self, batch_size: int, env: VecNormalize | None = None) -> ReplayBufferSamples:
        n_demo = round(batch_size * self.demo_fraction) if self.demos.size() else 0
        online = super().sample(batch_size - n_demo, env)
        if n_demo == 0:
            return online
        demo = self.demos.sample(n_demo, env)
        return ReplayBufferSamples(*(None if a is None else torch.cat([a, b]) for a, b in zip(online, demo)))
