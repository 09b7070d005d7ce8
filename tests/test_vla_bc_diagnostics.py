"""benchmarks/vla_bc_diagnostics.py: its numbers against the same quantities computed another way."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from benchmarks.vla_bc_diagnostics import KEYS, TIMES, diagnose, flow_loss_at, shuffle_state  # noqa: E402
from latent_mdp.builders.lerobot_models import build_tiny_checkpoint  # noqa: E402
from latent_mdp.builders.pusht_demos import REPO_ID, TASK, record_demos  # noqa: E402
from latent_mdp.builders.pusht_lerobot_training import IMAGE_KEY, load_demo_tensors  # noqa: E402
from latent_mdp.policies.lerobot import LeRobotNoisePolicy  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[LeRobotNoisePolicy, Path]:
    root = tmp_path_factory.mktemp("diagnostics")
    record_demos(root / "demos", episodes=1, seed=0)
    path = build_tiny_checkpoint("pi05", root / "pi05", environment_state=True, relative_actions=True)
    return LeRobotNoisePolicy.from_pretrained(path, task=TASK), root / "demos"


def test_flow_loss_at_a_time_is_lerobots_loss_at_that_time(setup: tuple[LeRobotNoisePolicy, Path]) -> None:
    policy, demos = setup
    data = load_demo_tensors(demos, KEYS, policy.chunk_size)
    batch = data.batch(torch.arange(8))
    model = policy.policy.model
    processed = policy.preprocessor(dict(batch))
    images, img_masks = policy.policy._preprocess_images(processed)  # noqa: SLF001
    actions = policy.policy.prepare_action(processed)
    torch.manual_seed(0)
    noise = model.sample_noise(actions.shape, actions.device)
    tokens = processed["observation.language.tokens"]
    masks = processed["observation.language.attention_mask"]
    for t in (0.2, 0.9):
        with torch.no_grad():
            losses = model.forward(images, img_masks, tokens, masks, actions, noise, torch.full((8,), t))
        expected = float(losses[:, :, : policy.action_dim].mean())
        assert flow_loss_at(policy, batch, t) == pytest.approx(expected, rel=1e-5)
    assert model.sample_time.__func__ is type(model).sample_time  # the fixed time does not leak


def test_chunk_errors_are_distances_to_the_demonstrated_actions(setup: tuple[LeRobotNoisePolicy, Path]) -> None:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    policy, demos = setup
    data = load_demo_tensors(demos, KEYS, policy.chunk_size)
    frames = 16
    result = diagnose(policy, data, frames, seed=3)
    index = torch.randint(data.frames, (frames,), generator=torch.Generator().manual_seed(3))
    h = policy.recommended_action_horizon
    dataset = LeRobotDataset(REPO_ID, root=demos, delta_timestamps={"action": [i / 10 for i in range(h)]})
    hold = [
        np.linalg.norm(dataset[int(i)]["action"].numpy() - dataset[int(i)]["observation.state"].numpy(), axis=-1).mean()
        for i in index
    ]
    errors = result["chunk_error_px"]
    assert errors["hold_position_px"] == pytest.approx(float(np.mean(hold)), rel=1e-4)
    assert errors["w_gaussian"] > 0 and errors["w_zero"] > 0 and errors["w_gaussian"] != errors["w_zero"]
    loss = result["flow_loss"]
    assert loss["t"] == list(TIMES)
    assert len(loss["true"]) == len(loss["state_shuffled"]) == len(loss["image_shuffled"]) == len(TIMES)
    assert np.all(np.isfinite(loss["true"] + loss["state_shuffled"] + loss["image_shuffled"]))


def test_shuffling_the_state_keeps_a_relative_policys_target(setup: tuple[LeRobotNoisePolicy, Path]) -> None:
    policy, demos = setup
    assert policy.action_reference.enabled
    data = load_demo_tensors(demos, KEYS, policy.chunk_size)
    batch = data.batch(torch.arange(8))
    perm = torch.tensor([7, 6, 5, 4, 3, 2, 1, 0])
    shuffled = shuffle_state(batch, perm, relative=True)
    for key in ("observation.state", "observation.environment_state"):
        assert torch.equal(shuffled[key], batch[key][perm])
    assert torch.equal(shuffled[IMAGE_KEY], batch[IMAGE_KEY])
    # What the policy learns, the normalized action relative to the state, is unchanged.
    target = policy.preprocessor(dict(batch))["action"]
    assert torch.allclose(policy.preprocessor(dict(shuffled))["action"], target, atol=1e-5)
    assert not torch.allclose(policy.preprocessor(shuffle_state(batch, perm, relative=False))["action"], target)
