"""MetaWorld scripted-policy demonstrations as a local LeRobotDataset.

    HF_HUB_OFFLINE=1 python -m latent_mdp.builders.metaworld_demos --task push --episodes 200 --out data/metaworld_push_demos

The dataset is written by LeRobot 0.6.1's own writer, at 80 fps (MetaWorld's control rate),
with repo id ``local/metaworld_<task>_demos``, never pushed. Frame ``t`` holds:

=====================  ==============  ==========================================================
key                    dtype, shape    content
=====================  ==============  ==========================================================
``observation.state``  float32 (39,)   the full state of :class:`~latent_mdp.tasks.metaworld.env.MetaWorldStateEnv`
``action``             float32 (4,)    the scripted policy's clean action in ``[-1, 1]``
``next.reward``        float32 (1,)    the env's reward after the step (1 at success with ``"success"``)
``next.success``       bool (1,)       MetaWorld's success after the step
``next.done``          bool (1,)       last frame of the episode
=====================  ==============  ==========================================================

plus LeRobot's own index columns and the task string (LeRobot's description of the task).
With ``action_noise`` (DART) the env executes the action plus Gaussian noise while the frame
keeps the clean action. Only successful episodes are kept unless ``keep_failures``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np

from latent_mdp.builders.demo_recording import RecordStats, record_episodes
from latent_mdp.tasks.metaworld.env import MAX_EPISODE_STEPS, MetaWorldStateEnv
from latent_mdp.tasks.metaworld.expert import roll_out_expert, scripted_policy

__all__ = ["FPS", "STATE_KEY", "metaworld_features", "record_metaworld_demos", "repo_id", "task_description"]

FPS = 80
STATE_KEY = "observation.state"


def repo_id(task: str) -> str:
    """The local repo id of ``task``'s demos (a label; nothing is pushed or downloaded)."""
    return f"local/metaworld_{task}_demos"


def task_description(task: str) -> str:
    """LeRobot's language description of a MetaWorld task, e.g. ``"Push the puck to a goal"``."""
    from lerobot.envs.metaworld import TASK_DESCRIPTIONS

    return TASK_DESCRIPTIONS[f"{task.removesuffix('-v3')}-v3"]


def metaworld_features() -> dict[str, dict]:
    """The LeRobotDataset features of a MetaWorld state-demo dataset."""
    return {
        STATE_KEY: {"dtype": "float32", "shape": (39,), "names": None},
        "action": {"dtype": "float32", "shape": (4,), "names": ["dx", "dy", "dz", "gripper"]},
        "next.reward": {"dtype": "float32", "shape": (1,), "names": None},
        "next.success": {"dtype": "bool", "shape": (1,), "names": None},
        "next.done": {"dtype": "bool", "shape": (1,), "names": None},
    }


def record_metaworld_demos(
    task: str,
    out: str | Path,
    episodes: int,
    *,
    seed: int = 0,
    action_noise: float = 0.0,
    keep_failures: bool = False,
    progress: bool = False,
) -> RecordStats:
    """Write ``episodes`` scripted-policy demonstrations of ``task`` to a new LeRobotDataset at ``out``.

    Attempts use seeds ``seed, seed + 1, ...``; unless ``keep_failures`` a failed attempt is
    dropped and the next seed tried, so every stored episode succeeds.

    Raises:
        RuntimeError: after ``10 * episodes`` attempts without enough successes (a scripted
            policy that rarely succeeds under this ``action_noise``).
    """
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    description = task_description(task)
    env = gym.wrappers.TimeLimit(MetaWorldStateEnv(task), MAX_EPISODE_STEPS)
    expert = scripted_policy(task)
    dataset = LeRobotDataset.create(
        repo_id=repo_id(task), fps=FPS, features=metaworld_features(), root=out, robot_type="sawyer", use_videos=False
    )

    def attempt(episode_seed: int) -> tuple[bool, int]:
        rollout = roll_out_expert(env, expert, episode_seed, action_noise)
        steps = len(rollout.actions)
        for t in range(steps):
            last = t == steps - 1
            dataset.add_frame(
                {
                    STATE_KEY: rollout.observations[t],
                    "action": rollout.actions[t],
                    "next.reward": rollout.rewards[t : t + 1],
                    "next.success": np.array([last and rollout.success], dtype=bool),
                    "next.done": np.array([last], dtype=bool),
                    "task": description,
                }
            )
        return rollout.success, steps

    return record_episodes(
        dataset, env, episodes, attempt, seed=seed, keep_failures=keep_failures, desc=f"metaworld {task} demos", progress=progress
    )


def main() -> None:
    """Command line: ``python -m latent_mdp.builders.metaworld_demos --task push --episodes 200 --out DIR``."""
    parser = argparse.ArgumentParser(description="Write MetaWorld scripted-policy demonstrations as a local LeRobotDataset.")
    parser.add_argument("--task", default="push")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None, help="default: data/metaworld_<task>_demos")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first attempt; later ones count up")
    parser.add_argument("--action-noise", type=float, default=0.0, help="DART: std of noise on executed actions; labels stay clean")
    parser.add_argument("--keep-failures", action="store_true")
    parser.add_argument("--overwrite", action="store_true", help="delete --out first if it exists")
    args = parser.parse_args()

    import datasets

    out = args.out or Path(f"data/metaworld_{args.task}_demos")
    datasets.disable_progress_bars()
    if out.exists():
        if not args.overwrite:
            parser.error(f"{out} exists; pass --overwrite to replace it")
        shutil.rmtree(out)
    stats = record_metaworld_demos(
        args.task, out, args.episodes, seed=args.seed, action_noise=args.action_noise, keep_failures=args.keep_failures, progress=True
    )
    print(f"wrote {stats.episodes} episodes, {stats.frames} frames to {out} ({stats.attempts} attempts) in {stats.seconds:.1f} s")


if __name__ == "__main__":
    main()
