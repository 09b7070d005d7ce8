"""Offline data: a LeRobotDataset written by LeRobot's own writer becomes chunked DSRL-NA transitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents import DSRLNA, load_lerobot_transitions
from latent_mdp import LatentActionWrapper
from tests.test_dsrl_na import SMALL, PeakEnv
from tests.toy import AnalyticPolicy

FEATURES = {
    "observation.state": {"dtype": "float32", "shape": (1,), "names": None},
    "observation.extra": {"dtype": "float32", "shape": (1,), "names": None},
    "action": {"dtype": "float32", "shape": (1,), "names": None},
    "next.reward": {"dtype": "float32", "shape": (1,), "names": None},
    "next.done": {"dtype": "bool", "shape": (1,), "names": None},
}
EPISODES = [(5, True), (4, False)]  # (frames, ends with done): the second is cut without done


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Two episodes; frame t of episode e: state 10e + t, extra -t, action 100e + t, reward t + 1."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = tmp_path_factory.mktemp("lerobot") / "tiny"
    data = LeRobotDataset.create(repo_id="local/tiny", root=root, fps=10, features=FEATURES, use_videos=False)
    for e, (frames, done) in enumerate(EPISODES):
        for t in range(frames):
            data.add_frame(
                {
                    "observation.state": np.array([10 * e + t], np.float32),
                    "observation.extra": np.array([-t], np.float32),
                    "action": np.array([100 * e + t], np.float32),
                    "next.reward": np.array([t + 1], np.float32),
                    "next.done": np.array([done and t == frames - 1]),
                    "task": "tiny",
                }
            )
        data.save_episode()
    data.finalize()
    return LeRobotDataset("local/tiny", root=root)


def test_frames_become_chunks_with_summed_rewards_and_terminal_semantics(dataset) -> None:
    tr = load_lerobot_transitions(dataset, horizon=2, obs_keys=["observation.state", "observation.extra"])
    # Episode 0 (done): a chunk starts at every frame; those reaching frame 4 are terminal.
    # Episode 1 (cut): chunks reaching its last frame have no s' and are dropped.
    np.testing.assert_array_equal(tr.observations, [[0, 0], [1, -1], [2, -2], [3, -3], [4, -4], [10, 0], [11, -1]])
    np.testing.assert_array_equal(tr.next_observations[[0, 1, 2, 5, 6]], [[2, -2], [3, -3], [4, -4], [12, -2], [13, -3]])
    np.testing.assert_array_equal(tr.chunks[..., 0], [[0, 1], [1, 2], [2, 3], [3, 4], [4, 4], [100, 101], [101, 102]])
    np.testing.assert_array_equal(tr.n_steps, [2, 2, 2, 2, 1, 2, 2])
    np.testing.assert_array_equal(tr.rewards, [3, 5, 7, 9, 5, 3, 5])
    np.testing.assert_array_equal(tr.terminated, [False, False, False, True, True, False, False])
    assert tr.chunks.dtype == np.float32 and tr.chunks.shape == (7, 2, 1)

    strided = load_lerobot_transitions(dataset, horizon=2, obs_keys="observation.state", stride=2)
    np.testing.assert_array_equal(strided.observations[:, 0], [0, 2, 4, 10])


@pytest.mark.parametrize("obs_mode", ["env", "policy"])
def test_offline_rows_fill_the_buffer_and_train_the_agent(dataset, obs_mode: str) -> None:
    """Rows hold the dataset's env observations; with "policy" the actor sees their base-policy features."""
    tr = load_lerobot_transitions(dataset, horizon=2, obs_keys="observation.state")
    env = LatentActionWrapper(PeakEnv(), AnalyticPolicy(2, 1), noise="full", obs_mode=obs_mode)
    model = DSRLNA("MlpPolicy", env, batch_size=16, gradient_steps=1, policy_kwargs=SMALL, seed=0)
    assert model.add_offline(tr) == 7
    buffer = model.replay_buffer
    assert buffer.size() == 7
    np.testing.assert_array_equal(buffer.chunks[:7, 0], tr.chunks)
    np.testing.assert_array_equal(buffer.rewards[:7, 0], tr.rewards)
    np.testing.assert_array_equal(buffer.dones[:7, 0], tr.terminated)
    assert not buffer.timeouts[:7].any()
    assert np.isnan(buffer.actions[:7]).all() and np.isnan(buffer.noises[:7]).all()  # no noise: unknown
    sample = buffer.sample(64)
    terminal = np.isin(sample.observations[:, 0], [3.0, 4.0])
    np.testing.assert_array_equal(sample.dones[:, 0].bool().numpy(), terminal)

    before = [p.detach().clone() for p in model.chunk_critic.parameters()]
    model.pretrain_offline(5)  # offline only: no env step taken
    assert model.num_timesteps == 0 and model._n_updates == 5
    assert any(not torch.equal(a, b) for a, b in zip(before, model.chunk_critic.parameters()))

    model.learn(120)  # offline-to-online: the offline rows stay in the buffer
    np.testing.assert_array_equal(buffer.chunks[:7, 0], tr.chunks)
    assert buffer.size() == 7 + 120


def test_offline_rows_fill_every_env_column_of_a_vector_buffer(dataset) -> None:
    from latent_mdp import LatentActionVecEnv

    tr = load_lerobot_transitions(dataset, horizon=2, obs_keys="observation.state")  # 7 rows
    env = LatentActionVecEnv([PeakEnv] * 4, AnalyticPolicy(2, 1), noise="full")
    model = DSRLNA("MlpPolicy", env, policy_kwargs=SMALL, seed=0)
    model.add_offline(tr)
    buffer = model.replay_buffer
    assert buffer.pos == 2  # 7 rows over 4 columns: 2 positions, the last slot repeats row 0
    np.testing.assert_array_equal(buffer.rewards[:2].ravel(), np.r_[tr.rewards, tr.rewards[:1]])


def test_mismatched_offline_data_is_rejected(dataset) -> None:
    tr = load_lerobot_transitions(dataset, horizon=2, obs_keys=["observation.state", "observation.extra"])
    env = LatentActionWrapper(PeakEnv(), AnalyticPolicy(2, 1), noise="full")
    model = DSRLNA("MlpPolicy", env, policy_kwargs=SMALL)
    with pytest.raises(ValueError, match="observations"):
        model.add_offline(tr)
