"""The training CLI end to end on the shipped flow PushT policy, at a tiny budget."""

import json
import re

import pytest
import yaml

from latent_mdp.sb3.cli import main

ENV_ID = "DSRL-PushT-flow-v0"


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "tiny.yml"
    entry = {
        "n_envs": 2,
        "warmup_steps": 40,
        "eval_freq": 30,
        "eval_episodes": 2,
        "batch_size": 32,
        "gradient_steps": 1,
        "buffer_size": 5000,
        "policy_kwargs": {"net_arch": [32, 32]},
    }
    path.write_text(yaml.safe_dump({ENV_ID: entry}))
    return path


def assert_tensorboard_holds_every_evaluation(run, evaluations: int) -> None:
    """Every periodic evaluation and the final comparison are in the event files, read back by TensorBoard."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = {path.parent for path in (run / "tb").rglob("events.out.tfevents.*")}
    acc = EventAccumulator(str(events))
    acc.Reload()
    assert len(acc.Scalars("eval/success_rate")) == evaluations
    assert len(acc.Scalars("eval_stochastic/success_rate")) == evaluations
    assert len(acc.Scalars("final/base/success_rate")) == 1 and len(acc.Scalars("final/trained/success_rate")) == 1


@pytest.mark.slow
def test_train_resume_eval_and_video(tiny_config, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    args = ["train", ENV_ID, "--algo", "sac", "--config", str(tiny_config), "--out", str(run), "--final-episodes", "2"]
    assert main([*args, "--steps", "120"]) == 0
    first = json.loads((run / "summary.json").read_text())
    assert first["latent_steps"] == 120 and first["env_steps"] > 120
    assert {"base", "trained"} <= set(first) and first["trained"]["episodes"] == 2
    assert len(first["eval_history"]) == 2  # every 30 vector steps of 2 envs
    assert list((run / "videos").glob("*.mp4")) and (run / "best_model.zip").exists()
    assert_tensorboard_holds_every_evaluation(run, evaluations=2)
    out = capsys.readouterr().out
    assert "base" in out and "trained" in out

    assert main([*args, "--steps", "120"]) == 2  # a second run into the same dir needs --resume
    assert "--resume" in capsys.readouterr().err

    assert main([*args, "--steps", "180", "--resume"]) == 0
    resumed = json.loads((run / "summary.json").read_text())
    assert resumed["latent_steps"] == 180 and resumed["env_steps"] > first["env_steps"]
    assert len(resumed["eval_history"]) == 3  # history continued, not restarted
    assert json.loads((run / "checkpoint" / "state.json").read_text())["train_seconds"] >= first["train_seconds"]
    assert resumed["train_seconds"] > first["train_seconds"]  # both segments counted

    video = tmp_path / "episode.mp4"
    assert main(["eval", ENV_ID, "--model", str(run / "final_model.zip"), "--episodes", "2", "--video", str(video)]) == 0
    assert video.stat().st_size > 1000
    assert "trained" in capsys.readouterr().out


def test_clear_errors(tmp_path, capsys) -> None:
    assert main(["train", ENV_ID, "--steps", "10", "--out", str(tmp_path / "nothing"), "--resume"]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["eval", ENV_ID, "--model", str(tmp_path / "missing.zip")]) == 2
    assert "no saved model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", ENV_ID, "--steps", "10", "--algo", "ppo"])


@pytest.mark.slow
def test_train_on_the_generic_id_with_its_env_from_the_config(tmp_path, capsys) -> None:
    import torch

    from latent_mdp.policies import FlowMLPConfig, FlowMLPPolicy

    torch.manual_seed(0)
    checkpoint = FlowMLPPolicy(FlowMLPConfig(obs_dim=3, action_dim=1, chunk_size=4, hidden_dim=32, n_layers=2)).save_pretrained(tmp_path / "ckpt")
    config = tmp_path / "pendulum.yml"
    entry = {
        "env_kwargs": {"env_id": "Pendulum-v1", "policy_path": str(checkpoint), "noise": "full"},
        "n_envs": 2,
        "warmup_steps": 20,
        "eval_freq": 40,
        "eval_episodes": 2,
        "batch_size": 16,
        "gradient_steps": 1,
        "policy_kwargs": {"net_arch": [16]},
    }
    config.write_text(yaml.safe_dump({"DSRL-v0": entry}))
    run = tmp_path / "run"
    assert main(["train", "DSRL-v0", "--config", str(config), "--out", str(run), "--steps", "80", "--final-episodes", "2"]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["latent_steps"] == 80 and summary["trained"]["episodes"] == 2
    assert summary["trained"]["mean_length"] == 200  # Pendulum's time limit
    assert list((run / "videos").glob("*.mp4"))  # the inner env rebuilt from the config renders
    missing = tmp_path / "missing.yml"
    missing.write_text(yaml.safe_dump({"DSRL-v0": {"n_envs": 1}}))
    assert main(["train", "DSRL-v0", "--config", str(missing), "--out", str(tmp_path / "r2"), "--steps", "10"]) != 0
    assert "needs env_id=" in capsys.readouterr().err


@pytest.mark.slow
def test_the_shipped_metaworld_recipe_trains_with_its_inverted_demonstrations(tmp_path, capsys) -> None:
    from latent_mdp.sb3.buffer_files import load_buffer
    from latent_mdp.sb3.callbacks import BUFFER_FILE, MODEL_FILE
    from latent_mdp.sb3.hyperparams import algorithm_class, load_hyperparams

    env_id = "DSRL-MetaWorld-push-flow-v0"
    assert load_hyperparams(env_id, "sac").demos == {"episodes": 100, "fraction": 0.5}  # shipped
    config = tmp_path / "small.yml"  # the shipped recipe at a tiny size (two demos, small nets, short run), with 3-step returns
    entry = {"demos": {"episodes": 2, "fraction": 0.5}, "n_envs": 2, "warmup_steps": 20, "eval_freq": 1000, "eval_episodes": 2,
             "batch_size": 16, "gradient_steps": 1, "policy_kwargs": {"net_arch": [16]}, "n_steps": 3}
    config.write_text(yaml.safe_dump({env_id: entry}))
    run = tmp_path / "run"
    assert main(["train", env_id, "--config", str(config), "--out", str(run), "--steps", "40", "--final-episodes", "2", "--no-video"]) == 0
    inverted = re.search(r"demos: 2 expert episodes \(2 successful\) -> (\d+) latent transitions", capsys.readouterr().out)
    assert inverted is not None
    buffer = load_buffer(run / "checkpoint" / BUFFER_FILE)
    assert buffer.demos.size() == int(inverted.group(1)) > 0 and buffer.demo_fraction == 0.5  # held apart from the online rows
    model = algorithm_class("sac").load(run / "checkpoint" / MODEL_FILE)
    assert buffer.n_steps == buffer.demos.n_steps == 3 and buffer.gamma == buffer.demos.gamma == model.gamma < 1  # the latent discount
    assert json.loads((run / "summary.json").read_text())["latent_steps"] == 40
