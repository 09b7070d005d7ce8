import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from latent_mdp import LatentActionWrapper, NoiseSpace, latent_discount
from tests.toy import AnalyticPolicy, LineEnv, expected_chunk

H, A = 4, 2


def make(goal: float = 1e9, max_steps: int | None = None, **kwargs) -> LatentActionWrapper:
    env: gym.Env = LineEnv(goal=goal, action_dim=A)
    if max_steps is not None:
        env = gym.wrappers.TimeLimit(env, max_steps)
    return LatentActionWrapper(env, AnalyticPolicy(H, A), **kwargs)


@pytest.mark.parametrize("noise", ["repeat", "full", "knots"])
@pytest.mark.parametrize("obs_mode", ["env", "policy", "both"])
def test_passes_gymnasium_and_sb3_checkers_without_warnings(noise: str, obs_mode: str) -> None:
    space = NoiseSpace(H, A, mode=noise, n_knots=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Gymnasium says this of every gym.Wrapper (the wrapper is not env.unwrapped); nothing else may warn.
        warnings.filterwarnings("ignore", message=".*is different from the unwrapped version")
        gym_check_env(make(noise=space, obs_mode=obs_mode), skip_render_check=True)
        sb3_check_env(make(noise=space, obs_mode=obs_mode), warn=True)


def test_step_executes_the_decoded_chunk() -> None:
    env = make(noise="full", noise_bound=1.0)
    obs, _ = env.reset(seed=0)
    u = np.linspace(-1, 1, H * A).astype(np.float32)
    _, reward, terminated, truncated, info = env.step(u)
    chunk = expected_chunk(env.policy, obs, u.reshape(H, A))
    np.testing.assert_allclose(info["executed_actions"], chunk, rtol=1e-6)
    np.testing.assert_allclose(info["noise"], u.reshape(H, A), rtol=1e-6)
    assert info["inner_steps"] == H and info["steps"] == H
    assert reward == pytest.approx(chunk[:, 0].sum(), rel=1e-5)
    assert not terminated and not truncated


def test_info_carries_the_inner_observations_the_chunk_started_and_stopped_at() -> None:
    env = make(obs_mode="policy")  # the actor sees features; the info keeps the base policy's inputs
    env.reset(seed=0)
    start = env.env.unwrapped._obs()
    for _ in range(2):
        *_, info = env.step(np.zeros(A, dtype=np.float32))
        np.testing.assert_array_equal(info["env_observation"], start)
        np.testing.assert_array_equal(info["next_env_observation"], env.env.unwrapped._obs())
        assert not np.array_equal(info["env_observation"], info["next_env_observation"])
        start = info["next_env_observation"]


def test_action_horizon_executes_a_prefix() -> None:
    env = make(action_horizon=2)
    obs, _ = env.reset(seed=1)
    next_obs, reward, *_ , info = env.step(np.zeros(A, dtype=np.float32))
    assert info["inner_steps"] == 2 and next_obs[2] == 2
    assert reward == pytest.approx(expected_chunk(env.policy, obs, np.zeros((H, A)))[:2, 0].sum(), rel=1e-5)
    assert env.latent_gamma(0.99) == pytest.approx(0.99**2)
    assert latent_discount(0.9, 3) == pytest.approx(0.729)


def test_discounted_reward_weights_each_inner_step() -> None:
    env = make(reward="discounted", gamma=0.5)
    obs, _ = env.reset(seed=2)
    _, reward, *_ = env.step(np.zeros(A, dtype=np.float32))
    rewards = expected_chunk(env.policy, obs, np.zeros((H, A)))[:, 0]
    assert reward == pytest.approx(sum(r * 0.5**i for i, r in enumerate(rewards)), rel=1e-5)


def test_termination_mid_chunk_stops_and_keeps_the_last_observation() -> None:
    env = make()
    _, reset_info = env.reset(seed=3)
    start = reset_info["start"]
    positions = start + np.cumsum(start + np.arange(H))  # the position after each inner step
    env.unwrapped.goal = (positions[1] + positions[2]) / 2  # crossed at the third inner step
    obs, _, terminated, truncated, info = env.step(np.full(A, 0.0, dtype=np.float32))
    assert terminated and not truncated
    assert info["inner_steps"] == 3 and obs[2] == 3
    assert obs[0] == pytest.approx(positions[2], rel=1e-5)


def test_truncation_mid_chunk_stays_truncated() -> None:
    env = make(max_steps=6)
    env.reset(seed=4)
    _, _, terminated, truncated, info = env.step(np.zeros(A, dtype=np.float32))
    assert not truncated and info["inner_steps"] == H
    _, _, terminated, truncated, info = env.step(np.zeros(A, dtype=np.float32))
    assert truncated and not terminated and info["inner_steps"] == 2


def test_same_seed_gives_identical_trajectories() -> None:
    def rollout() -> list[np.ndarray]:
        env = make(noise=NoiseSpace(H, A, mode="knots", n_knots=2))
        env.action_space.seed(7)
        obs, _ = env.reset(seed=11)
        trace = [obs]
        for _ in range(5):
            obs, *_ = env.step(env.action_space.sample())
            trace.append(obs)
        return trace

    first, second = rollout(), rollout()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("obs_mode", ["policy", "both"])
def test_policy_features_reach_the_observation(obs_mode: str) -> None:
    env = make(obs_mode=obs_mode)
    obs, _ = env.reset(seed=5)
    features = obs if obs_mode == "policy" else obs["policy_features"]
    position = env.unwrapped.position
    np.testing.assert_allclose(features, [position, 2 * position], rtol=1e-6)
    if obs_mode == "both":
        assert env.observation_space["observation"] == env.env.observation_space


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_actions_raise(bad: float) -> None:
    env = make()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="NaN or inf"):
        env.step(np.array([0.0, bad], dtype=np.float32))


