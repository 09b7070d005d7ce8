"""Expert demonstrations round-trip through LeRobot's own dataset writer and reader."""

import numpy as np
import pytest
from lerobot.datasets.lerobot_dataset import LeRobotDataset

from latent_mdp.builders.pusht_demos import (
    REPO_ID,
    STATE_KEY,
    TASK,
    action_chunks,
    load_bc_arrays,
    record_demos,
)


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    root = tmp_path_factory.mktemp("demos") / "pusht"
    stats = record_demos(root, episodes=2, seed=0)
    return root, stats


def test_lerobot_reader_sees_the_recorded_episodes(demos):
    root, stats = demos
    dataset = LeRobotDataset(REPO_ID, root=root)
    assert (dataset.num_episodes, dataset.num_frames, dataset.fps) == (2, stats.frames, 10)
    assert stats.attempts == 2
    frame = dataset[0]
    assert frame["observation.image"].shape == (3, 96, 96)
    assert 0.0 <= float(frame["observation.image"].min()) <= float(frame["observation.image"].max()) <= 1.0
    assert frame["observation.state"].shape == (2,)
    assert frame["observation.environment_state"].shape == (16,)
    assert frame[STATE_KEY].shape == (5,)
    assert frame["action"].shape == (2,)
    assert frame["task"] == TASK
    np.testing.assert_allclose(frame["observation.state"], frame[STATE_KEY][:2])


def test_bc_arrays_round_trip(demos):
    root, stats = demos
    data = load_bc_arrays(root, chunk_size=8)
    n = stats.frames
    assert data.states.shape == (n, 5) and data.action_chunks.shape == (n, 8, 2)
    assert data.episode_bounds[0, 0] == 0 and data.episode_bounds[-1, 1] == n
    ends = data.episode_bounds[:, 1] - 1
    assert np.flatnonzero(data.dones).tolist() == ends.tolist()
    assert np.all((data.rewards >= 0.0) & (data.rewards <= 1.0))
    np.testing.assert_allclose(data.rewards[ends], 1.0)  # every kept episode ends in success
    # A chunk that runs past its episode's end repeats the last action.
    last = data.action_chunks[ends[0]]
    np.testing.assert_array_equal(last, np.repeat(last[:1], 8, axis=0))
    np.testing.assert_array_equal(data.action_chunks[ends[0] - 1, 0], data.action_chunks[ends[0] - 2, 1])


def test_action_chunks_never_cross_episodes():
    actions = np.arange(10, dtype=np.float32).reshape(5, 2)
    chunks = action_chunks(actions, np.array([[0, 2], [2, 5]]), chunk_size=3)
    np.testing.assert_array_equal(chunks[1, :, 0], [2, 2, 2])
    np.testing.assert_array_equal(chunks[2, :, 0], [4, 6, 8])
    np.testing.assert_array_equal(chunks[4, :, 0], [8, 8, 8])


def test_dart_noise_perturbs_execution_but_records_the_clean_expert_action(tmp_path):
    from latent_mdp.tasks.pusht.expert import PushTExpert

    root = tmp_path / "dart"
    record_demos(root, episodes=1, seed=3, action_noise=20.0)
    data = load_bc_arrays(root, chunk_size=1)
    expert = PushTExpert()
    expert.reset()
    replayed = np.stack([expert.act(state.astype(np.float64)) for state in data.states])
    np.testing.assert_allclose(data.action_chunks[:, 0], replayed, atol=1e-3)  # labels: the expert's own actions
    # ... while the executed actions were perturbed: the same seed without noise moves differently.
    record_demos(tmp_path / "clean", episodes=1, seed=3)
    clean = load_bc_arrays(tmp_path / "clean", chunk_size=1)
    n = min(len(clean.states), len(data.states))
    assert np.abs(clean.states[1:n, :2] - data.states[1:n, :2]).max() > 5.0
