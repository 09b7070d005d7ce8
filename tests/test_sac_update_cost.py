"""``benchmarks/sac_update_cost.py``: each variant's actor steps per update, and its ratios to SB3's SAC."""

import pytest
import torch

from benchmarks.sac_update_cost import VARIANTS, measure


def test_measure_runs_every_variant_with_its_delay_on_a_metaworld_id() -> None:
    torch.set_num_threads(1)
    result = measure("DSRL-MetaWorld-push-flow-v0", updates=6, rounds=2, warmup=40)
    rows = result["variants"]
    assert set(rows) == set(VARIANTS)
    expected_actor_steps = {"sb3": 1.0, "delay1": 1.0, "delay2": 1 / 2, "delay3": 1 / 3}
    for name, row in rows.items():
        assert row["actor_steps_per_update"] == pytest.approx(expected_actor_steps[name]), name
        assert len(row["rounds"]) == 2 and row["updates_per_second"] > 0
    assert rows["sb3"]["speedup"] == pytest.approx(1.0)
    assert result["noise_shape"] == [32]
