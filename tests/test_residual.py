"""ResidualActionWrapper: r = 0 is the base policy; corrections are bounded; SB3 trains on it."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import SAC

from benchmarks.residual import BASE_ACTION_KEY, ResidualActionWrapper
from tests.toy import AnalyticPolicy, LineEnv, expected_chunk

H, A = 4, 2


def residual_env(**kwargs) -> ResidualActionWrapper:
    return ResidualActionWrapper(gym.wrappers.TimeLimit(LineEnv(action_dim=A), 20), AnalyticPolicy(H, A), **kwargs)


def test_zero_residual_replays_the_base_policy_chunk_by_chunk() -> None:
    env = residual_env(action_horizon=2, seed=3)
    obs, _ = env.reset(seed=3)
    assert env.observation_space.contains(obs) and obs.shape == (3 + A,)
    generator = torch.Generator().manual_seed(3)
    for _ in range(3):  # three chunks of two actions, one fresh noise each
        chunk = expected_chunk(env.policy, obs, env.policy.sample_noise(1, generator)[0].numpy())
        for row in range(2):
            np.testing.assert_allclose(obs[3:], 2 * (chunk[row] + 100) / 200 - 1, atol=1e-5)
            obs, _, _, _, info = env.step(np.zeros(A))
            np.testing.assert_allclose(info["executed_action"], chunk[row], atol=1e-5)


def test_corrections_are_bounded_in_env_units() -> None:
    env = residual_env(bound=5.0)
    env.reset(seed=0)
    base = env.base_action.copy()
    _, _, _, _, info = env.step(np.array([1.0, -3.0]))  # out of [-1, 1]: clipped
    np.testing.assert_allclose(info["executed_action"], base + np.array([5.0, -5.0]), atol=1e-5)
    assert residual_env().bound.tolist() == [20.0, 20.0]  # default: 10% of the range 200


def test_dict_observations_get_a_base_action_key_and_bad_inputs_raise() -> None:
    class DictLine(gym.ObservationWrapper):
        def __init__(self, env: gym.Env) -> None:
            super().__init__(env)
            self.observation_space = gym.spaces.Dict({"state": env.observation_space})

        def observation(self, obs):
            return {"state": obs}

    class DictPolicy(AnalyticPolicy):
        def encode(self, obs_batch):
            return super().encode(obs_batch["state"])

    env = ResidualActionWrapper(DictLine(LineEnv(action_dim=A)), DictPolicy(H, A))
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"state", BASE_ACTION_KEY} and env.observation_space.contains(obs)
    with pytest.raises(ValueError, match="non-finite"):
        env.step(np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="action_horizon"):
        residual_env(action_horizon=H + 1)
    with pytest.raises(ValueError, match="acts in"):
        ResidualActionWrapper(LineEnv(action_dim=3), AnalyticPolicy(H, A))


def test_sac_learns_on_the_residual_env() -> None:
    model = SAC("MlpPolicy", residual_env(), learning_starts=20, batch_size=16, policy_kwargs={"net_arch": [16]}, seed=0)
    model.learn(60)
    assert model.num_timesteps == 60
