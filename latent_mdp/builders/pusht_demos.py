"""Scripted PushT demonstrations as a local LeRobotDataset, and a loader of them for behaviour cloning.

Generate (offline; the output directory must not exist yet unless ``--overwrite``)::

    HF_HUB_OFFLINE=1 python -m latent_mdp.builders.pusht_demos --episodes 500 --out data/pusht_demos

The dataset is written by LeRobot 0.6.1's own writer (``LeRobotDataset.create``, ``add_frame``,
``save_episode``, ``finalize``), at 10 fps, with repo id ``local/pusht_demos`` and never pushed.
Each frame ``t`` holds the observation before step ``t``, the action taken, and its outcome:

=================================  =================  ====================================================
key                                dtype, shape       content
=================================  =================  ====================================================
``observation.image``              image (96, 96, 3)  gym-pusht's 96 px ``pixels`` (stored as PNG in parquet)
``observation.state``              float32 (2,)       ``agent_pos`` (x, y)
``observation.environment_state``  float32 (16,)      gym-pusht's ``environment_state``: the 8 T keypoints
``pusht_state``                    float32 (5,)       ``[agent_x, agent_y, block_x, block_y, block_angle]``,
                                                      gym-pusht's ``obs_type="state"`` observation
``action``                         float32 (2,)       absolute agent target in ``[0, 512]``
``next.reward``                    float32 (1,)       ``clip(coverage / 0.95, 0, 1)`` after the step
``next.success``                   bool (1,)          coverage > 0.95 after the step
``next.done``                      bool (1,)          last frame of the episode
=================================  =================  ====================================================

plus LeRobot's own ``timestamp``, ``frame_index``, ``episode_index``, ``index``, ``task_index`` and the
task string :data:`TASK`. The 5-d state is kept outside the ``observation.`` namespace on purpose:
LeRobot's ``dataset_to_policy_features`` turns every ``observation.*`` key into a policy input, so
LeRobot policies trained on this dataset see the usual PushT inputs (image, agent_pos, keypoints),
while state-based learners (the built-in flow MLP, via :func:`load_bc_arrays`) read ``pusht_state``.

Only successful episodes are kept (the expert rarely fails; failures are re-drawn from the next
seed), since BC learns best from successes. Episodes end at success, so ``next.done`` and
``next.success`` are true on exactly the last frame of each episode.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np

from latent_mdp.builders.demo_recording import RecordStats, record_episodes
from latent_mdp.tasks.pusht.expert import PushTExpert

__all__ = [
    "TASK",
    "REPO_ID",
    "FPS",
    "STATE_KEY",
    "pusht_features",
    "record_demos",
    "RecordStats",
    "BCData",
    "action_chunks",
    "load_bc_arrays",
]

TASK = "Push the T-shaped block onto the T-shaped target."
REPO_ID = "local/pusht_demos"
FPS = 10
STATE_KEY = "pusht_state"
"""Dataset key of the 5-d ``[agent_x, agent_y, block_x, block_y, block_angle]`` state."""


def _vector(size: int, names: list[str] | None = None) -> dict:
    """LeRobot feature spec of a float32 vector."""
    return {"dtype": "float32", "shape": (size,), "names": names}


def pusht_features(image_size: int = 96) -> dict[str, dict]:
    """LeRobot feature spec of the demonstrations (see the module docstring)."""
    flag = {"dtype": "bool", "shape": (1,), "names": None}
    return {
        "observation.image": {
            "dtype": "image",
            "shape": (image_size, image_size, 3),
            "names": ["height", "width", "channel"],
        },
        "observation.state": _vector(2, ["x", "y"]),
        "observation.environment_state": _vector(16, [f"{axis}{k}" for k in range(8) for axis in "xy"]),
        STATE_KEY: _vector(5, ["agent_x", "agent_y", "block_x", "block_y", "block_angle"]),
        "action": _vector(2, ["x", "y"]),
        "next.reward": _vector(1),
        "next.success": flag,
        "next.done": flag,
    }


def _observe(env: gym.Env, obs: dict, info: dict) -> dict[str, np.ndarray]:
    """Dataset observation fields from a ``pixels_agent_pos`` observation and the env's info.

    The block pose comes from ``info["block_pose"]`` (angle wrapped to ``[0, 2 pi)`` as the ``state``
    observation does) and the keypoints from gym-pusht's own ``get_keypoints``.
    """
    pusht = env.unwrapped
    agent = np.asarray(obs["agent_pos"], dtype=np.float32)
    x, y, angle = info["block_pose"]
    keypoints = pusht.get_keypoints(pusht._block_shapes).reshape(-1)
    return {
        "observation.image": obs["pixels"],
        "observation.state": agent,
        "observation.environment_state": keypoints.astype(np.float32),
        STATE_KEY: np.array([*agent, x, y, angle % (2 * np.pi)], dtype=np.float32),
    }


def _record_episode(
    dataset, env: gym.Env, expert: PushTExpert, seed: int, task: str, action_noise: float
) -> tuple[bool, int]:
    """Roll the expert out once, adding every frame to ``dataset``'s episode buffer.

    With ``action_noise > 0`` (DART), the env executes the expert's action plus Gaussian noise of
    that std (px), while the frame records the expert's clean action: the demonstrations then
    show how the expert recovers from the small deviations a cloned policy makes.

    Returns:
        (success, number of frames).
    """
    obs, info = env.reset(seed=seed)
    expert.reset()
    rng = np.random.default_rng(seed)
    steps = 0
    while True:
        observation = _observe(env, obs, info)
        action = expert.act(observation[STATE_KEY].astype(np.float64))
        executed = np.clip(action + action_noise * rng.standard_normal(2), 0.0, 512.0) if action_noise else action
        obs, reward, terminated, truncated, info = env.step(executed.astype(np.float32))
        steps += 1
        done = terminated or truncated
        dataset.add_frame(
            {
                **observation,
                "action": action.astype(np.float32),
                "next.reward": np.array([reward], dtype=np.float32),
                "next.success": np.array([info["is_success"]], dtype=bool),
                "next.done": np.array([done], dtype=bool),
                "task": task,
            }
        )
        if done:
            return bool(info["is_success"]), steps


def record_demos(
    out: str | Path,
    episodes: int,
    *,
    seed: int = 0,
    repo_id: str = REPO_ID,
    task: str = TASK,
    keep_failures: bool = False,
    image_size: int = 96,
    action_noise: float = 0.0,
    progress: bool = False,
) -> RecordStats:
    """Write ``episodes`` expert demonstrations to a new LeRobotDataset at ``out``.

    Attempts use seeds ``seed, seed + 1, ...``; unless ``keep_failures``, a failed attempt is
    discarded and the next seed tried, so every stored episode succeeds.

    Raises:
        RuntimeError: after ``10 * episodes`` attempts without enough successes (an
            ``action_noise`` the expert cannot recover from).
    """
    import gym_pusht  # noqa: F401  (registers gym_pusht/PushT-v0)
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset.create(
        repo_id=repo_id, fps=FPS, features=pusht_features(image_size), root=out, robot_type="pusht", use_videos=False
    )
    env = gym.make(
        "gym_pusht/PushT-v0",
        obs_type="pixels_agent_pos",
        observation_width=image_size,
        observation_height=image_size,
    )
    expert = PushTExpert()
    return record_episodes(
        dataset,
        env,
        episodes,
        lambda episode_seed: _record_episode(dataset, env, expert, episode_seed, task, action_noise),
        seed=seed,
        keep_failures=keep_failures,
        desc="pusht demos",
        progress=progress,
    )


@dataclass(frozen=True)
class BCData:
    """Demonstrations as arrays for behaviour cloning; ``N`` frames, ``E`` episodes.

    Attributes:
        states: (N, O) float32 observations (for PushT, ``[agent_x, agent_y, block_x, block_y, block_angle]``).
        action_chunks: (N, H, A) float32; row ``t`` holds actions ``t .. t+H-1`` of its episode, the
            episode's last action repeated past its end.
        episode_bounds: (E, 2) int64 ``[start, end)`` frame ranges of the episodes.
        rewards: (N,) float32 ``next.reward``.
        dones: (N,) bool ``next.done``.
    """

    states: np.ndarray
    action_chunks: np.ndarray
    episode_bounds: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray


def action_chunks(actions: np.ndarray, episode_bounds: np.ndarray, chunk_size: int) -> np.ndarray:
    """(N, H, A) chunks of the (N, A) ``actions``, never crossing an episode end (the last action repeats)."""
    offsets = np.arange(chunk_size)
    chunks = np.empty((len(actions), chunk_size, actions.shape[1]), dtype=actions.dtype)
    for start, end in episode_bounds:
        rows = np.arange(start, end)
        chunks[start:end] = actions[np.minimum(rows[:, None] + offsets, end - 1)]
    return chunks


def load_bc_arrays(root: str | Path, chunk_size: int, repo_id: str = REPO_ID, state_key: str = STATE_KEY) -> BCData:
    """Read a dataset written by :func:`record_demos` (or another with the same ``next.*`` columns) back through LeRobot's reader.

    Args:
        root: the dataset directory (``--out`` of the generating command).
        chunk_size: ``H``, the number of future actions per row of ``action_chunks``.
        repo_id: the repo id it was written with (only a label; nothing is downloaded).
        state_key: the column that becomes ``states`` (PushT's 5-d state by default).
    """
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset(repo_id, root=root)
    columns = [state_key, "action", "episode_index", "next.reward", "next.done"]
    table = dataset.hf_dataset.select_columns(columns).with_format("numpy")[:]
    episodes = table["episode_index"]
    starts = np.flatnonzero(np.r_[True, episodes[1:] != episodes[:-1]])
    bounds = np.stack([starts, np.r_[starts[1:], len(episodes)]], axis=1).astype(np.int64)
    actions = np.asarray(table["action"], dtype=np.float32)
    return BCData(
        states=np.asarray(table[state_key], dtype=np.float32),
        action_chunks=action_chunks(actions, bounds, chunk_size),
        episode_bounds=bounds,
        rewards=np.asarray(table["next.reward"], dtype=np.float32).reshape(-1),
        dones=np.asarray(table["next.done"], dtype=bool).reshape(-1),
    )


def main() -> None:
    """Command line: ``python -m latent_mdp.builders.pusht_demos --episodes 500 --out data/pusht_demos``."""
    parser = argparse.ArgumentParser(description="Write scripted PushT demonstrations as a local LeRobotDataset.")
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--out", type=Path, default=Path("data/pusht_demos"))
    parser.add_argument("--seed", type=int, default=0, help="seed of the first attempt; later ones count up")
    parser.add_argument("--repo-id", default=REPO_ID)
    parser.add_argument("--keep-failures", action="store_true", help="also store episodes that fail")
    parser.add_argument(
        "--action-noise", type=float, default=0.0, help="DART: std (px) of noise on executed actions; labels stay clean"
    )
    parser.add_argument("--overwrite", action="store_true", help="delete --out first if it exists")
    args = parser.parse_args()

    import datasets
    import torch

    torch.set_num_threads(1)
    datasets.disable_progress_bars()  # one "Map" bar per saved episode otherwise
    if args.out.exists():
        if not args.overwrite:
            parser.error(f"{args.out} exists; pass --overwrite to replace it")
        shutil.rmtree(args.out)
    stats = record_demos(
        args.out,
        args.episodes,
        seed=args.seed,
        repo_id=args.repo_id,
        keep_failures=args.keep_failures,
        action_noise=args.action_noise,
        progress=True,
    )
    print(
        f"wrote {stats.episodes} episodes, {stats.frames} frames to {args.out} "
        f"({stats.attempts} attempts) in {stats.seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
