"""Read the per-run JSONs of ``benchmarks/compare.py``; draw the learning curves; tabulate the finals.

    from benchmarks.compare_report import load_results, plot_curves, summary_rows, format_table

    results = load_results("benchmarks/results/compare/DSRL-PushT-flow-v0")
    plot_curves(results, "curves.png")
    print(format_table(summary_rows(results)))

Curves are drawn per method: the mean over seeds as a line and the range over seeds (min to max)
as a band, on a common grid of env steps (each seed's curve linearly interpolated, held flat after
its last point). The base policy alone is a dashed flat line.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from benchmarks.methods import METHODS

__all__ = ["MethodSummary", "format_table", "load_results", "plot_curves", "steps_to", "summary_rows", "write_report"]

METRICS = {"success_rate": "success rate (%)", "mean_max_coverage": "mean max coverage (% of target)"}
THRESHOLDS = (0.5, 0.8)
GRID_POINTS = 200


def load_results(directory: str | Path) -> list[dict[str, Any]]:
    """Every ``<method>_s<seed>.json`` in ``directory``, ordered as :data:`METHODS`, then by seed."""
    results = [json.loads(path.read_text()) for path in Path(directory).glob("*_s*.json")]
    order = {method: i for i, method in enumerate(METHODS)}
    return sorted(results, key=lambda r: (order.get(r["method"], len(order)), r["method"], r["seed"]))


def _by_method(results: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        groups[result["method"]].append(result)
    return dict(groups)


def steps_to(curve: Sequence[dict[str, Any]], threshold: float) -> float | None:
    """Env steps of the first curve point with success rate >= ``threshold``, or None."""
    return next((float(row["env_steps"]) for row in curve if row["success_rate"] >= threshold), None)


def _seed_band(runs: Sequence[dict[str, Any]], metric: str, grid: np.ndarray) -> np.ndarray:
    """``(seeds, len(grid))``: each seed's curve interpolated onto ``grid``."""
    rows = []
    for run in runs:
        steps = np.array([row["env_steps"] for row in run["curve"]], dtype=float)
        values = np.array([row[metric] for row in run["curve"]], dtype=float)
        rows.append(np.interp(grid, steps, values))
    return np.array(rows)


def _method_grid(runs: Sequence[dict[str, Any]]) -> np.ndarray:
    """Env steps from the method's first curve point to its last (over all seeds)."""
    first = min(run["curve"][0]["env_steps"] for run in runs)
    last = max(run["curve"][-1]["env_steps"] for run in runs)
    return np.linspace(first, max(last, first + 1), GRID_POINTS)


def plot_curves(results: Sequence[dict[str, Any]], path: str | Path | None = None, title: str = "") -> plt.Figure:
    """Success rate and mean max coverage against env steps, one line and band per method."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    colors = plt.get_cmap("tab10")
    for index, (method, runs) in enumerate(_by_method(results).items()):
        grid = _method_grid(runs)
        label = f"{runs[0]['label']} ({len(runs)} seed{'s' * (len(runs) > 1)})"
        for ax, metric in zip(axes, METRICS):
            values = 100.0 * _seed_band(runs, metric, grid)
            color = colors(index % 10)
            style = {"linestyle": "--"} if method.startswith("base") else {"marker": "o", "markevery": [-1], "markersize": 4}
            ax.plot(grid, values.mean(axis=0), color=color, label=label, **style)
            if len(runs) > 1:
                ax.fill_between(grid, values.min(axis=0), values.max(axis=0), color=color, alpha=0.15, linewidth=0)
    for ax, ylabel in zip(axes, METRICS.values()):
        ax.set_xlabel("env steps (inner PushT steps at 10 Hz; k = thousand)")
        ax.set_ylabel(ylabel)
        ax.set_ylim(-2, 102)
        ax.set_xlim(left=0)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1000:g}k" if x else "0"))
        ax.grid(alpha=0.3)
    axes[0].set_title("success (coverage > 95%)")
    axes[1].set_title("mean max coverage per episode")
    axes[1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small", title="mean; band: min-max over seeds")
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


@dataclass
class MethodSummary:
    """One row of the final table: a method over its seeds."""

    method: str
    label: str
    seeds: int
    success: float
    success_std: float
    coverage: float
    env_steps: float
    steps_to_50: float | None
    """Mean over seeds that got there; None if none did."""
    reached_50: int
    steps_to_80: float | None
    reached_80: int
    wall_seconds: float


def _mean_reached(values: list[float | None]) -> tuple[float | None, int]:
    reached = [v for v in values if v is not None]
    return (float(np.mean(reached)) if reached else None), len(reached)


def summary_rows(results: Sequence[dict[str, Any]]) -> list[MethodSummary]:
    """Final success and coverage (mean over seeds), env steps to 50% / 80% success, wall time."""
    rows = []
    for method, runs in _by_method(results).items():
        success = [r["final"]["success_rate"] for r in runs]
        to_50, n_50 = _mean_reached([steps_to(r["curve"], THRESHOLDS[0]) for r in runs])
        to_80, n_80 = _mean_reached([steps_to(r["curve"], THRESHOLDS[1]) for r in runs])
        rows.append(
            MethodSummary(
                method=method,
                label=runs[0]["label"],
                seeds=len(runs),
                success=float(np.mean(success)),
                success_std=float(np.std(success)),
                coverage=float(np.mean([r["final"]["mean_max_coverage"] for r in runs])),
                env_steps=float(np.mean([r["final"]["env_steps"] for r in runs])),
                steps_to_50=to_50,
                reached_50=n_50,
                steps_to_80=to_80,
                reached_80=n_80,
                wall_seconds=float(np.mean([r["wall_seconds"] for r in runs])),
            )
        )
    return rows


def _steps(value: float | None, reached: int, seeds: int) -> str:
    if value is None:
        return "not reached"
    return f"{value:,.0f}" + (f" ({reached}/{seeds} seeds)" if reached < seeds else "")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def format_table(rows: Sequence[MethodSummary]) -> str:
    """A Markdown table of :func:`summary_rows`."""
    lines = [
        "| method | seeds | success | max coverage | training env steps | steps to 50% | steps to 80% | wall time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.label} | {row.seeds} | {row.success:.1%} ± {row.success_std:.1%} | {row.coverage:.1%} | "
            f"{row.env_steps:,.0f} | {_steps(row.steps_to_50, row.reached_50, row.seeds)} | "
            f"{_steps(row.steps_to_80, row.reached_80, row.seeds)} | {_duration(row.wall_seconds)} |"
        )
    return "\n".join(lines)


def write_report(directory: str | Path, title: str = "") -> str:
    """Write ``compare.png`` and ``table.md`` for the results in ``directory``; return the table."""
    directory = Path(directory)
    results = load_results(directory)
    if not results:
        raise FileNotFoundError(f"no results in {directory}")
    plt.close(plot_curves(results, directory / "compare.png", title=title))
    table = format_table(summary_rows(results))
    (directory / "table.md").write_text(table + "\n")
    return table
