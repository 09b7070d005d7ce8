"""Each tiny LeRobot adapter inside ``LatentActionWrapper`` on PushT: env checkers, SB3 SAC and DSRL-NA."""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3 import SAC
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from agents import DSRLNA
from latent_mdp import LatentActionWrapper
from latent_mdp.builders.lerobot_models import TINY_POLICY_TYPES
from latent_mdp.policies.lerobot import LeRobotNoisePolicy
from tests.lerobot_fixtures import TASK, tiny_checkpoints  # noqa: F401 (fixtures)

gym_pusht = pytest.importorskip("gym_pusht")


def make_env(checkpoint: Path, kind: str, *, obs_mode: str = "env", max_steps: int = 40) -> LatentActionWrapper:
    obs_type = "environment_state_agent_pos" if kind == "diffusion" else "pixels_agent_pos"
    env = gym.make("gym_pusht/PushT-v0", obs_type=obs_type, max_episode_steps=max_steps)
    policy = LeRobotNoisePolicy.from_pretrained(checkpoint, task=TASK)
    return LatentActionWrapper(env, policy, noise="repeat", action_horizon=4, obs_mode=obs_mode)


@pytest.mark.parametrize("kind", TINY_POLICY_TYPES)
def test_wrapper_passes_env_checkers(kind: str, tiny_checkpoints: dict[str, Path]) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is different from the unwrapped version")
        # skip_close_check: it re-creates the env from env.spec, which needs every wrapper to be a
        # gym.utils.RecordConstructorArgs; LatentActionWrapper is not (yet).
        gym_check_env(make_env(tiny_checkpoints[kind], kind), skip_render_check=True, skip_close_check=True)
        sb3_check_env(make_env(tiny_checkpoints[kind], kind, obs_mode="both"), warn=True)


@pytest.mark.parametrize("kind", TINY_POLICY_TYPES)
def test_sac_learns_on_the_wrapped_env(kind: str, tiny_checkpoints: dict[str, Path]) -> None:
    env = make_env(tiny_checkpoints[kind], kind, obs_mode="policy")
    model = SAC(
        "MlpPolicy",
        env,
        learning_starts=32,
        batch_size=16,
        buffer_size=256,
        policy_kwargs={"net_arch": [16, 16]},
        seed=0,
        device="cpu",
    )
    model.learn(total_timesteps=64)
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    _, reward, *_ , info = env.step(action)
    assert np.isfinite(reward) and info["executed_actions"].shape == (4, 2)


@pytest.mark.parametrize("kind", TINY_POLICY_TYPES)
def test_dsrl_na_learns_on_the_wrapped_env(kind: str, tiny_checkpoints: dict[str, Path]) -> None:
    """DSRL-NA stores the inner (pixel) observations and re-encodes them; the actor sees features + state."""
    env = make_env(tiny_checkpoints[kind], kind, obs_mode="both")
    model = DSRLNA(
        "MultiInputPolicy", env, learning_starts=24, batch_size=8, buffer_size=64, gradient_steps=1,
        n_noise_samples=2, n_noise_critic_steps=2, policy_kwargs={"net_arch": [16, 16]}, seed=0,
    )  # fmt: skip
    before = [p.detach().clone() for p in model.chunk_critic.parameters()]
    model.learn(total_timesteps=32)
    stored = model.replay_buffer.observations
    assert set(stored) == set(env.env.observation_space.spaces)  # the inner observation, e.g. pixels
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.chunk_critic.parameters()))
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert np.all(np.abs(action) <= 1.0)
