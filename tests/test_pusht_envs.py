"""The registered DSRL-PushT ids run offline on their shipped checkpoints."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import latent_mdp
from latent_mdp.policies import FlowMLPPolicy
from latent_mdp.sb3 import make_sb3_vec_env
from latent_mdp.tasks.pusht.presets import ASSETS, VARIANTS

SHIPPED = [f"DSRL-PushT-{kind}-v0" for kind, v in VARIANTS.items() if (ASSETS / v.asset).is_dir()]


@pytest.mark.parametrize("env_id", SHIPPED)
def test_every_shipped_id_makes_resets_steps_closes_and_passes_check_env(env_id: str) -> None:
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert info["inner_steps"] >= 1 and 0.0 <= reward <= info["inner_steps"]
    env.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*is different from the unwrapped version")
        gym_check_env(gym.make(env_id), skip_render_check=True)
        sb3_check_env(gym.make(env_id))


def test_flow_is_shipped() -> None:
    assert "DSRL-PushT-flow-v0" in SHIPPED


def test_policy_path_is_honoured(tmp_path) -> None:
    shipped = FlowMLPPolicy.from_pretrained(ASSETS / "pusht_flow")
    other = FlowMLPPolicy(shipped.config)  # same shape, fresh weights
    other.save_pretrained(tmp_path / "mine")
    env = gym.make("DSRL-PushT-flow-v0", policy_path=tmp_path / "mine")
    policy = env.get_wrapper_attr("policy")
    obs = np.zeros((1, 5), dtype=np.float32)
    w = torch.zeros(1, shipped.chunk_size, shipped.noise_dim)
    torch.testing.assert_close(policy.decode(policy.encode(obs), w), other.decode(other.encode(obs), w))
    assert not torch.allclose(policy.decode(policy.encode(obs), w), shipped.decode(shipped.encode(obs), w))


def test_unknown_policy_path_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="not a local FlowMLPPolicy checkpoint"):
        gym.make("DSRL-PushT-flow-v0", policy_path=tmp_path / "nope")


def test_kwargs_reach_the_wrapper_and_rgb_array_renders() -> None:
    env = gym.make("DSRL-PushT-flow-v0", noise="repeat", noise_bound=2.0, action_horizon=4, render_mode="rgb_array")
    wrapper = env.get_wrapper_attr("core")
    assert wrapper.noise_space.mode == "repeat" and wrapper.noise_space.bound == 2.0 and wrapper.action_horizon == 4
    env.reset(seed=1)
    frame = env.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
    _, _, _, _, info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
    assert info["inner_steps"] == 4


def test_make_sb3_vec_env_batches_one_policy() -> None:
    vec = make_sb3_vec_env("DSRL-PushT-flow-v0", 3)
    obs = vec.reset()
    assert obs.shape == (3, 5)
    _, rewards, _, infos = vec.step(np.zeros((3, vec.action_space.shape[0]), dtype=np.float32))
    assert rewards.shape == (3,) and all(info["inner_steps"] == 4 for info in infos)  # the flow default
    with pytest.raises(ValueError, match="unknown DSRL env id"):
        make_sb3_vec_env("DSRL-Nope-v0")
    with pytest.raises(ValueError, match="n_envs must be a positive integer"):
        make_sb3_vec_env("DSRL-PushT-flow-v0", 0)
    assert isinstance(vec.base_policy, FlowMLPPolicy) and vec.get_attr("base_policy") == [vec.base_policy] * 3
    with pytest.warns(DeprecationWarning, match="base_policy"):
        assert vec.policy is vec.base_policy


def test_old_make_vec_name_warns_and_still_works() -> None:
    with pytest.warns(DeprecationWarning, match="make_sb3_vec_env"):
        make_vec = latent_mdp.make_vec
    assert make_vec is make_sb3_vec_env


def test_gym_make_vec_returns_the_batched_gymnasium_form() -> None:
    vec = gym.make_vec("DSRL-PushT-flow-v0", 3, replans=2)
    assert isinstance(vec, latent_mdp.LatentActionVectorEnv)
    obs, _ = vec.reset(seed=0)
    assert obs.shape == (3, 5)
    _, rewards, _, _, infos = vec.step(np.zeros(vec.action_space.shape, dtype=np.float32))
    assert rewards.shape == (3,) and (infos["inner_steps"] == 8).all()
    vec.close()


def expert_rewards(task_reward: str) -> tuple[list[float], list[bool]]:
    """Rewards and success flags of the scripted expert's episode on seed 0 (which it solves)."""
    from latent_mdp.tasks.pusht.expert import PushTExpert
    from latent_mdp.tasks.pusht.presets import make_inner_pusht

    env, expert = make_inner_pusht("flow", task_reward=task_reward), PushTExpert()
    obs, _ = env.reset(seed=0)
    expert.reset()
    rewards, successes, done = [], [], False
    while not done:
        obs, reward, terminated, truncated, info = env.step(expert.act(obs))
        rewards.append(reward)
        successes.append(bool(info["is_success"]))
        done = terminated or truncated
    return rewards, successes


def test_success_absorbing_and_time_rewards_pay_for_success() -> None:
    from latent_mdp.tasks.pusht.presets import make_inner_pusht

    coverage, successes = expert_rewards("coverage")
    assert successes[-1] and not any(successes[:-1])  # the expert solves seed 0, once, at the end
    success, _ = expert_rewards("success")
    assert success == [float(s) for s in successes]
    absorbing, _ = expert_rewards("absorbing")
    np.testing.assert_allclose(absorbing[:-1], coverage[:-1], rtol=1e-9)  # dense like coverage ...
    assert absorbing[-1] == pytest.approx(coverage[-1] + (300 - len(coverage)))  # ... and success pays every step left
    time, _ = expert_rewards("time")
    assert time == [0.0 if s else -1.0 for s in successes] and sum(time) == -(len(coverage) - 1)  # minus the steps to succeed
    with pytest.raises(ValueError, match="task_reward"):
        make_inner_pusht("flow", task_reward="dense")


def test_task_reward_reaches_the_registered_id() -> None:
    env = gym.make("DSRL-PushT-flow-v0", task_reward="success")
    env.reset(seed=0)
    _, reward, *_ = env.step(env.action_space.sample())
    assert reward == 0.0  # one chunk from the start does not solve PushT; coverage would pay > 0
    env.close()


def test_block_keypoints_are_gym_pushts_own_environment_state() -> None:
    import gym_pusht  # noqa: F401

    from latent_mdp.tasks.pusht.presets import BlockKeypoints

    pixels = BlockKeypoints(gym.make("gym_pusht/PushT-v0", obs_type="pixels_agent_pos"))
    keypoints = gym.make("gym_pusht/PushT-v0", obs_type="environment_state_agent_pos")
    ours, _ = pixels.reset(seed=5)
    theirs, _ = keypoints.reset(seed=5)
    for _ in range(2):
        assert pixels.observation_space.contains(ours) and set(ours) == {"pixels", "agent_pos", "environment_state"}
        np.testing.assert_allclose(ours["environment_state"], theirs["environment_state"])
        np.testing.assert_allclose(ours["agent_pos"], theirs["agent_pos"])
        action = np.array([300.0, 300.0])
        ours, *_ = pixels.step(action)
        theirs, *_ = keypoints.step(action)
    assert not np.allclose(ours["environment_state"], 0.0)
    with pytest.raises(TypeError, match="Dict observation"):
        BlockKeypoints(gym.make("gym_pusht/PushT-v0", obs_type="state"))
