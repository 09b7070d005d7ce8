"""Gaussian warm-up: fill an SB3 off-policy replay buffer with base-policy rollouts, ``w ~ N(0, I)``.

Before ``learning_starts`` SB3 acts uniformly in the action box, which on M^w means noises of
magnitude up to ``b_w`` in every coordinate: far from the base policy. The DSRL recipe instead
warms the buffer up with the base policy's own noise distribution.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecEnv
from tqdm.auto import tqdm

from latent_mdp.noise_space import NoiseSpace

__all__ = ["WarmupResult", "warmup_replay_buffer"]


@dataclass(frozen=True)
class WarmupResult:
    """What a warm-up added: latent transitions, and the inner env steps they took."""

    transitions: int
    env_steps: int


def _noise_space_of(env: VecEnv) -> NoiseSpace:
    """The noise space behind an SB3 ``VecEnv`` of M^w (ours, or a DummyVecEnv of wrappers)."""
    try:
        space = getattr(env, "noise_space")
    except AttributeError:
        space = env.get_attr("noise_space")[0]
    if not isinstance(space, NoiseSpace):
        raise TypeError("warm-up needs an env built from LatentActionWrapper or LatentActionVecEnv")
    return space


def _with_terminal_observations(new_obs: Any, dones: np.ndarray, infos: list[dict]) -> Any:
    """``new_obs`` with the auto-reset observations of finished envs replaced by their last ones."""
    next_obs = copy.deepcopy(new_obs)
    for i in np.flatnonzero(dones):
        terminal = infos[i]["terminal_observation"]
        if isinstance(next_obs, dict):
            for key in next_obs:
                next_obs[key][i] = terminal[key]
        else:
            next_obs[i] = terminal
    return next_obs


def warmup_replay_buffer(
    model: OffPolicyAlgorithm,
    n_steps: int,
    *,
    seed: int | None = None,
    progress: bool = True,
    check: Callable[[], None] | None = None,
) -> WarmupResult:
    """Add ``n_steps`` latent transitions with Gaussian noise to ``model.replay_buffer``.

    Each latent action is :meth:`NoiseSpace.sample_gaussian_action`: the parameters of the noise
    are drawn from ``N(0, I)`` and clipped at ``b_w``. Afterwards ``model.learning_starts`` is set
    to 0, so ``learn()`` does not add SB3's uniform warm-up on top. The env is reset by
    ``learn()`` afterwards, so episodes cut here only cost their unfinished tail.

    Args:
        model: an SB3 off-policy algorithm (SAC, TD3, TQC, CrossQ, ...) whose env is M^w.
        n_steps: latent transitions to add (rounded up to a multiple of the number of envs).
        seed: seed of the noise draws.
        progress: show a progress bar.
        check: called before every round (e.g. :meth:`latent_mdp.interrupt.DeferredInterrupt.check`).

    Returns:
        The transitions added and the inner env steps they cost (count them in a budget).
    """
    env = model.get_env()
    if env is None:
        raise ValueError("the model has no env: pass one to the algorithm before warming up")
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1; got {n_steps}")
    noise_space = _noise_space_of(env)
    rng = np.random.default_rng(seed)
    rounds = math.ceil(n_steps / env.num_envs)
    obs = env.reset()
    env_steps = 0
    for _ in tqdm(range(rounds), desc="Gaussian warm-up", disable=not progress):
        if check is not None:
            check()
        actions = noise_space.sample_gaussian_action(rng, env.num_envs)
        new_obs, rewards, dones, infos = env.step(actions)
        env_steps += sum(int(info.get("inner_steps", 1)) for info in infos)
        next_obs = _with_terminal_observations(new_obs, dones, infos)
        model.replay_buffer.add(obs, next_obs, actions, rewards, dones, infos)
        obs = new_obs
    model.learning_starts = 0
    return WarmupResult(rounds * env.num_envs, env_steps)
