"""Normalization statistics of uniform data, for LeRobot checkpoints built without a dataset.

LeRobot's normalizers read per-feature statistics (mean/std, min/max, q01/q99); a checkpoint
built for tests or from scratch has no dataset to compute them from, so it takes those of a
uniform law on the feature's known range.
"""

from __future__ import annotations

import torch

__all__ = ["image_stats", "uniform_stats"]


def uniform_stats(dim: int, low: torch.Tensor | float, high: torch.Tensor | float) -> dict[str, torch.Tensor]:
    """Every statistic of a uniform law on ``[low, high]^dim``, each ``(dim,)``."""
    low, high = torch.ones(dim) * low, torch.ones(dim) * high
    span = high - low
    return {
        "mean": low + span / 2,
        "std": span / 12**0.5,
        "min": low,
        "max": high,
        "q01": low + 0.01 * span,
        "q99": low + 0.99 * span,
    }


def image_stats() -> dict[str, torch.Tensor]:
    """Statistics of RGB frames scaled to ``[0, 1]``, each ``(3, 1, 1)``."""
    return {
        "mean": torch.full((3, 1, 1), 0.5),
        "std": torch.full((3, 1, 1), 0.25),
        "min": torch.zeros(3, 1, 1),
        "max": torch.ones(3, 1, 1),
    }
