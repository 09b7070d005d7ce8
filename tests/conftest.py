"""Test-wide settings: single-threaded torch (small ops stall at the OpenMP barrier otherwise), no hub, and MuJoCo's OpenGL backend."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.mujoco_gl import choose_mujoco_gl  # noqa: E402

MUJOCO_GL = choose_mujoco_gl()
"""The backend MuJoCo renders with in this test session, or None (rendering tests skip)."""

import torch  # noqa: E402

torch.set_num_threads(1)
