"""Success intervals and the paired difference of two evaluations over the same episodes."""

import numpy as np
import pytest

from latent_mdp.metrics import EpisodeMetrics
from latent_mdp.sb3.envs import make_sb3_vec_env
from latent_mdp.sb3.evaluation import EvalResult, base_actor, evaluate, paired_difference, wilson_interval


def test_wilson_interval_matches_known_values() -> None:
    low, high = wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)
    assert wilson_interval(0, 20)[0] == 0.0 and 0.15 < wilson_interval(0, 20)[1] < 0.17
    with pytest.raises(ValueError, match="at least one episode"):
        wilson_interval(0, 0)


def _result(successes: list[bool]) -> EvalResult:
    return EvalResult(len(successes), float(np.mean(successes)), 0.0, 0.0, episode_success=successes)


def test_paired_difference_uses_the_per_episode_differences() -> None:
    rng = np.random.default_rng(0)
    control = list(rng.random(400) < 0.5)
    treated = [c or r < 0.3 for c, r in zip(control, rng.random(400))]  # never worse, sometimes better
    diff = paired_difference(_result(treated), _result(control))
    d = np.array(treated, float) - np.array(control, float)
    assert diff.difference == pytest.approx(d.mean())
    assert diff.high - diff.low == pytest.approx(2 * 1.959964 * d.std(ddof=1) / 20)
    assert diff.excludes_zero and diff.low > 0
    unpaired_half = 1.959964 * np.sqrt(2 * 0.25 / 400)
    assert (diff.high - diff.low) / 2 < unpaired_half  # pairing removes the shared outcomes
    with pytest.raises(ValueError, match="same episodes"):
        paired_difference(_result(treated[:10]), _result(control))


def test_the_same_seed_gives_the_same_episodes_in_the_same_order() -> None:
    env = make_sb3_vec_env("DSRL-PushT-flow-v0", 4)
    first = evaluate(env, base_actor(env.noise_space, 4, seed=1), 10, seed=0)
    again = evaluate(env, base_actor(env.noise_space, 4, seed=1), 10, seed=0)
    assert first.episode_success == again.episode_success and first.episodes == 10
    diff = paired_difference(first, again)
    assert (diff.difference, diff.low, diff.high) == (0.0, 0.0, 0.0)


def test_the_tracked_metrics_come_from_the_task_preset_or_the_caller() -> None:
    env = make_sb3_vec_env("DSRL-PushT-flow-v0", 2)
    assert env.task_metrics == EpisodeMetrics(success="is_success", maxima=("coverage",))
    preset = evaluate(env, base_actor(env.noise_space, 2, seed=1), 2, seed=0).as_dict()
    assert 0.0 < preset["mean_max_coverage"] <= 1.0
    chosen = evaluate(env, base_actor(env.noise_space, 2, seed=1), 2, seed=0, metrics=EpisodeMetrics(maxima=("n_contacts",)))
    assert set(chosen.mean_max) == {"n_contacts"} and chosen.mean_max["n_contacts"] >= 0
    never = evaluate(env, base_actor(env.noise_space, 2, seed=1), 2, seed=0, metrics=EpisodeMetrics(success="no_such_key"))
    assert never.success_rate == 0.0 and "mean_max_coverage" not in never.as_dict()


def test_episode_metrics_reject_a_bare_string() -> None:
    with pytest.raises(ValueError, match="tuple of info keys"):
        EpisodeMetrics(maxima="coverage")  # type: ignore[arg-type]
