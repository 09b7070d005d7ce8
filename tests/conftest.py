"""Test-wide settings: single-threaded torch (small ops stall at the OpenMP barrier otherwise), no hub."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

torch.set_num_threads(1)
