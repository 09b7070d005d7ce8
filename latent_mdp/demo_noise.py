"""Demonstrations as M^w transitions: expert action chunks become latent actions by inversion.

M^w's action is the base policy's noise, so a demonstration (states and real actions) is not
yet M^w data. A base policy that can run its sampler backward (:meth:`NoisePolicy.invert`; the
flow MLP does) maps each demonstrated chunk to the noise that decodes to it. Cut at every
``action_horizon`` steps, an episode then becomes latent transitions ``(s, u, r, s')`` that any
off-the-shelf SB3 algorithm can learn from, as if its actor had chosen those noises:

* :func:`invert_episode` turns one episode into :class:`LatentTransitions`;
* :class:`latent_mdp.sb3.demo_buffer.DemoReplayBuffer` (SB3 layer) stores them beside the online data and
  fills a fixed share of every sampled batch with them.

The inverted noise is clipped to the noise space's bound ``b_w`` (an RL action lives in
``[-1, 1]``), so the noise's decoded chunk differs a little from the demonstrated one: each
transition records that gap in env units (``decode_error``). The transition keeps the
demonstration's own outcome ``r``, ``s'``, which stands for that of the decoded chunk when the
gap is small.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from latent_mdp.core import LatentCore
from latent_mdp.observations import stack_observations
from latent_mdp.policy import decode_checked

__all__ = ["LatentTransitions", "invert_episode"]


@dataclass(frozen=True)
class LatentTransitions:
    """``M`` transitions of M^w.

    Attributes:
        observations / next_observations: ``(M, O)`` the latent actor's observations of ``s``, ``s'``.
        actions: ``(M, k)`` latent actions in ``[-1, 1]``.
        rewards: ``(M,)`` the chunk's rewards, summed (or discounted) as the env does.
        terminated / truncated: ``(M,)`` bool, set on an episode's last transition.
        decode_error: ``(M,)`` the largest distance, in env units, between an executed action of
            the demo and the action the clipped noise decodes to at that step.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_observations: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    decode_error: np.ndarray

    def __len__(self) -> int:
        return len(self.rewards)

    @classmethod
    def concatenate(cls, parts: Sequence[LatentTransitions]) -> LatentTransitions:
        if not parts:
            raise ValueError("nothing to concatenate: no transitions")
        fields = cls.__dataclass_fields__
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in fields})


def invert_episode(
    core: LatentCore,
    observations: Sequence[Any],
    actions: np.ndarray,
    rewards: np.ndarray,
    *,
    terminated: bool,
) -> LatentTransitions:
    """One demonstrated episode as M^w transitions of ``core``'s env, one per ``action_horizon`` steps.

    Args:
        core: the M^w settings (policy, noise space, horizon, observation mode) of the target env.
        observations: ``T + 1`` inner observations, the reset one first and the final one last.
        actions: ``(T, A)`` the demonstrated actions in env units.
        rewards: ``(T,)`` their inner rewards (the target env's reward, e.g. ``absorbing``).
        terminated: whether the episode ended by termination (success) rather than a time limit.

    Raises:
        ValueError: inconsistent lengths, or an env that re-plans one noise several times
            (``replans > 1``: one demonstrated chunk has no single noise for several chunks).
        NotImplementedError: the base policy cannot invert its sampler.
    """
    actions = np.asarray(actions, dtype=np.float32)
    rewards = np.asarray(rewards, dtype=np.float64)
    n_steps = len(actions)
    if core.replans != 1:
        raise ValueError(f"demonstrations invert into envs with replans=1; this env re-plans {core.replans} chunks per noise")
    if n_steps < 1 or len(observations) != n_steps + 1 or rewards.shape != (n_steps,):
        raise ValueError(
            f"an episode needs T >= 1 actions, T rewards and T + 1 observations; got {n_steps} actions, "
            f"{rewards.shape} rewards and {len(observations)} observations"
        )
    policy, h, horizon = core.policy, core.action_horizon, core.policy.chunk_size
    starts = np.arange(0, n_steps, h)
    rows = np.minimum(starts[:, None] + np.arange(horizon), n_steps - 1)  # the last action held past the end
    executed = np.minimum(starts + h, n_steps) - starts
    ctx, latent_obs = core.encode([observations[t] for t in starts])
    w = policy.invert(ctx, torch.from_numpy(actions[rows]).to(policy.device))
    u = core.noise_space.to_action(w.detach().cpu().numpy())
    decoded = decode_checked(policy, ctx, torch.from_numpy(core.noise_space.to_noise(u)).to(policy.device))
    gap = np.linalg.norm(decoded.detach().cpu().numpy()[:, :h] - actions[rows[:, :h]], axis=-1)
    mask = np.arange(h)[None, :] < executed[:, None]
    weights = np.ones(h) if core.reward_mode == "sum" else core.gamma ** np.arange(h)
    chunk_rewards = (rewards[rows[:, :h]] * weights * mask).sum(axis=1)
    _, next_latent_obs = core.encode([observations[t + n] for t, n in zip(starts, executed)])
    last = np.arange(len(starts)) == len(starts) - 1
    return LatentTransitions(
        observations=np.asarray(stack_observations(latent_obs), dtype=np.float32),
        actions=u,
        rewards=chunk_rewards.astype(np.float32),
        next_observations=np.asarray(stack_observations(next_latent_obs), dtype=np.float32),
        terminated=last & terminated,
        truncated=last & (not terminated),
        decode_error=np.where(mask, gap, 0.0).max(axis=1),
    )