@pytest.mark.parametrize("shape", [(A + 1,), (1, A), ()])
def test_wrong_action_shape_raises(shape: tuple) -> None:
    env = make()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"must have shape \(2,\)"):
        env.step(np.zeros(shape, dtype=np.float32))


def test_out_of_bound_actions_are_clipped_or_rejected_when_strict() -> None:
    env = make(noise_bound=1.0)
    env.reset(seed=0)
    *_, info = env.step(np.array([3.0, -3.0], dtype=np.float32))
    np.testing.assert_array_equal(info["latent_action"], [1.0, -1.0])
    np.testing.assert_allclose(info["noise"][0], [1.0, -1.0])
    strict = make(strict=True)
    strict.reset(seed=0)
    with pytest.raises(ValueError, match="strict"):
        strict.step(np.array([1.5, 0.0], dtype=np.float32))


def test_executed_actions_are_clipped_to_the_env_action_space() -> None:
    env = LatentActionWrapper(LineEnv(), AnalyticPolicy(chunk_size=200, action_dim=A))
    env.reset(seed=0)
    *_, info = env.step(np.zeros(A, dtype=np.float32))
    assert info["executed_actions"].max() == pytest.approx(100.0)


class WrongShapePolicy(AnalyticPolicy):
    def decode(self, ctx, noise):
        return super().decode(ctx, noise)[:, :-1]


def test_policy_returning_the_wrong_shape_names_the_policy() -> None:
    env = LatentActionWrapper(LineEnv(action_dim=A), WrongShapePolicy(H, A))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="WrongShapePolicy.decode returned actions of shape"):
        env.step(np.zeros(A, dtype=np.float32))


def test_bad_configuration_raises() -> None:
    with pytest.raises(ValueError, match="action_horizon"):
        make(action_horizon=H + 1)
    with pytest.raises(ValueError, match="reward"):
        make(reward="mean")
    with pytest.raises(ValueError, match="does not fit"):
        make(noise=NoiseSpace(H + 1, A))
    with pytest.raises(TypeError, match="NoisePolicy"):
        LatentActionWrapper(LineEnv(), object())
    with pytest.raises(RuntimeError, match="before reset"):
        make().step(np.zeros(A, dtype=np.float32))


def test_checker_close_check_passes_on_a_registered_inner_env() -> None:
    """check_env's close check rebuilds the env from ``env.spec``: the wrapper must be recordable."""
    gym.register("LineEnv-test-v0", entry_point=LineEnv, kwargs={"action_dim": A})
    try:
        env = LatentActionWrapper(gym.make("LineEnv-test-v0"), AnalyticPolicy(H, A), action_horizon=2)
        rebuilt = env.spec.make()
        assert isinstance(rebuilt, LatentActionWrapper) and rebuilt.action_horizon == 2
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*is different from the unwrapped version")
            gym_check_env(env, skip_render_check=True)
    finally:
        del gym.registry["LineEnv-test-v0"]


def test_render_and_close_pass_through() -> None:
    env = LatentActionWrapper(LineEnv(render_mode="rgb_array"), AnalyticPolicy(H, A))
    env.reset(seed=0)
    env.step(np.zeros(A, dtype=np.float32))
    assert env.render().shape == (8, 8, 3) and env.render()[0, 0, 0] == H
    env.close()


def test_decode_is_called_once_per_latent_step_on_one_encoded_context() -> None:
    env = make()
    env.reset(seed=0)
    for _ in range(3):
        env.step(np.zeros(A, dtype=np.float32))
    assert env.policy.decode_calls == 3 and env.policy.encode_calls == 4
    assert torch.get_num_threads() == 1
