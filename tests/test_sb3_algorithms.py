"""Stock SB3 / sb3-contrib off-policy algorithms train on M^w unchanged, single and vector."""

import math

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import TQC, CrossQ
from stable_baselines3 import SAC, TD3

from latent_mdp import LatentActionVecEnv, LatentActionWrapper, warmup_replay_buffer
from tests.toy import AnalyticPolicy, LineEnv

H, A = 4, 2
ALGORITHMS = {"SAC": SAC, "TD3": TD3, "TQC": TQC, "CrossQ": CrossQ}


def line_env() -> gym.Env:
    return gym.wrappers.TimeLimit(LineEnv(action_dim=A), 20)


def make_env(form: str):
    if form == "single":
        return LatentActionWrapper(line_env(), AnalyticPolicy(H, A), action_horizon=2)
    return LatentActionVecEnv([line_env] * 3, AnalyticPolicy(H, A), action_horizon=2)


@pytest.mark.parametrize("form", ["single", "vector"])
@pytest.mark.parametrize("name", list(ALGORITHMS))
def test_learn_save_load(name: str, form: str, tmp_path) -> None:
    algo = ALGORITHMS[name]
    model = algo(
        "MlpPolicy", make_env(form), learning_starts=60, batch_size=32, policy_kwargs={"net_arch": [32, 32]}, seed=0
    )
    model.learn(total_timesteps=240)
    assert model.num_timesteps >= 240
    assert model.replay_buffer.size() > 0
    model.save(tmp_path / "model")
    loaded = algo.load(tmp_path / "model", env=make_env(form))
    obs = np.random.default_rng(0).uniform(-1, 1, size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])


@pytest.mark.parametrize("form", ["single", "vector"])
def test_gaussian_warmup_fills_the_buffer_with_standard_normal_noise(form: str) -> None:
    model = SAC("MlpPolicy", make_env(form), learning_starts=1000, policy_kwargs={"net_arch": [16]}, seed=0)
    result = warmup_replay_buffer(model, 600, seed=1, progress=False)
    added = result.transitions
    assert result.env_steps == 2 * added  # action_horizon 2, and episodes of 20 steps end on chunk ends
    buffer = model.replay_buffer
    assert added >= 600 and buffer.size() * model.n_envs == added
    assert model.learning_starts == 0
    stored = buffer.actions[: buffer.size()].reshape(-1, A)
    noise = 1.5 * stored  # the default bound b_w maps u back to w ~ N(0, 1) clipped at 1.5
    tail = 0.5 * math.erfc(1.5 / math.sqrt(2))  # P(z > 1.5)
    density = math.exp(-1.5**2 / 2) / math.sqrt(2 * math.pi)
    clipped_std = math.sqrt(1 - 2 * tail - 2 * 1.5 * density + 2 * 1.5**2 * tail)  # 0.882
    assert abs(noise.std() - clipped_std) < 0.06 and abs(noise.mean()) < 0.1
    assert np.mean(np.abs(noise) >= 1.5 - 1e-5) == pytest.approx(2 * tail, abs=0.05)
    # Episodes last 20 inner steps = 10 latent steps: every 10th transition ends one by time limit.
    dones, timeouts = buffer.dones[: buffer.size()], buffer.timeouts[: buffer.size()]
    assert timeouts.sum() == pytest.approx(added / 10)
    np.testing.assert_array_equal(dones, timeouts)  # every ending is a time limit: SB3 bootstraps them
    assert buffer.sample(64).dones.sum() == 0
    last = np.flatnonzero(buffer.timeouts[: buffer.size()].ravel())[0]
    assert buffer.next_observations.reshape(-1, 3)[last][2] == 20  # the real last observation
    model.learn(total_timesteps=20)
