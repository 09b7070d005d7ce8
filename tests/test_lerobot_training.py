"""Behaviour cloning of the tiny LeRobot policies: LeRobot-layout data, the policy's own loss, save + reload."""

from __future__ import annotations

import dataclasses
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from latent_mdp.builders.pusht_checkpoints import DEFAULT_STEPS, TRAINERS  # noqa: E402
from latent_mdp.builders.pusht_demos import REPO_ID, TASK, record_demos  # noqa: E402
from latent_mdp.builders.pusht_lerobot_training import RECIPES, load_demo_tensors, train_lerobot_checkpoint  # noqa: E402
from latent_mdp.policies.lerobot import LeRobotNoisePolicy  # noqa: E402
from latent_mdp.tasks.pusht.stats import pusht_observations  # noqa: E402

CARD_KEYS = {"episodes", "frames", "observation", "final_loss", "batch_size"}


@pytest.fixture(scope="module")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("training") / "pusht"
    record_demos(root, episodes=2, seed=0)
    return root


def test_chunks_match_lerobot_delta_timestamps(demos: Path) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    horizon = 8
    data = load_demo_tensors(demos, ["observation.image", "observation.state"], horizon)
    dataset = LeRobotDataset(REPO_ID, root=demos, delta_timestamps={"action": [i / 10 for i in range(horizon)]})
    assert data.frames == dataset.num_frames and data.episodes == 2 and data.task == TASK
    assert set(data.stats) == {"observation.image", "observation.state", "action"}
    for index in (0, 5, data.frames // 2, data.frames - 3, data.frames - 1):
        frame = dataset[index]
        np.testing.assert_allclose(data.actions[index], frame["action"])
        assert torch.equal(data.action_is_pad[index], frame["action_is_pad"])
        np.testing.assert_allclose(data.observations["observation.image"][index] / 255.0, frame["observation.image"], atol=1e-6)
        np.testing.assert_allclose(data.observations["observation.state"][index], frame["observation.state"])



def test_state_quantiles_are_taken_over_all_frames(demos: Path) -> None:
    # pi0.5 normalizes its state by q01 / q99 and then bins it into its prompt: LeRobot's
    # per-episode average of quantiles would squeeze PushT's states into the end bins.
    data = load_demo_tensors(demos, ["observation.state"], 8)
    state = data.observations["observation.state"].numpy()
    for key, level in (("q01", 0.01), ("q50", 0.5), ("q99", 0.99)):
        np.testing.assert_allclose(data.stats["observation.state"][key], np.quantile(state, level, axis=0), rtol=1e-5)


def test_every_lerobot_kind_is_registered_for_regeneration() -> None:
    assert set(RECIPES) <= set(TRAINERS) and set(RECIPES) <= set(DEFAULT_STEPS)


@pytest.mark.parametrize("kind", sorted(RECIPES))
def test_training_saves_a_checkpoint_the_adapter_loads(kind: str, demos: Path, tmp_path: Path) -> None:
    recipe = dataclasses.replace(RECIPES[kind], batch_size=4, warmup_steps=1)
    out = tmp_path / kind
    info = train_lerobot_checkpoint(kind, demos, out, steps=3, recipe=recipe, log_every=0)
    assert CARD_KEYS <= set(info) and np.isfinite(info["final_loss"]) and info["episodes"] == 2
    policy = LeRobotNoisePolicy.from_pretrained(out, task=TASK)
    assert (policy.chunk_size, policy.recommended_action_horizon) == (recipe.chunk_size, recipe.n_action_steps)
    saved = [step.stats["action"] for step in policy.preprocessor.steps if "action" in (getattr(step, "stats", None) or {})]
    expected = load_demo_tensors(
        demos, ["observation.state"], recipe.chunk_size, relative_actions=recipe.relative_actions
    ).stats["action"]
    assert saved and all(np.allclose(np.asarray(s["max"]), expected["max"].numpy()) for s in saved)  # not a default
    obs = pusht_observations(2)
    actions = policy.decode(policy.encode(obs), policy.sample_noise(2, torch.Generator().manual_seed(0)))
    assert actions.shape == (2, recipe.chunk_size, 2) and torch.isfinite(actions).all()


def test_training_reduces_the_diffusion_loss(demos: Path, tmp_path: Path) -> None:
    recipe = dataclasses.replace(RECIPES["diffusion"], batch_size=32, warmup_steps=5)
    first = train_lerobot_checkpoint("diffusion", demos, tmp_path / "a", steps=1, recipe=recipe, log_every=0)
    trained = train_lerobot_checkpoint("diffusion", demos, tmp_path / "b", steps=60, recipe=recipe, log_every=0)
    assert trained["final_loss"] < 0.7 * first["final_loss"]
