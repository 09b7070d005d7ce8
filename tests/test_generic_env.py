"""``DSRL-v0``: M^w over a Gymnasium id the project never saw, from a checkpoint made here."""

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import latent_mdp
from latent_mdp.envs.generic import GOAL_KEYS, GoalDictFlatten
from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy
from latent_mdp.sb3 import make_sb3_vec_env
from latent_mdp.sb3.evaluation import base_actor, evaluate


@pytest.fixture(scope="module")
def pendulum_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small flow MLP for Pendulum-v1's 3-d observation and 1-d torque, saved as a checkpoint."""
    torch.manual_seed(0)
    policy = FlowMLPPolicy(FlowMLPConfig(obs_dim=3, action_dim=1, chunk_size=4, hidden_dim=32, n_layers=2))
    return policy.save_pretrained(tmp_path_factory.mktemp("pendulum_flow"))


def test_any_gymnasium_id_becomes_m_w_and_passes_both_checkers(pendulum_checkpoint: Path) -> None:
    env = gym.make("DSRL-v0", env_id="Pendulum-v1", policy_path=pendulum_checkpoint, noise="full", noise_bound=1.0)
    assert env.action_space.shape == (4,) and env.observation_space.shape == (3,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gym_check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(gym.make("DSRL-v0", env_id="Pendulum-v1", policy_path=pendulum_checkpoint, action_horizon=2))
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(np.zeros(4, dtype=np.float32))
    assert info["inner_steps"] == 4 and np.all(np.abs(info["executed_actions"]) <= 2.0)  # Pendulum's torque bound
    assert not terminated and not truncated and reward < 0


def test_both_vector_forms_of_the_generic_id(pendulum_checkpoint: Path) -> None:
    vector = gym.make_vec("DSRL-v0", 3, env_id="Pendulum-v1", policy_path=pendulum_checkpoint)
    assert isinstance(vector, latent_mdp.LatentActionVectorEnv)
    obs, _ = vector.reset(seed=0)
    assert obs.shape == (3, 3)
    sb3 = make_sb3_vec_env("DSRL-v0", 2, env_id="Pendulum-v1", policy=vector.base_policy)
    result = evaluate(sb3, base_actor(sb3.noise_space, 2, seed=0), 2, seed=0)
    assert result.episodes == 2 and result.mean_length == 200  # Pendulum's time limit, kept as truncation
    assert result.success_rate == 0.0 and sb3.task_metrics.success == "is_success"


def test_an_observation_the_policy_cannot_read_names_both_sides(tmp_path: Path) -> None:
    wrong = FlowMLPPolicy(FlowMLPConfig(obs_dim=5, action_dim=1, chunk_size=4, hidden_dim=16, n_layers=1))
    with pytest.raises(ValueError, match=r"cannot read Pendulum-v1's observations Box.*\(3,\).*reads a \(5,\) observation"):
        gym.make("DSRL-v0", env_id="Pendulum-v1", policy=wrong)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs env_id="),
        ({"env_id": "Pendulum-v1"}, "exactly one of policy_path= .* and policy="),
        ({"env_id": "Pendulum-v1", "policy_path": "/nonexistent/ckpt"}, "is not a checkpoint directory"),
        ({"env_id": "Pendulum-v1", "policy_path": "x", "observation": "pixels"}, "observation must be one of"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs: dict, message: str) -> None:
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        gym.make("DSRL-v0", **kwargs)


class GoalEnv(gym.Env):
    """A goal-conditioned Dict observation as Gymnasium-Robotics writes it, plus one extra key."""

    def __init__(self) -> None:
        box = lambda n: gym.spaces.Box(-1.0, 1.0, (n,), dtype=np.float32)  # noqa: E731
        self.observation_space = gym.spaces.Dict({"desired_goal": box(2), "achieved_goal": box(2), "observation": box(3), "extra": box(1)})
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), dtype=np.float32)

    def _obs(self) -> dict:
        return {
            "observation": np.array([1, 2, 3], np.float32) / 10,
            "achieved_goal": np.array([4, 5], np.float32) / 10,
            "desired_goal": np.array([6, 7], np.float32) / 10,
            "extra": np.array([8], np.float32) / 10,
        }

    def reset(self, *, seed=None, options=None):  # noqa: ANN001, ANN201
        super().reset(seed=seed)
        return self._obs(), {}

    def step(self, action):  # noqa: ANN001, ANN201
        return self._obs(), 0.0, False, False, {"is_success": True}


def test_goal_dict_observations_flatten_in_the_documented_order() -> None:
    if "GoalToy-v0" not in gym.registry:
        gym.register("GoalToy-v0", entry_point=GoalEnv, max_episode_steps=20)
    flat = GoalDictFlatten(gym.make("GoalToy-v0"))
    obs, _ = flat.reset(seed=0)
    np.testing.assert_allclose(obs, np.arange(1, 9) / 10, rtol=1e-6)
    assert flat.keys == [*GOAL_KEYS, "extra"] and flat.observation_space.shape == (8,)
    policy = FlowMLPPolicy(FlowMLPConfig(obs_dim=8, action_dim=1, chunk_size=2, hidden_dim=16, n_layers=1))
    env = gym.make("DSRL-v0", env_id="GoalToy-v0", policy=policy, observation="goal_dict")
    env.reset(seed=0)
    assert env.step(np.zeros(env.action_space.shape, np.float32))[4]["is_success"]
    with pytest.raises(ValueError, match="observation='box' needs a flat Box observation"):
        gym.make("DSRL-v0", env_id="GoalToy-v0", policy=policy)


class ClosingEnv(GoalEnv):
    """Counts its ``close`` calls."""

    closed = 0

    def close(self) -> None:
        ClosingEnv.closed += 1


def test_a_policy_that_cannot_read_the_env_closes_the_envs_it_made() -> None:
    if "ClosingToy-v0" not in gym.registry:
        gym.register("ClosingToy-v0", entry_point=ClosingEnv, max_episode_steps=5)
    wrong = FlowMLPPolicy(FlowMLPConfig(obs_dim=3, action_dim=1, chunk_size=2, hidden_dim=16, n_layers=1))
    ClosingEnv.closed = 0
    with pytest.raises(ValueError, match="cannot read ClosingToy-v0's observations"):
        gym.make_vec("DSRL-v0", 3, env_id="ClosingToy-v0", policy=wrong, observation="goal_dict")
    assert ClosingEnv.closed == 3
