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


def test_recorded_seeds_come_back_only_for_the_same_steps_and_config(tmp_path) -> None:
    import json

    from benchmarks.lift import recorded_seeds

    config = tmp_path / "variant.yml"
    config.write_text("DSRL-X-v0: {gradient_steps: 2}\n")
    result = aggregate("DSRL-X-v0", "sac", 100, [_summary(0, 0.4, 0.6, False), _summary(1, 0.5, 0.9, False)], config)
    results_file = tmp_path / "lift.json"
    results_file.write_text(json.dumps(result))
    recorded = recorded_seeds(results_file, 100, config)
    assert sorted(recorded) == [0, 1]
    # A recorded seed is a summary the aggregate takes back unchanged.
    again = aggregate("DSRL-X-v0", "sac", 100, list(recorded.values()), config)
    assert again["final_success_mean"] == pytest.approx(result["final_success_mean"])
    assert recorded_seeds(results_file, 200, config) == {}
    config.write_text("DSRL-X-v0: {gradient_steps: 4}\n")
    assert recorded_seeds(results_file, 100, config) == {}
    assert recorded_seeds(tmp_path / "missing.json", 100, None) == {}
