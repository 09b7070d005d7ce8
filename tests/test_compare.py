"""benchmarks/compare.py end to end at tiny budgets: every method, JSONs, plot, table, resume."""

import json

import pytest
import torch
import yaml

from benchmarks.compare import METHODS, Budget, Comparison, main, run_comparison
from benchmarks.compare_report import load_results, steps_to, summary_rows
from benchmarks.overrides import method_entry
from latent_mdp.policies.flow_mlp import FlowMLPConfig, FlowMLPPolicy

ENV_ID = "DSRL-PushT-flow-v0"
BUDGET = Budget(env_steps=160, eval_episodes=2, final_episodes=2, n_evals=2)


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    """An override YAML: a tiny random flow policy (not the shipped one) and tiny networks."""
    root = tmp_path_factory.mktemp("compare")
    torch.manual_seed(0)
    config = FlowMLPConfig(obs_dim=5, action_dim=2, hidden_dim=32, n_layers=2, num_steps=2, action_mean=[256, 256], action_std=[128, 128])
    FlowMLPPolicy(config).save_pretrained(root / "policy")
    entry = {
        "n_envs": 2,
        "warmup_steps": 8,
        "learning_starts": 16,
        "batch_size": 16,
        "buffer_size": 2000,
        "gradient_steps": 1,
        "policy_kwargs": {"net_arch": [16]},
        "env_kwargs": {"policy_path": str(root / "policy")},
    }
    path = root / "tiny.yml"
    path.write_text(yaml.safe_dump({ENV_ID: entry, "dsrl-na": {ENV_ID: {"n_noise_critic_steps": 1}}}))
    return path


def test_method_entries_merge_env_and_method_sections() -> None:
    overrides = {ENV_ID: {"n_envs": 2, "warmup_steps": 8, "env_kwargs": {"policy_path": "p", "noise": "full"}}, "dsrl-na": {ENV_ID: {"n_envs": 3}}}
    assert method_entry(overrides, "dsrl-na", ENV_ID, dsrl=True)["n_envs"] == 3
    assert method_entry(overrides, "sac-raw", ENV_ID, dsrl=False) == {"n_envs": 2, "env_kwargs": {"policy_path": "p"}}


@pytest.mark.slow
def test_every_method_writes_a_result_and_a_finished_comparison_is_skipped(tiny_config, tmp_path, capsys) -> None:
    comparison = Comparison(ENV_ID, list(METHODS), [0], BUDGET, tmp_path, tiny_config, progress=False, command="test")
    results = run_comparison(comparison)
    assert [r["method"] for r in results] == list(METHODS)
    for result in results:
        assert result["curve"] and result["final"]["episodes"] >= BUDGET.final_episodes
        assert result["wall_seconds"] > 0 and result["command"] == "test" and result["machine"]["cpus"]
        assert result["settings"]["budget"]["env_steps"] == BUDGET.env_steps
    trained = {r["method"]: r for r in results if not r["method"].startswith("base")}
    assert all(r["curve"][-1]["env_steps"] >= BUDGET.env_steps * 0.9 for r in trained.values())
    assert trained["dsrl-sac"]["curve"][-1]["success_rate"] == trained["dsrl-sac"]["final"]["success_rate"]
    assert len(trained["dsrl-sac"]["curve"]) >= 2  # periodic evaluations, then the final one
    assert trained["dsrl-sac"]["warmup_latent_steps"] == 8
    directory = tmp_path / ENV_ID
    assert (directory / "compare.png").stat().st_size > 10_000
    assert "DSRL-NA" in (directory / "table.md").read_text()
    assert len(summary_rows(load_results(directory))) == len(METHODS)

    capsys.readouterr()
    again = run_comparison(comparison)  # everything is finished: read back, nothing rerun
    assert [r["finished_at"] for r in again] == [r["finished_at"] for r in results]
    assert capsys.readouterr().out.count("done already") == len(METHODS)

    other = Comparison(ENV_ID, ["base-zero"], [0], Budget(env_steps=320, final_episodes=2), tmp_path, tiny_config, progress=False)
    with pytest.raises(RuntimeError, match="other settings"):
        run_comparison(other)


def test_a_failing_run_does_not_stop_the_others(tiny_config, tmp_path) -> None:
    broken = tmp_path / "broken.yml"
    overrides = yaml.safe_load(tiny_config.read_text())
    broken.write_text(yaml.safe_dump({**overrides, "dsrl-td3": {ENV_ID: {"not_a_td3_argument": 1}}}))
    comparison = Comparison(ENV_ID, ["dsrl-td3", "base-zero"], [0], BUDGET, tmp_path, broken, progress=False)
    with pytest.raises(RuntimeError, match="1 of 2 runs failed(.|\n)*dsrl-td3 seed 0: ValueError(.|\n)*unknown key"):
        run_comparison(comparison)
    assert comparison.result_path("base-zero", 0).exists() and not comparison.result_path("dsrl-td3", 0).exists()
    assert "not_a_td3_argument" in (comparison.run_dir("dsrl-td3", 0) / "error.txt").read_text()


def test_an_interrupted_run_resumes_from_its_checkpoint(tiny_config, tmp_path) -> None:
    comparison = Comparison(ENV_ID, ["sac-raw"], [1], BUDGET, tmp_path, tiny_config, progress=False)
    short = Comparison(ENV_ID, ["sac-raw"], [1], Budget(env_steps=80, eval_episodes=2, final_episodes=2, n_evals=1), tmp_path, tiny_config, progress=False)
    run_comparison(short)  # stands in for the part of the run done before an interruption
    comparison.result_path("sac-raw", 1).unlink()
    first_wall = json.loads((comparison.run_dir("sac-raw", 1) / "wall_seconds.json").read_text())["seconds"]
    (result,) = run_comparison(comparison)
    assert result["curve"][-1]["env_steps"] == BUDGET.env_steps
    assert result["wall_seconds"] > first_wall  # wall time adds up over sessions


def test_cli_quick_defaults(tiny_config, tmp_path) -> None:
    args = [ENV_ID, "--quick", "--methods", "base-noise", "--config", str(tiny_config), "--out", str(tmp_path), "--final-episodes", "2", "--no-progress"]
    assert main(args) == 0
    (result,) = load_results(tmp_path / ENV_ID)
    assert result["seed"] == 0 and result["settings"]["budget"]["env_steps"] == 1_500
    assert "--quick" in result["command"]


def test_steps_to_threshold() -> None:
    curve = [{"env_steps": 0, "success_rate": 0.1}, {"env_steps": 50, "success_rate": 0.6}, {"env_steps": 90, "success_rate": 0.9}]
    assert (steps_to(curve, 0.5), steps_to(curve, 0.8), steps_to(curve[:2], 0.8)) == (50.0, 90.0, None)
