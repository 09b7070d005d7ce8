"""``benchmarks/dsrl_na_cost.py``: the base-policy calls it counts and where it says an update's time goes."""

import pytest
import torch

from benchmarks.dsrl_na_cost import PHASES, measure


@pytest.mark.parametrize("noise_bank", [True, False])
def test_measure_counts_the_base_calls_and_splits_the_update_time_into_its_phases(noise_bank: bool) -> None:
    torch.set_num_threads(1)
    row = measure("DSRL-MetaWorld-push-flow-v0", noise_bank, updates=2, warmup=40, overrides={"batch_size": 16, "n_noise_samples": 2})
    assert row["encoded_states_per_update"] == row["expected"]["encoded_states"]
    assert row["decoded_noises_per_update"] == row["expected"]["decoded_noises"]
    shares = row["phase_shares"]
    assert set(shares) == {*PHASES, "other"}
    # every phase ran inside the timed updates, and the named phases do not overlap
    assert all(shares[phase] > 0 for phase in PHASES)
    assert 0 <= shares["other"] < 1 and sum(shares.values()) == pytest.approx(1.0)
