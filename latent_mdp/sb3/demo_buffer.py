"""SB3's replay buffer with a fixed store of demonstrations in every batch ("symmetric sampling").

Demonstrations become M^w transitions by inversion (:mod:`latent_mdp.demo_noise`); this buffer
keeps them apart from the online data, which never overwrites them, and fills a fixed share of
every sampled batch with them, as RLPD does, so they keep their weight however much online data
arrives.
"""

from __future__ import annotations

import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.common.vec_env import VecNormalize

from latent_mdp.demo_noise import LatentTransitions

__all__ = ["DemoReplayBuffer"]


class DemoReplayBuffer(ReplayBuffer):
    """SB3's ``ReplayBuffer`` plus demonstrations that fill ``demo_fraction`` of every batch.

    Pass it to an SB3 off-policy algorithm as ``replay_buffer_class`` (with
    ``replay_buffer_kwargs={"demo_fraction": 0.5}``), then :meth:`add_demos`. Online transitions
    go to the buffer itself as usual; the demonstrations sit in a store of their own that online
    data never overwrites. A batch of ``B`` holds ``round(B * demo_fraction)`` demonstration rows
    (none while the store is empty) and online rows for the rest.

    Args:
        demo_fraction: the share of each batch drawn from the demonstrations, in ``[0, 1)``.
        demo_capacity: the most demonstration transitions the store holds.
        Other arguments: as ``ReplayBuffer`` (``optimize_memory_usage`` is not supported).
    """

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
    ) -> None:
        if not isinstance(observation_space, spaces.Box):
            raise TypeError(f"DemoReplayBuffer stores Box observations (obs_mode 'env' or 'policy'); got {observation_space}")
        if optimize_memory_usage:
            raise ValueError("DemoReplayBuffer does not support optimize_memory_usage")
        if not 0.0 <= demo_fraction < 1.0:
            raise ValueError(f"demo_fraction must lie in [0, 1); got {demo_fraction}")
        super().__init__(buffer_size, observation_space, action_space, device, n_envs, False, handle_timeout_termination)
        self.demo_fraction = float(demo_fraction)
        self.demos = ReplayBuffer(demo_capacity, observation_space, action_space, device, 1, False, handle_timeout_termination)

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

    def sample(self, batch_size: int, env: VecNormalize | None = None) -> ReplayBufferSamples:
        n_demo = round(batch_size * self.demo_fraction) if self.demos.size() else 0
        online = super().sample(batch_size - n_demo, env)
        if n_demo == 0:
            return online
        demo = self.demos.sample(n_demo, env)
        return ReplayBufferSamples(*(None if a is None else torch.cat([a, b]) for a, b in zip(online, demo)))
