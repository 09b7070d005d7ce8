"""``DSRL-LeRobot-v0``: LeRobot's own env configs and ``make_env`` under M^w."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import latent_mdp
from benchmarks.lerobot_reference import reference_actions
from latent_mdp.observations import stack_observations
from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy
from latent_mdp.tasks.pusht.presets import ASSETS
from tests.conftest import MUJOCO_GL

PUSHT = {"env": "pusht", "env_kwargs": {"obs_type": "environment_state_agent_pos"}, "policy_path": ASSETS / "pusht_diffusion"}


def test_lerobot_pusht_matches_the_pusht_preset_on_the_same_seed_and_noise() -> None:
    lerobot = gym.make("DSRL-LeRobot-v0", **PUSHT, noise="full", obs_mode="policy")
    preset = gym.make("DSRL-PushT-diffusion-v0")
    assert lerobot.action_space == preset.action_space
    rng = np.random.default_rng(0)
    a, _ = lerobot.reset(seed=3)
    b, _ = preset.reset(seed=3)
    np.testing.assert_array_equal(a, b)
    for _ in range(4):
        u = rng.uniform(-1, 1, lerobot.action_space.shape).astype(np.float32)
        out_a, out_b = lerobot.step(u), preset.step(u)
        np.testing.assert_array_equal(out_a[0], out_b[0])
        np.testing.assert_array_equal(out_a[4]["executed_actions"], out_b[4]["executed_actions"])
        assert out_a[1] == out_b[1] and out_a[2:4] == out_b[2:4]


def test_lerobot_vector_form_and_sb3_checker() -> None:
    vector = gym.make_vec("DSRL-LeRobot-v0", 2, **PUSHT, obs_mode="policy")
    assert isinstance(vector, latent_mdp.LatentActionVectorEnv) and vector.reset(seed=0)[0].shape[0] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sb3_check_env(gym.make("DSRL-LeRobot-v0", **PUSHT))


def test_lerobot_metaworld_is_built_by_lerobot_and_a_policy_that_cannot_read_it_is_named() -> None:
    # LeRobot's MetaWorld env observes rendered pixels; a state policy cannot read them, and says so at construction.
    state_policy = FlowMLPPolicy(FlowMLPConfig(obs_dim=39, action_dim=4, chunk_size=8, hidden_dim=16, n_layers=1))
    with pytest.raises(ValueError, match=r"cannot read LeRobot env 'metaworld''s observations Dict\('agent_pos'.*'pixels'.*reads a \(39,\) observation"):
        gym.make("DSRL-LeRobot-v0", env="metaworld", task="push-v3", policy=state_policy)


@pytest.mark.skipif(MUJOCO_GL is None, reason="LeRobot's MetaWorld env renders every step: MuJoCo needs EGL or OSMesa (apt-get install libosmesa6)")
def test_lerobot_metaworld_runs_a_lerobot_checkpoint_as_lerobot_would(tmp_path) -> None:
    # A tiny pi0 made for LeRobot's own MetaWorld features (480 px frames, 4-d state and action)
    # steers push-v3 through LeRobot's make_env; every executed action is what LeRobot's own
    # predict_action_chunk + postprocessor give for the same observation and noise, clipped to the env's bounds.
    from lerobot.envs.factory import make_env_config

    from latent_mdp.builders.lerobot_models import build_tiny_checkpoint

    path = build_tiny_checkpoint("pi0", tmp_path / "pi0", env_config=make_env_config("metaworld", task="push-v3"))
    env = gym.make("DSRL-LeRobot-v0", env="metaworld", task="push-v3", policy_path=path, noise="full", action_horizon=4)
    policy = env.get_wrapper_attr("base_policy")
    obs, _ = env.reset(seed=0)
    assert obs["pixels"].shape == (480, 480, 3) and obs["agent_pos"].shape == (4,)
    rng = np.random.default_rng(0)
    for _ in range(2):
        u = rng.uniform(-1, 1, env.action_space.shape).astype(np.float32)
        next_obs, reward, terminated, truncated, info = env.step(u)
        expected = reference_actions(policy, stack_observations([obs]), torch.from_numpy(info["noise"][None]))[0, :4].numpy()
        clipped = np.clip(expected, -1.0, 1.0)  # M^w clips to the inner action space, as MetaWorld does itself
        np.testing.assert_allclose(info["executed_actions"], clipped, atol=1e-5)
        assert info["inner_steps"] == 4 and not (terminated or truncated) and "is_success" in info and np.isfinite(reward)
        assert not np.array_equal(next_obs["pixels"], obs["pixels"])  # the frame was rendered anew
        obs = next_obs
    env.close()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"policy_path": ASSETS / "pusht_diffusion"}, ValueError, "needs env="),
        ({"env": "pusht"}, ValueError, "exactly one of policy_path="),
        ({"env": "no-such-env", "policy_path": ASSETS / "pusht_diffusion"}, ValueError, "is not registered. Available"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        gym.make("DSRL-LeRobot-v0", **kwargs)
