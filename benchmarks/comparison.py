"""What a comparison runs and where it writes: :class:`Budget` and :class:`Comparison`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["FULL", "QUICK", "QUICK_YAML", "RESULTS", "Budget", "Comparison"]

RESULTS = Path(__file__).resolve().parent / "results"
QUICK_YAML = Path(__file__).with_name("quick.yml")


@dataclass(frozen=True)
class Budget:
    """What one run may spend and how it is measured.

    Attributes:
        env_steps: inner env steps of training (all envs together).
        eval_episodes: episodes of each point of the learning curve.
        final_episodes: episodes of the final evaluation.
        n_evals: points of the learning curve.
    """

    env_steps: int
    eval_episodes: int = 50
    final_episodes: int = 200
    n_evals: int = 15


FULL = Budget(150_000, eval_episodes=50, final_episodes=200, n_evals=15)
QUICK = Budget(1_500, eval_episodes=4, final_episodes=10, n_evals=3)


@dataclass
class Comparison:
    """Methods x seeds on one env id, writing under ``out / env_id``."""

    env_id: str
    methods: list[str]
    seeds: list[int]
    budget: Budget
    out: Path
    config: Path | None = None
    progress: bool = True
    command: str = "benchmarks.compare.run_comparison (Python API)"
    """How the comparison was started, recorded in every result."""

    @property
    def directory(self) -> Path:
        return self.out / self.env_id

    def result_path(self, method: str, seed: int) -> Path:
        return self.directory / f"{method}_s{seed}.json"

    def run_dir(self, method: str, seed: int) -> Path:
        return self.directory / "runs" / f"{method}_s{seed}"
