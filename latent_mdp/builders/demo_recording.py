"""The recording loop both suites' demonstration writers share: seeded attempts into a LeRobotDataset.

A suite supplies an ``attempt``: given a seed, it rolls its scripted expert out once and adds every
frame to the dataset's episode buffer (LeRobot's ``add_frame``). :func:`record_episodes` keeps or
drops each attempt, shows progress, gives up with a clear error when the expert succeeds too
rarely, and always closes the env and finalizes the dataset, so an interrupted run leaves a
readable dataset of the episodes saved so far.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["Attempt", "RecordStats", "record_episodes"]

Attempt = Callable[[int], tuple[bool, int]]
"""Rolls the expert out from a seed into the dataset's episode buffer; returns (success, frames)."""


@dataclass(frozen=True)
class RecordStats:
    """What a recording run wrote: saved episodes, their frames, attempts made, wall seconds."""

    episodes: int
    frames: int
    attempts: int
    seconds: float


def record_episodes(
    dataset: Any,
    env: Any,
    episodes: int,
    attempt: Attempt,
    *,
    seed: int = 0,
    keep_failures: bool = False,
    max_attempts_per_episode: int = 10,
    desc: str = "demos",
    progress: bool = False,
) -> RecordStats:
    """Save ``episodes`` episodes of ``attempt`` to ``dataset``, then close ``env`` and finalize ``dataset``.

    Attempts use seeds ``seed, seed + 1, ...``. Unless ``keep_failures``, a failed attempt's frames
    are cleared and the next seed is tried, so every saved episode succeeds.

    Args:
        dataset: a ``LeRobotDataset`` opened for writing (``LeRobotDataset.create``).
        env: the env ``attempt`` steps; closed at the end, whatever happens.

    Raises:
        ValueError: ``episodes`` < 1.
        RuntimeError: ``max_attempts_per_episode * episodes`` attempts without enough successes.
    """
    from tqdm import tqdm

    if episodes < 1:
        raise ValueError(f"episodes must be >= 1; got {episodes}")
    start = time.perf_counter()
    saved = frames = attempts = 0
    bar = tqdm(total=episodes, desc=desc, unit="ep", disable=not progress)
    try:
        while saved < episodes:
            if attempts >= max_attempts_per_episode * episodes:
                raise RuntimeError(
                    f"{desc}: the scripted expert succeeded in {saved} of {attempts} attempts; "
                    "lower its action noise or pass keep_failures=True"
                )
            success, steps = attempt(seed + attempts)
            attempts += 1
            if success or keep_failures:
                dataset.save_episode()
                saved += 1
                frames += steps
            else:
                dataset.clear_episode_buffer()
            bar.set_postfix(frames=frames, failed=attempts - saved, refresh=False)
            bar.update(saved - bar.n)
    finally:
        bar.close()
        env.close()
        dataset.finalize()
    return RecordStats(saved, frames, attempts, time.perf_counter() - start)
