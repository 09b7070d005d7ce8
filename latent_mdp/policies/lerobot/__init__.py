"""LeRobot 0.6.1 policies (pi0, pi0.5, SmolVLA, DiffusionPolicy) as :class:`~latent_mdp.NoisePolicy`.

Example (offline)::

    from latent_mdp.builders.lerobot_models import build_tiny_checkpoint
from latent_mdp.policies.lerobot import LeRobotNoisePolicy

    path = build_tiny_checkpoint("pi0", "/tmp/tiny_pi0")        # or any LeRobot checkpoint dir
    policy = LeRobotNoisePolicy.from_pretrained(path, task="push the T onto the target")
    ctx = policy.encode(obs_batch)                              # B observations: prefix + KV cache
    actions = policy.decode(ctx, policy.sample_noise(B * K))    # (B*K, H, A), env units

Modules: ``adapter`` (the NoisePolicy), ``flow`` (pi0 / pi0.5 / SmolVLA prefix reuse),
``diffusion`` (DiffusionPolicy, DDIM), ``observations`` (Gymnasium -> LeRobot batch),
``loading`` (checkpoint resolution and LeRobot's factory), ``architecture`` (small pi0 sizes),
``tokenizer`` (in-memory tokenizers), ``relative_actions`` (LeRobot's relative actions with K
noises per observation), ``state_concat`` (a processor step that appends
``observation.environment_state`` to the VLAs' state). The offline model builders are in
:mod:`latent_mdp.builders.lerobot_models`; PushT's block-pose step in :mod:`latent_mdp.tasks.pusht.block_pose`.
"""

import importlib
import warnings
from typing import Any

from latent_mdp.policies.lerobot.adapter import LANGUAGE_POLICY_TYPES, SUPPORTED_POLICY_TYPES, LeRobotNoisePolicy
from latent_mdp.policies.lerobot.diffusion import DiffusionContext
from latent_mdp.policies.lerobot.flow import PrefixContext

__all__ = [
    "LANGUAGE_POLICY_TYPES",
    "SUPPORTED_POLICY_TYPES",
    "DiffusionContext",
    "LeRobotNoisePolicy",
    "PrefixContext",
]

_MOVED = {"TINY_POLICY_TYPES", "build_random_policy", "build_tiny_checkpoint"}


def __getattr__(name: str) -> Any:
    """The model builders' old home, for one release (they build assets: :mod:`latent_mdp.builders.lerobot_models`)."""
    if name in _MOVED:
        warnings.warn(
            f"latent_mdp.policies.lerobot.{name} moved to latent_mdp.builders.lerobot_models.{name}; "
            "the old path goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("latent_mdp.builders.lerobot_models"), name)
    raise AttributeError(f"module 'latent_mdp.policies.lerobot' has no attribute {name!r}")
