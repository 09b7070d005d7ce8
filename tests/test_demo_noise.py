"""Demonstrations as M^w transitions: the flow sampler inverted, episodes cut into latent steps, symmetric sampling."""

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import SAC
from stable_baselines3.common.buffers import ReplayBuffer

from latent_mdp import LatentActionVecEnv, LatentActionWrapper
from latent_mdp.demo_noise import LatentTransitions, invert_episode
from latent_mdp.envs.registry import expert_episodes
from latent_mdp.sb3.demo_buffer import DemoReplayBuffer
from latent_mdp.sb3.envs import make_sb3_vec_env
from latent_mdp.tasks.pusht.expert import PushTExpert, record_expert_episode
from latent_mdp.tasks.pusht.presets import load_base_policy, make_inner_pusht
from tests.toy import AnalyticPolicy, LineEnv


@pytest.fixture(scope="module")
def flow():
    return load_base_policy("flow")


@pytest.fixture(scope="module")
def expert_episode():
    return record_expert_episode(make_inner_pusht("flow", task_reward="absorbing"), PushTExpert(), seed=7)


def test_inverting_the_shipped_flow_sampler_round_trips_expert_chunks(flow, expert_episode) -> None:
    observations, actions = np.stack(expert_episode.observations[:-1]), expert_episode.actions
    starts = np.arange(0, len(actions) - flow.chunk_size, 4)
    chunks = np.stack([actions[t : t + flow.chunk_size] for t in starts])
    ctx = flow.encode(observations[starts])
    back = flow.decode(ctx, flow.invert(ctx, chunks)).detach().numpy()
    assert np.linalg.norm(back - chunks, axis=-1).max() < 0.05  # px: the discrete sampler, exactly undone
    naive = flow.decode(ctx, flow.invert(ctx, chunks, iterations=1)).detach().numpy()
    assert np.linalg.norm(naive - chunks, axis=-1).mean() > 1.0  # one fixed-point step is the plain backward Euler
    random = flow.decode(ctx, torch.randn(len(starts), flow.chunk_size, 2)).detach().numpy()
    assert np.linalg.norm(random - chunks, axis=-1).mean() > 10.0


