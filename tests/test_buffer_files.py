"""Replay buffers on disk: filled rows only, every buffer class back intact, and resumable DSRL-NA runs."""

import json

import numpy as np
import pytest
import yaml
from stable_baselines3 import SAC

from agents import DSRLNA
from latent_mdp import LatentActionVecEnv
from latent_mdp.demo_noise import LatentTransitions
from latent_mdp.sb3.buffer_files import load_buffer, save_buffer
from latent_mdp.sb3.cli import main
from latent_mdp.sb3.demo_buffer import DemoReplayBuffer
from tests.toy import AnalyticPolicy, LineEnv


def _env(obs_mode: str = "env") -> LatentActionVecEnv:
    return LatentActionVecEnv([LineEnv] * 2, AnalyticPolicy(4, 2), noise="full", obs_mode=obs_mode)


def _same(a, b) -> None:
    if isinstance(a, dict):
        assert set(a) == set(b)
        for key in a:
            _same(a[key], b[key])
    elif isinstance(a, tuple):
        for x, y in zip(a, b):
            _same(x, y)
    else:
        np.testing.assert_array_equal(a, b)


def test_sac_buffer_round_trips_and_writes_only_filled_rows(tmp_path) -> None:
    sizes = {}
    for rows in (100, 400):
        model = SAC("MlpPolicy", _env(), buffer_size=100_000, learning_starts=rows, policy_kwargs={"net_arch": [8]}, seed=0)
        model.learn(rows)  # random warm-up only: the buffer fills, nothing trains
        sizes[rows] = save_buffer(model.replay_buffer, tmp_path / f"b{rows}.pkl")
    original = model.replay_buffer
    preallocated = sum(getattr(original, name).nbytes for name in ("observations", "next_observations", "actions"))
    assert sizes[400] < 0.01 * preallocated  # 200 of 50,000 rows per env column are filled
    assert sizes[400] > 2.5 * sizes[100]  # the file grows with the filled rows
    loaded = load_buffer(tmp_path / "b400.pkl", "cpu")
    assert type(loaded) is type(original) and (loaded.pos, loaded.full) == (original.pos, original.full)
    for name in ("observations", "next_observations", "actions", "rewards", "dones", "timeouts"):
        _same(getattr(loaded, name), getattr(original, name))
    assert loaded.observations.shape == original.observations.shape  # the empty rows are back
    assert loaded.sample(16).observations.shape == (16, 3)


def test_a_full_buffer_and_demos_round_trip(tmp_path) -> None:
    env = _env()
    model = SAC("MlpPolicy", env, buffer_size=64, learning_starts=100, replay_buffer_class=DemoReplayBuffer,
                policy_kwargs={"net_arch": [8]}, seed=0)  # fmt: skip
    zeros = lambda *shape: np.zeros(shape, dtype=np.float32)  # noqa: E731
    demos = LatentTransitions(zeros(5, 3), zeros(5, 8), np.arange(5, dtype=np.float32), zeros(5, 3),
                              np.zeros(5, bool), np.zeros(5, bool), zeros(5))  # fmt: skip
    model.replay_buffer.add_demos(demos)
    model.learn(100)  # wraps the 64 rows
    save_buffer(model.replay_buffer, tmp_path / "b.pkl")
    loaded = load_buffer(tmp_path / "b.pkl")
    assert loaded.full and loaded.demos.size() == 5
    _same(loaded.observations, model.replay_buffer.observations)
    _same(loaded.demos.rewards, model.replay_buffer.demos.rewards)
    for name in ("n_steps", "gamma"):  # as a file written before the buffer took n-step returns
        delattr(model.replay_buffer, name)
    save_buffer(model.replay_buffer, tmp_path / "old.pkl")
    old = load_buffer(tmp_path / "old.pkl")
    assert not hasattr(old, "gamma") and old.sample(16).discounts is None  # one-step targets, as it was trained


def test_dsrl_na_buffer_with_bank_round_trips(tmp_path) -> None:
    model = DSRLNA("MlpPolicy", _env("policy"), learning_starts=30, buffer_size=10_000, batch_size=16,
                   n_noise_samples=3, gradient_steps=1, policy_kwargs={"net_arch": [8]}, seed=0)  # fmt: skip
    model.learn(60)
    save_buffer(model.replay_buffer, tmp_path / "b.pkl")
    loaded = load_buffer(tmp_path / "b.pkl")
    original = model.replay_buffer
    for name in ("observations", "noises", "chunks", "bank"):
        _same(getattr(loaded, name), getattr(original, name))
    assert loaded.bank.chunks.shape == original.bank.chunks.shape
    for name in ("td_steps", "gamma"):  # as a file written before the buffer took n-step returns
        delattr(original, name)
    save_buffer(original, tmp_path / "old.pkl")
    assert load_buffer(tmp_path / "old.pkl").sample(16).discounts is None  # one-step targets, as it was trained


def test_unreadable_buffer_files_name_the_file(tmp_path) -> None:
    bad = tmp_path / "garbage.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="garbage.pkl"):
        load_buffer(bad)


def test_dsrl_na_runs_resume_with_buffer_and_counters(tmp_path) -> None:
    config = tmp_path / "na.yml"
    entry = {"n_envs": 2, "warmup_steps": 20, "eval_freq": 1000, "eval_episodes": 2, "batch_size": 16,
             "gradient_steps": 1, "n_noise_samples": 2, "n_noise_critic_steps": 1, "buffer_size": 2000,
             "policy_kwargs": {"net_arch": [16]}}  # fmt: skip
    config.write_text(yaml.safe_dump({"DSRL-PushT-flow-v0": entry}))
    run = tmp_path / "na"
    args = ["train", "DSRL-PushT-flow-v0", "--algo", "dsrl-na", "--config", str(config), "--out", str(run),
            "--final-episodes", "2", "--no-video"]  # fmt: skip
    assert main([*args, "--steps", "40"]) == 0
    rows = load_buffer(run / "checkpoint" / "replay_buffer.pkl").size()
    assert main([*args, "--steps", "80", "--resume"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["latent_steps"] == 80
    resumed = load_buffer(run / "checkpoint" / "replay_buffer.pkl")
    assert resumed.size() == rows + 40 // 2  # 40 more latent steps over 2 env columns, none lost
