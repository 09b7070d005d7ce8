"""``benchmarks/lift.py``'s aggregate: the top-level keys, and only the numbers every seed has."""

import pytest

from benchmarks.lift import aggregate


def _summary(seed: int, base: float, sampled: float, coverage: bool) -> dict:
    def part(rate: float) -> dict:
        return {"success_rate": rate, "mean_return": 10 * rate} | ({"mean_max_coverage": rate / 2} if coverage else {})

    return {"seed": seed, "env_steps": 1000 + seed, "train_seconds": 60.0, "base": part(base), "trained_stochastic": part(sampled)}


@pytest.mark.parametrize("coverage", [True, False])
def test_aggregate_means_over_seeds_with_or_without_a_tracked_maximum(coverage: bool) -> None:
    result = aggregate("DSRL-X-v0", "sac", 100, [_summary(0, 0.4, 0.6, coverage), _summary(1, 0.5, 0.9, coverage)], None)
    assert result["final_success_mean"] == pytest.approx(0.75) and result["base_success_mean"] == pytest.approx(0.45)
    assert result["n_seeds"] == 2 and result["env_steps"] == pytest.approx(1000.5)
    assert set(result["mean"]) == {"base", "trained_stochastic"}  # no seed evaluated the actor's mean
    assert ("mean_max_coverage" in result["mean"]["base"]) is coverage
    assert result["mean"]["trained_stochastic"]["mean_return"] == pytest.approx(7.5)
