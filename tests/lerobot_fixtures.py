"""Shared fixtures for the LeRobot adapter tests: tiny offline checkpoints and PushT-like obs.

Import the fixtures into a test module with ``from tests.lerobot_fixtures import *``.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

from latent_mdp.builders.lerobot_models import TINY_POLICY_TYPES, build_tiny_checkpoint
from latent_mdp.policies.lerobot import LeRobotNoisePolicy  # noqa: E402
from latent_mdp.tasks.pusht.stats import pusht_observations as make_obs  # noqa: E402

torch.set_num_threads(1)

__all__ = ["ACTION_SCALE", "TASK", "checkpoint", "make_obs", "noise", "policy", "tiny_checkpoints"]

TASK = "push the T-shaped block onto the target"
ACTION_SCALE = 512.0
"""PushT actions live in [0, 512]: env-unit tolerances are 1e-5 of this range."""


def noise(policy: LeRobotNoisePolicy, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` standard-normal noises ``(n, H, D)`` from a fixed seed."""
    return policy.sample_noise(n, torch.Generator().manual_seed(seed))


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny_lerobot")
    return {kind: build_tiny_checkpoint(kind, root / kind) for kind in TINY_POLICY_TYPES}


@pytest.fixture(params=TINY_POLICY_TYPES)
def checkpoint(request: pytest.FixtureRequest, tiny_checkpoints: dict[str, Path]) -> Path:
    return tiny_checkpoints[request.param]


@pytest.fixture
def policy(checkpoint: Path) -> LeRobotNoisePolicy:
    return LeRobotNoisePolicy.from_pretrained(checkpoint, task=TASK)
