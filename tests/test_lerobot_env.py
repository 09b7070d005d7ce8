"""``DSRL-LeRobot-v0``: LeRobot's own env configs and ``make_env`` under M^w."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import latent_mdp
from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy
from latent_mdp.tasks.pusht.presets import ASSETS

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
