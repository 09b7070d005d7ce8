"""latent-mdp: Diffusion Steering via RL as a Gymnasium wrapper.

A frozen noise-conditioned policy ``a = pi_dp(s, w)`` plus a task env become the latent-action
MDP M^w, whose action is the policy's initial noise ``w``. Any RL algorithm on M^w is DSRL.

This package is the core and imports no RL library: the base-policy contract, the noise space,
the batched engine, the wrapper, the Gymnasium vector env and the registered ids. The
Stable-Baselines3 layer lives in :mod:`latent_mdp.sb3`; its public names are also reachable from
here, imported when first used.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from latent_mdp.batch import LatentBatch
from latent_mdp.chunk import latent_discount
from latent_mdp.config import LatentMDPConfig
from latent_mdp.envs import ENV_IDS, register_envs
from latent_mdp.noise_space import NoiseSpace
from latent_mdp.policy import NoisePolicy, PolicyContext, TensorContext
from latent_mdp.vector import LatentActionVectorEnv
from latent_mdp.wrapper import LatentActionWrapper

__all__ = [
    "ENV_IDS",
    "LatentActionVecEnv",
    "LatentActionVectorEnv",
    "LatentActionWrapper",
    "LatentBatch",
    "LatentMDPConfig",
    "NoisePolicy",
    "NoiseSpace",
    "PolicyContext",
    "TensorContext",
    "WarmupResult",
    "latent_discount",
    "make_sb3_vec_env",
    "warmup_replay_buffer",
]

_SB3_NAMES = {"LatentActionVecEnv", "WarmupResult", "make_sb3_vec_env", "warmup_replay_buffer"}
_RENAMED = {"make_vec": "make_sb3_vec_env"}


def __getattr__(name: str) -> Any:
    """The SB3 layer's names, imported on first use so that ``import latent_mdp`` needs no SB3."""
    if name in _RENAMED:
        new = _RENAMED[name]
        warnings.warn(
            f"latent_mdp.{name} is renamed latent_mdp.sb3.{new} (it returns an SB3 VecEnv); "
            f"the old name goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        name = new
    if name in _SB3_NAMES:
        return getattr(importlib.import_module("latent_mdp.sb3"), name)
    raise AttributeError(f"module 'latent_mdp' has no attribute {name!r}")


register_envs()
