import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import SyncVectorEnv
from stable_baselines3.common.vec_env import DummyVecEnv

from latent_mdp import LatentActionVecEnv, LatentActionVectorEnv, LatentActionWrapper
from tests.toy import AnalyticPolicy, LineEnv

H, A, N = 4, 2, 3


def line_env(max_steps: int = 10) -> gym.Env:
    return gym.wrappers.TimeLimit(LineEnv(action_dim=A), max_steps)


def test_vec_env_matches_single_wrappers_with_one_policy_call_per_chunk() -> None:
    policy = AnalyticPolicy(H, A)
    vec = LatentActionVecEnv([line_env for _ in range(N)], policy, action_horizon=3)
    singles = DummyVecEnv([lambda: LatentActionWrapper(line_env(), AnalyticPolicy(H, A), action_horizon=3) for _ in range(N)])
    vec.seed(5)
    singles.seed(5)
    obs_vec, obs_single = vec.reset(), singles.reset()
    np.testing.assert_array_equal(obs_vec, obs_single)
    rng = np.random.default_rng(0)
    for _ in range(8):  # 24 inner steps: every episode of 10 steps ends mid-chunk twice
        u = rng.uniform(-1, 1, size=(N, A)).astype(np.float32)
        o1, r1, d1, i1 = vec.step(u)
        o2, r2, d2, i2 = singles.step(u)
        np.testing.assert_allclose(o1, o2, rtol=1e-6)
        np.testing.assert_allclose(r1, r2, rtol=1e-5)
        np.testing.assert_array_equal(d1, d2)
        for a, b in zip(i1, i2):
            assert a["inner_steps"] == b["inner_steps"]
            if "terminal_observation" in b:
                np.testing.assert_allclose(a["terminal_observation"], b["terminal_observation"], rtol=1e-6)
                assert a["TimeLimit.truncated"] == b["TimeLimit.truncated"] is True
    assert policy.decode_calls == 8
    assert policy.encode_calls == 9  # one reset + one per step, for all N envs at once


def test_termination_is_not_reported_as_a_time_limit() -> None:
    vec = LatentActionVecEnv([lambda: LineEnv(goal=-1e9, action_dim=A)], AnalyticPolicy(H, A))
    vec.reset()
    _, _, dones, infos = vec.step(np.zeros((1, A), dtype=np.float32))
    assert dones[0] and infos[0]["inner_steps"] == 1
    assert infos[0]["TimeLimit.truncated"] is False
    assert infos[0]["terminal_observation"][2] == 1  # the last observation, not the reset one
    np.testing.assert_array_equal(infos[0]["next_env_observation"], infos[0]["terminal_observation"])
    _, _, _, infos = vec.step(np.zeros((1, A), dtype=np.float32))
    assert infos[0]["env_observation"][2] == 0  # the next latent step starts from the reset observation


def test_terminal_observation_carries_features_in_policy_mode() -> None:
    vec = LatentActionVecEnv([lambda: line_env(max_steps=2)], AnalyticPolicy(H, A), obs_mode="both")
    vec.reset()
    _, _, dones, infos = vec.step(np.zeros((1, A), dtype=np.float32))
    terminal = infos[0]["terminal_observation"]
    assert dones[0] and set(terminal) == {"observation", "policy_features"}
    np.testing.assert_allclose(terminal["policy_features"], [terminal["observation"][0], 2 * terminal["observation"][0]])


def test_wrong_batch_shape_raises() -> None:
    vec = LatentActionVecEnv([line_env, line_env], AnalyticPolicy(H, A))
    vec.reset()
    with pytest.raises(ValueError, match=r"must have shape \(2, 2\)"):
        vec.step(np.zeros((3, A), dtype=np.float32))


def test_gymnasium_vector_env_same_step_autoreset_over_a_sync_vector_env() -> None:
    source = SyncVectorEnv([lambda: line_env(max_steps=6) for _ in range(2)])
    vec = LatentActionVectorEnv(source, AnalyticPolicy(H, A))
    obs, infos = vec.reset(seed=3)
    assert obs.shape == (2, 3) and vec.action_space.shape == (2, A)
    obs, rewards, terminated, truncated, infos = vec.step(np.zeros((2, A), dtype=np.float32))
    assert not truncated.any() and "final_obs" not in infos
    obs, rewards, terminated, truncated, infos = vec.step(np.zeros((2, A), dtype=np.float32))
    assert truncated.all() and not terminated.any()
    assert infos["_final_obs"].all()
    assert [o[2] for o in infos["final_obs"]] == [6, 6]
    assert (obs[:, 2] == 0).all()  # already reset
    np.testing.assert_array_equal(infos["final_info"]["inner_steps"], [2, 2])  # the step info of a finished env
    assert "start" in infos  # its reset info


def test_gymnasium_vector_env_pads_chunks_cut_at_different_steps() -> None:
    vec = LatentActionVectorEnv([lambda: line_env(max_steps=1), lambda: line_env(max_steps=3)], AnalyticPolicy(H, A))
    vec.reset(seed=0)
    _, _, _, truncated, infos = vec.step(np.zeros((2, A), dtype=np.float32))
    assert truncated.all()
    executed = infos["final_info"]["executed_actions"]
    assert executed.shape == (2, H, A)
    np.testing.assert_array_equal(np.isnan(executed[:, :, 0]).sum(axis=1), [H - 1, H - 3])
