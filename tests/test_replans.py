"""``replans``: one latent action drives several chunks, the base re-planning with the same noise."""

import numpy as np
import pytest
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from agents import DSRLNA
from latent_mdp import LatentActionVecEnv, LatentActionVectorEnv, LatentActionWrapper
from tests.toy import AnalyticPolicy, LineEnv, expected_chunk

H, A, h = 4, 2, 2


def make(goal: float = 1e9, **kwargs) -> LatentActionWrapper:
    return LatentActionWrapper(LineEnv(goal=goal, action_dim=A), AnalyticPolicy(H, A), action_horizon=h, noise="full", **kwargs)


def test_each_replan_decodes_the_same_noise_from_the_new_observation() -> None:
    env = make(replans=3, noise_bound=1.0)
    obs, _ = env.reset(seed=0)
    u = np.linspace(-1, 1, H * A).astype(np.float32)
    w = u.reshape(H, A)
    expected, position = [], float(obs[0])
    for _ in range(3):  # AnalyticPolicy adds the position it was decoded at
        chunk = expected_chunk(env.policy, np.array([position]), w)[:h]
        expected.append(chunk)
        position += float(chunk[:, 0].sum())
    next_obs, reward, terminated, truncated, info = env.step(u)
    executed = np.concatenate(expected)
    np.testing.assert_allclose(info["executed_actions"], executed, rtol=1e-5)
    assert info["inner_steps"] == 3 * h and next_obs[2] == 3 * h
    assert next_obs[0] == pytest.approx(position, rel=1e-5)
    assert reward == pytest.approx(executed[:, 0].sum(), rel=1e-5)
    assert env.policy.decode_calls == 3 and not (terminated or truncated)
    assert env.latent_gamma(0.99) == pytest.approx(0.99 ** (3 * h))


def test_discounted_rewards_continue_across_replans() -> None:
    env = make(replans=2, reward="discounted", gamma=0.5)
    env.reset(seed=1)
    _, reward, *_, info = env.step(np.zeros(H * A, dtype=np.float32))
    rewards = info["executed_actions"][:, 0]
    assert reward == pytest.approx(sum(r * 0.5**i for i, r in enumerate(rewards)), rel=1e-5)


def test_an_episode_ending_in_the_first_chunk_stops_the_replans() -> None:
    env = make(goal=0.5, replans=3)
    env.reset(seed=2)
    _, _, terminated, _, info = env.step(np.ones(H * A, dtype=np.float32))  # the first action already passes the goal
    assert terminated and info["inner_steps"] == 1 and env.policy.decode_calls == 1


def test_the_vector_forms_match_the_single_env() -> None:
    u = np.random.default_rng(0).uniform(-1, 1, (5, 3, H * A)).astype(np.float32)
    single = [make(goal=6.0, replans=2) for _ in range(3)]
    kwargs = {"action_horizon": h, "noise": "full", "replans": 2}
    sb3 = LatentActionVecEnv([lambda: LineEnv(goal=6.0, action_dim=A)] * 3, AnalyticPolicy(H, A), **kwargs)
    gymnasium = LatentActionVectorEnv([lambda: LineEnv(goal=6.0, action_dim=A)] * 3, AnalyticPolicy(H, A), **kwargs)
    sb3.seed(0)
    sb3.reset()
    gymnasium.reset(seed=0)
    for i, env in enumerate(single):
        env.reset(seed=i)
    for step in u:
        _, sb3_rewards, sb3_dones, sb3_infos = sb3.step(step)
        _, gym_rewards, terminated, truncated, _ = gymnasium.step(step)
        for i, env in enumerate(single):
            _, reward, term, trunc, info = env.step(step[i])
            assert sb3_rewards[i] == pytest.approx(reward, rel=1e-5) and gym_rewards[i] == pytest.approx(reward, rel=1e-5)
            assert sb3_infos[i]["inner_steps"] == info["inner_steps"]
            assert bool(sb3_dones[i]) == (term or trunc) == bool(terminated[i] or truncated[i])
            if term or trunc:
                env.reset()
    assert sb3.latent_gamma(0.9) == pytest.approx(0.9 ** (2 * h))


def test_passes_the_sb3_checker() -> None:
    sb3_check_env(make(replans=2), warn=True)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_replans_raise(bad) -> None:
    with pytest.raises(ValueError, match="replans"):
        make(replans=bad)


def test_dsrl_na_rejects_replanned_noise() -> None:
    with pytest.raises(ValueError, match="replans"):
        DSRLNA("MlpPolicy", make(replans=2))


class NaNAfterTwoSteps(LineEnv):
    def step(self, action):
        obs, *rest = super().step(action)
        return (obs * np.nan if self.steps == h else obs), *rest


def test_a_nan_observation_between_replans_raises_before_it_is_encoded() -> None:
    env = LatentActionWrapper(NaNAfterTwoSteps(action_dim=A), AnalyticPolicy(H, A), action_horizon=h, noise="full", replans=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="holds NaN or inf"):
        env.step(np.zeros(H * A, dtype=np.float32))
