"""The MetaWorld suite: the inner state env, its scripted experts, the demo dataset, and the DSRL presets."""

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import latent_mdp
from latent_mdp.builders.metaworld_demos import STATE_KEY, record_metaworld_demos, repo_id
from latent_mdp.builders.pusht_demos import load_bc_arrays
from latent_mdp.envs.registry import METAWORLD_IDS, batch_parts, make_inner, task_metrics
from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy
from latent_mdp.tasks.metaworld.env import METAWORLD_TASKS, MetaWorldStateEnv
from latent_mdp.tasks.metaworld.expert import roll_out_expert, scripted_policy
from latent_mdp.tasks.metaworld.presets import asset_dir, metaworld_batch_parts


@pytest.mark.parametrize("task", METAWORLD_TASKS)
def test_inner_env_is_fully_observed_reproducible_and_checked(task: str) -> None:
    env = gym.make(f"latent_mdp/MetaWorld-{task}-v3")
    first, _ = env.reset(seed=3)
    again, _ = env.reset(seed=3)
    other, _ = env.reset(seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    assert first.shape == (39,) and first.dtype == np.float32
    assert np.any(first[-3:] != 0) and env.observation_space.contains(first)  # the goal is observed, inside the bounds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gym_check_env(env.unwrapped, skip_render_check=True)  # MuJoCo rendering needs an OpenGL backend


@pytest.mark.parametrize(("task", "least"), [("push", 5), ("pick-place", 4)])
def test_scripted_experts_reach_their_stated_success(task: str, least: int) -> None:
    env = gym.make(f"latent_mdp/MetaWorld-{task}-v3")
    rollouts = [roll_out_expert(env, scripted_policy(task), seed) for seed in range(5)]
    assert sum(r.success for r in rollouts) >= least
    for rollout in rollouts:
        steps = len(rollout.actions)
        assert rollout.observations.shape == (steps, 39) and rollout.actions.shape == (steps, 4)
        assert np.all(np.abs(rollout.actions) <= 1.0)
        if rollout.success:  # sparse reward: 1 on the success step only, which ends the episode
            assert rollout.rewards[-1] == 1.0 and rollout.rewards[:-1].sum() == 0.0


def test_sparse_and_dense_rewards_and_time_limit_as_truncation() -> None:
    dense = MetaWorldStateEnv("push", task_reward="dense")
    dense.reset(seed=0)
    _, reward, terminated, truncated, info = dense.step(np.zeros(4, np.float32))
    assert 0.0 < reward <= 1.0 and not terminated and not truncated and info["is_success"] is False
    env = gym.make("latent_mdp/MetaWorld-push-v3")
    env.reset(seed=0)
    for step in range(500):
        _, reward, terminated, truncated, _ = env.step(np.zeros(4, np.float32))
        assert reward == 0.0 and not terminated
        if truncated:
            break
    assert truncated and step == 499
    absorbing = roll_out_expert(gym.wrappers.TimeLimit(MetaWorldStateEnv("push", task_reward="absorbing"), 500), scripted_policy("push"), 0)
    steps = len(absorbing.rewards)
    assert absorbing.success and np.all(absorbing.rewards[:-1] <= 1.0)  # dense until success ...
    assert 500 - steps < absorbing.rewards[-1] <= 500 - steps + 1.0  # ... which pays 1 for every step left
    with pytest.raises(ValueError, match="task_reward must be one of"):
        MetaWorldStateEnv("push", task_reward="coverage")
    with pytest.raises(ValueError, match=r"a MetaWorld action has shape \(4,\)"):
        env.step(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="no scripted policy"):
        scripted_policy("fly-to-moon")


def test_demo_dataset_round_trips_through_lerobots_reader(tmp_path: Path) -> None:
    stats = record_metaworld_demos("push", tmp_path / "demos", 2, seed=0)
    assert stats.episodes == 2 and stats.frames > 0
    data = load_bc_arrays(tmp_path / "demos", chunk_size=8, repo_id=repo_id("push"), state_key=STATE_KEY)
    assert data.states.shape == (stats.frames, 39) and data.action_chunks.shape == (stats.frames, 8, 4)
    assert len(data.episode_bounds) == 2 and data.dones.sum() == 2
    env = gym.make("latent_mdp/MetaWorld-push-v3")
    assert stats.attempts == 2  # the clean scripted policy succeeds from seeds 0 and 1, so seed 0 is stored first
    replay = roll_out_expert(env, scripted_policy("push"), 0)
    start, end = data.episode_bounds[0]
    np.testing.assert_allclose(data.states[start:end], replay.observations, atol=1e-6)
    np.testing.assert_allclose(data.action_chunks[start:end, 0], replay.actions, atol=1e-6)
    np.testing.assert_array_equal(data.rewards[start:end], replay.rewards)


@pytest.fixture(scope="module")
def small_flow() -> FlowMLPPolicy:
    return FlowMLPPolicy(FlowMLPConfig(obs_dim=39, action_dim=4, chunk_size=8, hidden_dim=32, n_layers=2))


@pytest.mark.parametrize("env_id", sorted(METAWORLD_IDS))
def test_every_metaworld_id_makes_resets_steps_and_passes_both_checkers(env_id: str) -> None:
    env = gym.make(env_id)  # the shipped base
    assert env.action_space.shape == (32,) and env.observation_space.shape == (39,)
    obs, _ = env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(np.zeros(32, np.float32))
    assert info["inner_steps"] == 4 and reward in (0.0, 1.0) and "is_success" in info
    assert np.all(np.abs(info["executed_actions"]) <= 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gym_check_env(env, skip_render_check=True)  # M^w itself, not only the inner env
        sb3_check_env(gym.make(env_id))
    assert task_metrics(env_id).success == "is_success"
    assert (asset_dir(METAWORLD_IDS[env_id]) / "README.md").is_file()  # the model card ships with the base


def test_presets_are_the_generic_id_with_defaults(small_flow: FlowMLPPolicy) -> None:
    preset = gym.make("DSRL-MetaWorld-push-flow-v0", policy=small_flow)
    generic = gym.make("DSRL-v0", env_id="latent_mdp/MetaWorld-push-v3", policy=small_flow, noise="full", action_horizon=4)
    noise = np.random.default_rng(0).uniform(-1, 1, 32).astype(np.float32)
    for env in (preset, generic):
        env.reset(seed=5)
    a, b = preset.step(noise), generic.step(noise)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[4]["executed_actions"], b[4]["executed_actions"])
    envs, _, options = batch_parts("DSRL-MetaWorld-pick-place-flow-v0", 2, policy=small_flow, action_horizon=8)
    assert len(envs) == 2 and options["action_horizon"] == 8 and options["obs_mode"] == "env"
    vector = gym.make_vec("DSRL-MetaWorld-push-flow-v0", 2, policy=small_flow)
    assert isinstance(vector, latent_mdp.LatentActionVectorEnv) and vector.reset(seed=0)[0].shape == (2, 39)
    assert make_inner("DSRL-MetaWorld-push-flow-v0").reset(seed=0)[0].shape == (39,)


def test_a_missing_or_wrong_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no MetaWorld preset for task"):
        metaworld_batch_parts("sweep", 1)
    wrong = FlowMLPPolicy(FlowMLPConfig(obs_dim=5, action_dim=2, chunk_size=8, hidden_dim=16, n_layers=1))
    with pytest.raises(ValueError, match=r"cannot read DSRL-MetaWorld-push-flow-v0 \(latent_mdp/MetaWorld-push-v3\)'s observations"):
        gym.make("DSRL-MetaWorld-push-flow-v0", policy=wrong)
    with pytest.raises(ValueError, match="DSRL-MetaWorld-push-flow-v0 needs exactly one of policy_path="):
        gym.make("DSRL-MetaWorld-push-flow-v0", policy=wrong, policy_path=tmp_path)
    with pytest.raises(ValueError, match="takes no task="):
        gym.make("DSRL-MetaWorld-push-flow-v0", task="pick-place")
    with pytest.raises(FileNotFoundError, match="not a checkpoint directory"):
        gym.make("DSRL-MetaWorld-push-flow-v0", policy_path=tmp_path / "nothing")


def test_headroom_is_best_of_k_over_start_states() -> None:
    from benchmarks.headroom import headroom, start_state_outcomes

    outcomes = np.array([[0, 0, 1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1], [0] * 8, [0, 1, 0, 0, 0, 0, 0, 0]], dtype=bool)
    assert headroom(outcomes) == {"best_of_1": 0.25, "best_of_2": 0.5, "best_of_4": 0.75, "best_of_8": 0.75}
    small = FlowMLPPolicy(FlowMLPConfig(obs_dim=39, action_dim=4, chunk_size=8, hidden_dim=16, n_layers=1))
    env = gym.make_vec("DSRL-MetaWorld-push-flow-v0", 2, policy=small)
    run = start_state_outcomes(env, "is_success", 10_000, noise_seed=0)
    assert run.shape == (2,) and run.dtype == bool
