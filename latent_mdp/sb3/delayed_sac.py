"""SB3's SAC with TD3's policy delay and a cheaper actor step: the algorithm behind ``--algo sac``.

On these small compute-bound nets an SB3 SAC update costs about as much in its actor step as in
its critic step, and part of the actor step is waste: SB3 backpropagates the actor's loss into
the critics' weights, whose gradients the next critic step then zeroes. :class:`DelayedSAC`

* freezes the critics while the actor's loss is backpropagated, so only the gradient with
  respect to the action flows through them (the actor's update is unchanged);
* takes ``policy_delay``: the actor and the entropy (here KL) coefficient are updated on one
  gradient step in ``policy_delay``, the critics on every step, as TD3 and CrossQ do.

With ``policy_delay=1`` it draws the same random numbers in the same order as SB3's ``SAC.train``
and gives the same updates (``tests/test_delayed_sac.py`` checks it), only faster.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
import torch.nn.functional as F
from stable_baselines3 import SAC
from stable_baselines3.common.utils import polyak_update

from latent_mdp.checks import positive_int

__all__ = ["DelayedSAC"]


class DelayedSAC(SAC):
    """SB3's :class:`~stable_baselines3.SAC`, its actor and entropy coefficient updated every ``policy_delay`` gradient steps.

    Args:
        *args: SB3 SAC's positional arguments (``policy``, ``env``, ...).
        policy_delay: critic updates per actor update (1 is SB3's SAC).
        **kwargs: SB3 SAC's keyword arguments.
    """

    def __init__(self, *args: Any, policy_delay: int = 1, **kwargs: Any) -> None:
        self.policy_delay = positive_int("policy_delay", policy_delay)
        super().__init__(*args, **kwargs)
        if self.use_sde:
            raise ValueError("DelayedSAC does not support use_sde; use stable_baselines3.SAC")

    def _entropy_coefficient(self) -> th.Tensor:
        """The entropy (KL) coefficient's current value, detached: learned (``log_ent_coef``) or fixed."""
        if self.log_ent_coef is None:
            return self.ent_coef_tensor
        return th.exp(self.log_ent_coef.detach())

    def _entropy_coefficient_step(self, log_prob: th.Tensor) -> float:
        """One step of the learned coefficient toward ``target_entropy``, given ``(B, 1)`` log-probabilities; its loss."""
        assert self.ent_coef_optimizer is not None and self.log_ent_coef is not None
        assert isinstance(self.target_entropy, float)
        ent_coef_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
        self.ent_coef_optimizer.zero_grad()
        ent_coef_loss.backward()
        self.ent_coef_optimizer.step()
        return ent_coef_loss.item()

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """``gradient_steps`` critic updates, and an actor update on every ``policy_delay``-th of them (counted across calls)."""
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers += [self.ent_coef_optimizer]
        self._update_learning_rate(optimizers)

        ent_coef_losses, ent_coefs, actor_losses, critic_losses = [], [], [], []
        for gradient_step in range(gradient_steps):
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma
            update_actor = (self._n_updates + gradient_step) % self.policy_delay == 0

            ent_coef = self._entropy_coefficient()  # this step uses the value from before its update, as SB3 does
            ent_coefs.append(ent_coef.item())
            if update_actor:
                # Sampled before the critic step, as SB3 does, so that policy_delay=1 draws SB3's random numbers.
                actions_pi, log_prob = self.actor.action_log_prob(replay_data.observations)
                log_prob = log_prob.reshape(-1, 1)
                if self.ent_coef_optimizer is not None:
                    ent_coef_losses.append(self._entropy_coefficient_step(log_prob))

            with th.no_grad():
                next_actions, next_log_prob = self.actor.action_log_prob(replay_data.next_observations)
                next_q_values = th.cat(self.critic_target(replay_data.next_observations, next_actions), dim=1)
                next_q_values, _ = th.min(next_q_values, dim=1, keepdim=True)
                next_q_values = next_q_values - ent_coef * next_log_prob.reshape(-1, 1)
                target_q_values = replay_data.rewards + (1 - replay_data.dones) * discounts * next_q_values

            current_q_values = self.critic(replay_data.observations, replay_data.actions)
            critic_loss = 0.5 * sum(F.mse_loss(current_q, target_q_values) for current_q in current_q_values)
            assert isinstance(critic_loss, th.Tensor)
            critic_losses.append(critic_loss.item())
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()

            if update_actor:
                # Frozen critics: the actor's loss needs only dQ/da from them, not their weights' gradients.
                self.critic.requires_grad_(False)
                q_values_pi = th.cat(self.critic(replay_data.observations, actions_pi), dim=1)
                self.critic.requires_grad_(True)
                min_qf_pi, _ = th.min(q_values_pi, dim=1, keepdim=True)
                actor_loss = (ent_coef * log_prob - min_qf_pi).mean()
                actor_losses.append(actor_loss.item())
                self.actor.optimizer.zero_grad()
                actor_loss.backward()
                self.actor.optimizer.step()

            if gradient_step % self.target_update_interval == 0:
                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)

        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/ent_coef", np.mean(ent_coefs))
        if actor_losses:
            self.logger.record("train/actor_loss", np.mean(actor_losses))
        self.logger.record("train/critic_loss", np.mean(critic_losses))
        if ent_coef_losses:
            self.logger.record("train/ent_coef_loss", np.mean(ent_coef_losses))
