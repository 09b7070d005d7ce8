"""The shared recording loop, on a real LeRobotDataset: kept and dropped attempts, and giving up."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("lerobot")

from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: E402

from latent_mdp.builders.demo_recording import record_episodes  # noqa: E402

FEATURES = {
    "observation.state": {"dtype": "float32", "shape": (2,), "names": None},
    "action": {"dtype": "float32", "shape": (1,), "names": None},
}


class ClosableEnv:
    closed = False

    def close(self) -> None:
        self.closed = True


def dataset_at(root: Path) -> LeRobotDataset:
    return LeRobotDataset.create(repo_id="local/recording_test", fps=10, features=FEATURES, root=root, use_videos=False)


def episode_of(dataset: LeRobotDataset, seed: int, steps: int) -> None:
    for t in range(steps):
        dataset.add_frame(
            {
                "observation.state": np.array([seed, t], np.float32),
                "action": np.array([seed], np.float32),
                "task": "test",
            }
        )


def test_failed_attempts_are_dropped_and_the_saved_episodes_read_back(tmp_path: Path) -> None:
    dataset, env = dataset_at(tmp_path / "d"), ClosableEnv()

    def attempt(seed: int) -> tuple[bool, int]:  # seeds 1, 3, ... fail; an episode of seed s has s + 2 frames
        episode_of(dataset, seed, seed + 2)
        return seed % 2 == 0, seed + 2

    stats = record_episodes(dataset, env, 3, attempt, seed=0)
    assert (stats.episodes, stats.attempts, stats.frames) == (3, 5, 2 + 4 + 6) and env.closed
    read = LeRobotDataset("local/recording_test", root=tmp_path / "d")
    assert read.num_episodes == 3
    assert sorted({int(row["action"].reshape(-1)[0]) for row in read}) == [0, 2, 4]  # only the successful seeds


def test_an_expert_that_never_succeeds_gives_up_with_a_clear_error(tmp_path: Path) -> None:
    dataset, env = dataset_at(tmp_path / "d"), ClosableEnv()
    calls = []

    def attempt(seed: int) -> tuple[bool, int]:
        calls.append(seed)
        episode_of(dataset, seed, 2)
        return False, 2

    with pytest.raises(RuntimeError, match="succeeded in 0 of 8 attempts"):
        record_episodes(dataset, env, 2, attempt, seed=5, max_attempts_per_episode=4, desc="never")
    assert calls == list(range(5, 13)) and env.closed


def test_a_nonpositive_episode_count_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        record_episodes(dataset_at(tmp_path / "d"), ClosableEnv(), 0, lambda seed: (True, 1))
