"""The block-pose processor step (``latent_mdp_block_pose``) and the pi0.5 recipe that uses it."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from lerobot.processor.normalize_processor import NormalizerProcessorStep
from lerobot.utils.constants import OBS_LANGUAGE_ATTENTION_MASK, OBS_LANGUAGE_TOKENS

from latent_mdp.builders.lerobot_models import build_random_policy, build_tiny_checkpoint
from latent_mdp.builders.pusht_demos import record_demos
from latent_mdp.builders.pusht_lerobot_training import RECIPES, frame_stats, load_demo_tensors, train_lerobot_checkpoint
from latent_mdp.policies.lerobot import LeRobotNoisePolicy
from latent_mdp.policies.lerobot.tokenizer import load_tokenizer
from latent_mdp.tasks.pusht.block_pose import REGISTRY_NAME, BlockPoseStep, block_pose
from latent_mdp.tasks.pusht.presets import BlockKeypoints
from tests.lerobot_fixtures import TASK, make_obs, noise

torch.set_num_threads(1)


def _pusht_frames(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints ``(n, 16)`` and gym-pusht's own block pose ``(n, 3)`` (x, y, angle) after random pushes."""
    import gym_pusht  # noqa: F401  (registers gym_pusht/PushT-v0)

    env = BlockKeypoints(gym.make("gym_pusht/PushT-v0", obs_type="pixels_agent_pos"))
    rng = np.random.default_rng(seed)
    keypoints, poses = [], []
    try:
        obs, _ = env.reset(seed=seed)
        for _ in range(n):
            block = env.unwrapped.block
            keypoints.append(obs["environment_state"])
            poses.append([*block.position, block.angle])
            obs, *_ = env.step(rng.uniform(100, 400, 2))
    finally:
        env.close()
    return np.asarray(keypoints), np.asarray(poses)


def test_the_pose_is_gym_pushts_block_pose() -> None:
    keypoints, poses = _pusht_frames(40)
    assert np.ptp(np.unwrap(poses[:, 2])) > 0.1, "the pushes must turn the block"
    pose = block_pose(torch.as_tensor(keypoints)).numpy()
    np.testing.assert_allclose(pose[:, 2:], np.stack([np.cos(poses[:, 2]), np.sin(poses[:, 2])], 1), atol=1e-6)
    # The centroid is one fixed point of the block: in the block's frame it never moves.
    c, s = np.cos(poses[:, 2]), np.sin(poses[:, 2])
    offset = pose[:, :2] - poses[:, :2]
    local = np.stack([c * offset[:, 0] + s * offset[:, 1], -s * offset[:, 0] + c * offset[:, 1]], 1)
    np.testing.assert_allclose(local, np.broadcast_to(local[0], local.shape), atol=1e-6)
    assert math.hypot(*local[0]) > 1.0  # not the body position itself: the step needs no gym-pusht geometry


def test_bad_keypoints_are_a_clear_error() -> None:
    with pytest.raises(ValueError, match="8 block keypoints"):
        block_pose(torch.zeros(2, 18))
    with pytest.raises(KeyError, match="environment_state"):
        BlockPoseStep().observation({"observation.state": torch.zeros(1, 2)})
    with pytest.raises(ValueError, match="needs environment_state"):
        build_random_policy("pi05", "/tmp/unused", block_pose=True)


@pytest.fixture(scope="module")
def pose_pi05(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("block_pose")
    return build_tiny_checkpoint("pi05", root / "pi05", environment_state=True, relative_actions=True, block_pose=True)


def test_pi05_reads_six_state_numbers(pose_pi05: Path) -> None:
    policy = LeRobotNoisePolicy.from_pretrained(pose_pi05, task=TASK)
    tokenizer = load_tokenizer(pose_pi05)
    batch = policy.lerobot_batch(make_obs(2, seed=5))
    for row, mask in zip(batch[OBS_LANGUAGE_TOKENS], batch[OBS_LANGUAGE_ATTENTION_MASK]):
        prompt = tokenizer.decode(row[mask.bool()], skip_special_tokens=True)
        assert prompt.endswith(";\nAction: ")
        assert len(prompt.split("State: ")[1].split(";")[0].split()) == 2 + 4
    steps = [type(step) for step in policy.preprocessor.steps]
    assert steps.index(BlockPoseStep) + 1 == steps.index(NormalizerProcessorStep)


def test_the_pose_checkpoint_reloads_and_reads_the_block(pose_pi05: Path, tmp_path: Path) -> None:
    policy = LeRobotNoisePolicy.from_pretrained(pose_pi05, task=TASK)
    saved = policy.save_pretrained(tmp_path / "copy")
    steps = [s["registry_name"] for s in json.loads((saved / "policy_preprocessor.json").read_text())["steps"]]
    assert REGISTRY_NAME in steps
    obs, w = make_obs(2, seed=4), noise(policy, 2, seed=4)
    reloaded = LeRobotNoisePolicy.from_pretrained(saved, task=TASK)
    actions = policy.decode(policy.encode(obs), w)
    torch.testing.assert_close(reloaded.decode(reloaded.encode(obs), w), actions)
    # A turned block (same centroid) changes the prompt, hence the actions.
    points = obs["environment_state"].reshape(2, 8, 2)
    center = points.mean(1, keepdims=True)
    turned = dict(obs, environment_state=(center + (points - center)[..., ::-1] * [1, -1]).reshape(2, 16))
    assert (policy.decode(policy.encode(turned), w) - actions).abs().max() > 1e-4


def test_the_pi05_recipe_normalizes_the_demo_pose(tmp_path: Path) -> None:
    assert RECIPES["pi05"].block_pose
    demos = tmp_path / "demos"
    record_demos(demos, episodes=1, seed=0)
    recipe = dataclasses.replace(RECIPES["pi05"], batch_size=4, warmup_steps=1)
    train_lerobot_checkpoint("pi05", demos, tmp_path / "pi05", steps=1, recipe=recipe, log_every=0)
    policy = LeRobotNoisePolicy.from_pretrained(tmp_path / "pi05", task=TASK)
    (normalizer,) = [s for s in policy.preprocessor.steps if isinstance(s, NormalizerProcessorStep)]
    stats = normalizer.stats["observation.environment_state"]
    keypoints = load_demo_tensors(demos, ["observation.environment_state"], 4).observations["observation.environment_state"]
    expected = frame_stats(block_pose(keypoints))
    for name in ("mean", "std", "q01", "q99"):
        torch.testing.assert_close(torch.as_tensor(stats[name]).float(), expected[name])
