"""Ctrl-C during a CLI run: during the warm-up it says no checkpoint exists; during training it leaves one that resumes."""

import json
import signal
import subprocess
import sys
import time

import pytest
import yaml

ENV_ID = "DSRL-PushT-flow-v0"




def _interrupt(tmp_path, config, marker: str, name: str) -> tuple[int, str]:
    path = tmp_path / f"{name}.log"
    args = ["train", ENV_ID, "--config", str(config), "--steps", "100000", "--out", str(tmp_path / name), "--no-video", "--final-episodes", "2"]
    with open(path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "latent_mdp.sb3.cli", *args], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 240
        while marker not in path.read_text():
            assert time.monotonic() < deadline and process.poll() is None, path.read_text()
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=120)
    return code, path.read_text()


@pytest.mark.slow
def test_ctrl_c_in_warmup_and_in_training(tmp_path) -> None:
    config = tmp_path / "c.yml"
    entry = {"n_envs": 2, "warmup_steps": 100_000, "eval_freq": 100_000, "batch_size": 16, "gradient_steps": 1,
             "buffer_size": 4000, "policy_kwargs": {"net_arch": [16]}}  # fmt: skip
    config.write_text(yaml.safe_dump({ENV_ID: entry}))
    code, out = _interrupt(tmp_path, config, "Gaussian warm-up:", "warm")
    assert code == 130 and "no checkpoint exists yet" in out
    assert not (tmp_path / "warm" / "checkpoint").exists()

    config.write_text(yaml.safe_dump({ENV_ID: {**entry, "warmup_steps": 20}}))
    code, out = _interrupt(tmp_path, config, "train:", "run")
    assert code == 130 and "saved a checkpoint at" in out
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["timesteps"] > 0
