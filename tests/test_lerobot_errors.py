"""Clear errors from the LeRobot adapters, and DiffusionPolicy's DDPM -> DDIM swap."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import torch

from latent_mdp.builders.lerobot_models import build_tiny_checkpoint
from latent_mdp.policies.lerobot import LeRobotNoisePolicy
from tests.lerobot_fixtures import TASK, make_obs, noise, tiny_checkpoints  # noqa: F401 (fixtures)


def test_hub_id_while_offline_says_pass_a_local_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="offline.*pass a local checkpoint directory"):
        LeRobotNoisePolicy.from_pretrained("lerobot/pi0_base")


def test_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no LeRobot checkpoint directory"):
        LeRobotNoisePolicy.from_pretrained(tmp_path / "nothing" / "here")


@pytest.mark.parametrize(
    ("kind", "gym_key", "lerobot_key"),
    [
        ("pi0", "pixels", "observation.image"),
        ("smolvla", "pixels", "observation.image"),
        ("pi05", "agent_pos", "observation.state"),
        ("diffusion", "agent_pos", "observation.state"),
        ("diffusion", "environment_state", "observation.environment_state"),
    ],
)
def test_missing_input_names_the_expected_key(
    kind: str, gym_key: str, lerobot_key: str, tiny_checkpoints: dict[str, Path]
) -> None:
    policy = LeRobotNoisePolicy.from_pretrained(tiny_checkpoints[kind], task=TASK)
    obs = make_obs(1)
    del obs[gym_key]
    with pytest.raises(KeyError, match=rf"'{re.escape(lerobot_key)}' \(Gymnasium key '{gym_key}'\)"):
        policy.encode(obs)


def test_wrong_state_width_names_the_expected_shape(tiny_checkpoints: dict[str, Path]) -> None:
    policy = LeRobotNoisePolicy.from_pretrained(tiny_checkpoints["pi0"], task=TASK)
    obs = make_obs(1)
    obs["agent_pos"] = obs["environment_state"][:, :5]
    with pytest.raises(ValueError, match=r"'observation\.state' \(Gymnasium key 'agent_pos'\) of shape \(B, 2\)"):
        policy.encode(obs)


@pytest.mark.parametrize("kind", ["pi0", "pi05", "smolvla"])
def test_missing_task_says_how_to_set_it(kind: str, tiny_checkpoints: dict[str, Path]) -> None:
    policy = LeRobotNoisePolicy.from_pretrained(tiny_checkpoints[kind])
    with pytest.raises(ValueError, match=r"language-conditioned.*task='\.\.\.'"):
        policy.encode(make_obs(1))
    policy.task = TASK
    assert policy.encode(make_obs(1)).batch_size == 1


def test_diffusion_needs_no_task(tiny_checkpoints: dict[str, Path]) -> None:
    policy = LeRobotNoisePolicy.from_pretrained(tiny_checkpoints["diffusion"])
    assert policy.encode(make_obs(2)).batch_size == 2


@pytest.mark.parametrize("kind", ["pi0", "diffusion"])
def test_wrong_noise_shape_gives_the_expected_shape(kind: str, tiny_checkpoints: dict[str, Path]) -> None:
    policy = LeRobotNoisePolicy.from_pretrained(tiny_checkpoints[kind], task=TASK)
    ctx = policy.encode(make_obs(2))
    expected = rf"\(B\*K, {policy.chunk_size}, {policy.noise_dim}\) with B = 2"
    for bad in (torch.zeros(2, policy.chunk_size, policy.noise_dim + 1), torch.zeros(3, policy.chunk_size, policy.noise_dim)):
        with pytest.raises(ValueError, match=expected):
            policy.decode(ctx, bad)


def test_ddpm_diffusion_is_swapped_to_ddim_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from diffusers import DDIMScheduler

    directory = build_tiny_checkpoint("diffusion", tmp_path / "ddpm", diffusion_scheduler="DDPM")
    with caplog.at_level(logging.WARNING):
        policy = LeRobotNoisePolicy.from_pretrained(directory)
    assert "swapping in DDIM" in caplog.text
    assert isinstance(policy.policy.diffusion.noise_scheduler, DDIMScheduler)
    ctx, w = policy.encode(make_obs(1)), noise(policy, 1)
    assert torch.equal(policy.decode(ctx, w), policy.decode(ctx, w))
    with pytest.raises(ValueError, match="DDPM.*swap_ddpm_for_ddim=True"):
        LeRobotNoisePolicy.from_pretrained(directory, swap_ddpm_for_ddim=False)
    with pytest.warns(DeprecationWarning, match="swap_ddpm_for_ddim"), pytest.raises(ValueError, match="DDPM"):
        LeRobotNoisePolicy.from_pretrained(directory, strict=True)


def test_array_observations_map_like_lerobot_eval(tiny_checkpoints: dict[str, Path]) -> None:
    pi0 = LeRobotNoisePolicy.from_pretrained(tiny_checkpoints["pi0"], task=TASK)
    with pytest.raises(KeyError, match=r"'observation\.state' \(Gymnasium key 'agent_pos'\)"):
        pi0.encode(make_obs(2)["pixels"])  # a bare image batch is the pixels, and pi0 also needs state
    diffusion = LeRobotNoisePolicy.from_pretrained(tiny_checkpoints["diffusion"])
    with pytest.raises(ValueError, match="pass a dict observation with keys 'agent_pos' and 'environment_state'"):
        diffusion.encode(make_obs(2)["agent_pos"])