@pytest.mark.parametrize("obs_mode", ["env", "policy"])
def test_an_expert_episode_becomes_one_transition_per_latent_step(flow, expert_episode, obs_mode: str) -> None:
    env = LatentActionWrapper(make_inner_pusht("flow", task_reward="absorbing"), flow, noise="full", noise_bound=1.5, action_horizon=4, obs_mode=obs_mode)
    ep = expert_episode
    tr = invert_episode(env.core, ep.observations, ep.actions, ep.rewards, terminated=ep.terminated)
    n = len(ep.actions)
    assert len(tr) == -(-n // 4)
    assert tr.observations.shape == (len(tr), *env.observation_space.shape)
    assert tr.rewards.sum() == pytest.approx(ep.rewards.sum(), rel=1e-5)  # every reward lands in one chunk
    assert ep.terminated and tr.terminated[-1] and not tr.terminated[:-1].any() and not tr.truncated.any()
    np.testing.assert_allclose(tr.next_observations[:-1], tr.observations[1:], rtol=1e-5)
    assert np.abs(tr.actions).max() <= 1.0
    assert 0 < np.median(tr.decode_error) < 20  # px, after clipping the noise at b_w = 1.5
    wide = LatentActionWrapper(make_inner_pusht("flow"), flow, noise="full", noise_bound=8.0, action_horizon=4)
    unclipped = invert_episode(wide.core, ep.observations, ep.actions, ep.rewards, terminated=True)
    assert unclipped.decode_error.max() < 0.05  # no clipping: the demo's chunks exactly


def test_inversion_needs_an_invertible_policy_and_one_plan_per_noise() -> None:
    obs = [np.zeros(3, dtype=np.float32)] * 3
    actions, rewards = np.zeros((2, 2), dtype=np.float32), np.zeros(2)
    env = LatentActionWrapper(LineEnv(), AnalyticPolicy(4, 2), noise="full")
    with pytest.raises(NotImplementedError, match="cannot invert"):
        invert_episode(env.core, obs, actions, rewards, terminated=False)
    held = LatentActionWrapper(LineEnv(), AnalyticPolicy(4, 2), noise="full", action_horizon=2, replans=2)
    with pytest.raises(ValueError, match="replans"):
        invert_episode(held.core, obs, actions, rewards, terminated=False)
    with pytest.raises(ValueError, match="T \\+ 1 observations"):
        invert_episode(env.core, obs[:2], actions, rewards, terminated=False)


def _marked(n: int, obs_dim: int, k: int) -> LatentTransitions:
    """``n`` transitions with reward -7, which no online row of the test has."""
    zeros = lambda *shape: np.zeros(shape, dtype=np.float32)  # noqa: E731
    return LatentTransitions(zeros(n, obs_dim), zeros(n, k), np.full(n, -7.0, np.float32), zeros(n, obs_dim),
                             np.zeros(n, bool), np.zeros(n, bool), zeros(n))  # fmt: skip


def test_demos_fill_their_share_of_every_batch_and_survive_online_data() -> None:
    env = LatentActionVecEnv([LineEnv] * 2, AnalyticPolicy(4, 2), noise="full")
    model = SAC("MlpPolicy", env, replay_buffer_class=DemoReplayBuffer, replay_buffer_kwargs={"demo_fraction": 0.25},
                buffer_size=64, learning_starts=10, batch_size=32, policy_kwargs={"net_arch": [16]}, seed=0)  # fmt: skip
    buffer = model.replay_buffer
    assert buffer.add_demos(_marked(40, 3, 8)) == 40
    model.learn(200)  # wraps the 64-row online buffer several times
    assert buffer.demos.size() == 40 and (buffer.demos.rewards[:40] == -7).all()
    for _ in range(5):
        assert (buffer.sample(32).rewards == -7).sum().item() == 8
    with pytest.raises(ValueError, match="observations"):
        buffer.add_demos(_marked(2, 5, 8))
    with pytest.raises(ValueError, match="demo_fraction"):
        DemoReplayBuffer(10, env.observation_space, env.action_space, demo_fraction=1.0)


def test_expert_episodes_exist_for_the_state_flow_ids_only() -> None:
    (episode,) = expert_episodes("DSRL-PushT-flow-v0", 1, "success", seed=3)
    assert len(episode.observations) == len(episode.actions) + 1 == len(episode.rewards) + 1
    assert episode.rewards.sum() == float(episode.terminated)  # the success reward: 1 at success
    with pytest.raises(ValueError, match="flow"):
        expert_episodes("DSRL-PushT-pi0-v0", 1)


def test_metaworld_expert_episodes_invert_into_the_features_env() -> None:
    """MetaWorld's scripted policy, as demos: the absorbing reward kept, and chunks the shipped base decodes closely."""
    env_id = "DSRL-MetaWorld-push-flow-v0"
    episodes = expert_episodes(env_id, 2, "absorbing", seed=0)
    for episode in episodes:
        steps = len(episode.actions)
        assert len(episode.observations) == steps + 1 and episode.actions.shape == (steps, 4) and episode.terminated
        assert 500 - steps < episode.rewards[-1] <= 501 - steps  # success pays 1 for every step left
    env = make_sb3_vec_env(env_id, 1, task_reward="absorbing", obs_mode="policy")
    parts = [invert_episode(env.core, e.observations, e.actions, e.rewards, terminated=True) for e in episodes]
    transitions = LatentTransitions.concatenate(parts)
    assert len(transitions) == sum(-(-len(e.actions) // env.core.action_horizon) for e in episodes)
    assert transitions.observations.shape == (len(transitions), env.core.policy.feature_dim)
    assert transitions.terminated.sum() == 2 and transitions.decode_error.max() < 0.25  # MetaWorld actions lie in [-1, 1]
    np.testing.assert_allclose(transitions.rewards.sum(), sum(e.rewards.sum() for e in episodes), rtol=1e-5)
    env.close()


def _box(n: int) -> spaces.Box:
    return spaces.Box(-np.inf, np.inf, (n,), np.float32)


def _indexed(first: int, n: int, k: int, ends: dict[int, str]) -> LatentTransitions:
    """``n`` transitions whose observation is their index from ``first`` and whose reward is ``2**index``;
    ``ends`` marks an episode's last transition (by index) as ``"terminated"`` or ``"truncated"``."""
    index = np.arange(first, first + n, dtype=np.float32)[:, None]
    end = lambda kind: np.array([ends.get(i) == kind for i in range(first, first + n)])  # noqa: E731
    return LatentTransitions(index, np.zeros((n, k), np.float32), 2.0 ** index[:, 0], index + 0.5,
                             end("terminated"), end("truncated"), np.zeros(n, np.float32))  # fmt: skip


def _expected_n_step(start: int, ends: dict[int, str], last: int, n: int, gamma: float) -> tuple[float, float, float, float]:
    """Reward sum, next observation, done and discount of the n-step row that starts at ``start``."""
    total, k = 0.0, 0
    while k < n:
        i = start + k
        total += gamma**k * 2.0**i
        k += 1
        if i in ends or i == last:
            break
    i = start + k - 1
    return total, i + 0.5, float(ends.get(i) == "terminated"), gamma**k


def test_n_step_rows_sum_rewards_within_their_episode_in_both_stores() -> None:
    obs = _box(1)
    buffer = DemoReplayBuffer(50, obs, _box(2), n_envs=1, demo_fraction=0.5, n_steps=3, gamma=0.5)
    online_ends = {4: "terminated", 9: "truncated"}  # an episode of 5 steps, one cut by the time limit, one still running
    online = _indexed(0, 12, 2, online_ends)
    for row in range(12):
        done = bool(online.terminated[row] or online.truncated[row])
        infos = [{"TimeLimit.truncated": bool(online.truncated[row])}]
        buffer.add(online.observations[row : row + 1], online.next_observations[row : row + 1], online.actions[row : row + 1],
                   online.rewards[row : row + 1], np.array([done]), infos)  # fmt: skip
    demo_ends = {101: "terminated", 104: "truncated"}  # two demonstrations, of 2 and 3 transitions
    assert buffer.add_demos(_indexed(100, 5, 2, demo_ends)) == 5
    np.random.seed(0)
    batch = buffer.sample(400)
    assert batch.discounts is not None
    rows = zip(batch.observations[:, 0].tolist(), batch.rewards[:, 0].tolist(), batch.next_observations[:, 0].tolist(),
               batch.dones[:, 0].tolist(), batch.discounts[:, 0].tolist())  # fmt: skip
    seen = set()
    for start, reward, next_obs, done, discount in rows:
        start = int(start)
        ends, last = (demo_ends, 104) if start >= 100 else (online_ends, 11)
        expected = _expected_n_step(start, ends, last, 3, 0.5)
        assert (reward, next_obs, done, discount) == pytest.approx(expected), start
        seen.add(start)
    assert (batch.observations[:, 0] >= 100).sum().item() == 200  # half of every batch from the demonstrations
    assert {0, 3, 4, 8, 9, 11, 100, 101, 102, 104} <= seen  # starts before and at every kind of episode end


def test_a_one_step_demo_buffer_samples_as_sb3_replay_buffer() -> None:
    obs, act = _box(1), _box(2)
    ours, sb3 = DemoReplayBuffer(20, obs, act, n_envs=2, demo_fraction=0.0), ReplayBuffer(20, obs, act, n_envs=2)
    rng = np.random.default_rng(0)
    for _ in range(15):
        row = (rng.normal(size=(2, 1)), rng.normal(size=(2, 1)), rng.normal(size=(2, 2)), rng.normal(size=2), rng.random(2) < 0.2,
               [{"TimeLimit.truncated": bool(t)} for t in rng.random(2) < 0.5])  # fmt: skip
        ours.add(*row)
        sb3.add(*row)
    np.random.seed(1)
    a = ours.sample(64)
    np.random.seed(1)
    b = sb3.sample(64)
    assert a.discounts is None and b.discounts is None
    for x, y in zip(a[:5], b[:5]):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="n_steps"):
            DemoReplayBuffer(10, obs, act, n_steps=bad)
