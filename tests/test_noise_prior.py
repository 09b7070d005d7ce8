"""SAC regularized toward the base noise N(0, I) (latent_mdp.sb3.noise_prior)."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import SAC

from latent_mdp.sb3.noise_prior import NoisePriorPolicy, noise_prior_log_prob

torch.set_num_threads(1)


class FlatBandit(gym.Env):
    """One-step episodes, a constant observation and reward 0: only the regularizer shapes the actor."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def __init__(self, bound: float) -> None:
        self.action_space = gym.spaces.Box(-bound, bound, shape=(2,), dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        return np.zeros(1, dtype=np.float32), 0.0, True, False, {}


@pytest.mark.parametrize("bound", [0.5, 1.5, 3.0])
def test_prior_density_is_the_truncated_normal_in_unit_actions(bound: float) -> None:
    u = torch.linspace(-1, 1, 20_001)[:, None]
    density = noise_prior_log_prob(u, bound).exp()
    assert torch.trapezoid(density, u[:, 0]).item() == pytest.approx(1.0, abs=1e-4)
    # Its ratio between two points is the standard normal's at w = bound * u.
    w0, w1 = 0.2 * bound, 0.9 * bound
    ratio = (noise_prior_log_prob(torch.tensor([[0.9]]), bound) - noise_prior_log_prob(torch.tensor([[0.2]]), bound)).item()
    assert ratio == pytest.approx(-0.5 * (w1**2 - w0**2), abs=1e-5)


def _sampled_noise_std(policy: type | str, bound: float) -> float:
    env = FlatBandit(bound)
    model = SAC(policy, env, ent_coef=1.0, learning_rate=3e-3, gamma=0.0, learning_starts=100, seed=0,
                policy_kwargs={"net_arch": [32]})
    model.learn(1_500)
    obs = np.zeros((4_000, 1), dtype=np.float32)
    actions, _ = model.predict(obs, deterministic=False)
    return float(actions.std())


@pytest.mark.slow
def test_with_nothing_to_gain_the_actor_settles_on_the_base_noise_not_on_uniform() -> None:
    bound = 3.0
    truncated_normal_std = math.sqrt(1 - 2 * bound * math.exp(-bound**2 / 2) / math.sqrt(2 * math.pi) / math.erf(bound / math.sqrt(2)))
    uniform_std = bound / math.sqrt(3)
    assert _sampled_noise_std(NoisePriorPolicy, bound) == pytest.approx(truncated_normal_std, abs=0.15)
    assert _sampled_noise_std("MlpPolicy", bound) > uniform_std - 0.3


def test_asymmetric_boxes_are_refused() -> None:
    env = FlatBandit(1.0)
    env.action_space = gym.spaces.Box(np.array([-1.0, 0.0], dtype=np.float32), np.array([1.0, 2.0], dtype=np.float32))
    with pytest.raises(ValueError, match="symmetric box"):
        SAC(NoisePriorPolicy, env)
