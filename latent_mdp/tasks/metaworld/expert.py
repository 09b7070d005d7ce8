"""MetaWorld's own scripted policies as experts for :class:`~latent_mdp.tasks.metaworld.env.MetaWorldStateEnv`.

    >>> import gymnasium as gym, latent_mdp
    >>> from latent_mdp.tasks.metaworld.expert import scripted_policy
    >>> env = gym.make("latent_mdp/MetaWorld-push-v3")
    >>> expert = scripted_policy("push")
    >>> obs, info = env.reset(seed=0)
    >>> expert(obs).shape
    (4,)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np

from latent_mdp.tasks.episode import ExpertEpisode

__all__ = ["ExpertRollout", "roll_out_expert", "scripted_policy"]


def scripted_policy(task: str) -> Callable[[np.ndarray], np.ndarray]:
    """MetaWorld's scripted policy for ``task`` (e.g. ``"push"``): a (39,) observation to a (4,) action in ``[-1, 1]``.

    Raises:
        ValueError: MetaWorld ships no scripted policy of that name.
    """
    import metaworld.policies

    name = "Sawyer" + "".join(part.capitalize() for part in task.removesuffix("-v3").split("-")) + "V3Policy"
    if not hasattr(metaworld.policies, name):
        raise ValueError(f"MetaWorld ships no scripted policy {name} for task {task!r}")
    policy = getattr(metaworld.policies, name)()
    return lambda obs: np.clip(policy.get_action(np.asarray(obs, dtype=np.float64)), -1.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class ExpertRollout:
    """One expert episode of ``T`` steps.

    Attributes:
        observations: (T, 39) float32, the observation before each step.
        actions: (T, 4) float32, the expert's own (clean) action at each step.
        rewards: (T,) float32, the env's reward after each step.
        success: whether the episode ended in success.
        final_observation: (39,) float32, the observation after the last step.
        executed: (T, 4) float32, the action the env executed (the expert's plus any DART noise).
        terminated: whether the episode ended by termination rather than the time limit.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    success: bool
    final_observation: np.ndarray
    executed: np.ndarray
    terminated: bool

    def as_episode(self) -> ExpertEpisode:
        """The episode as the demo inversion takes it: ``T + 1`` observations and the executed actions."""
        return ExpertEpisode([*self.observations, self.final_observation], self.executed, self.rewards, self.terminated)


def roll_out_expert(env: gym.Env, expert: Callable[[np.ndarray], np.ndarray], seed: int, action_noise: float = 0.0) -> ExpertRollout:
    """Run ``expert`` on ``env`` from ``reset(seed=seed)`` until the episode ends.

    With ``action_noise > 0`` (DART) the env executes the expert's action plus Gaussian noise of
    that std, clipped to ``[-1, 1]``, while the rollout records the clean action, so that cloned
    policies see how the expert recovers from small deviations.
    """
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    observations, actions, executed_actions, rewards = [], [], [], []
    while True:
        action = expert(obs)
        executed = np.clip(action + action_noise * rng.standard_normal(action.shape), -1.0, 1.0) if action_noise else action
        observations.append(obs)
        actions.append(action)
        executed_actions.append(executed)
        obs, reward, terminated, truncated, info = env.step(executed.astype(np.float32))
        rewards.append(reward)
        if terminated or truncated:
            return ExpertRollout(
                np.asarray(observations, dtype=np.float32),
                np.asarray(actions, dtype=np.float32),
                np.asarray(rewards, dtype=np.float32),
                bool(info["is_success"]),
                np.asarray(obs, dtype=np.float32),
                np.asarray(executed_actions, dtype=np.float32),
                bool(terminated),
            )
