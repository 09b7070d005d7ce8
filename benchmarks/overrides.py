"""The override YAML of ``benchmarks/compare.py``: one file for every method of a comparison.

Layout (every part optional)::

    DSRL-PushT-flow-v0:            # applies to every trained method on this env id
      n_envs: 2
      policy_kwargs: {net_arch: [64, 64]}
    dsrl-na:                       # applies to one method only, after the entry above
      DSRL-PushT-flow-v0: {n_noise_critic_steps: 2}

The top-level entry of an env id is what ``latent-mdp train --config`` reads, so DSRL runs get
``entry(env_id) <- entry(method, env_id)``. The SAC baselines take the same merge but drop the
keys that only mean something on M^w (:data:`DSRL_ONLY_KEYS`; of ``env_kwargs`` only the
checkpoint keys :data:`CHECKPOINT_KEYS` pass).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CHECKPOINT_KEYS", "DSRL_ONLY_KEYS", "merge_entry", "method_entry", "read_yaml"]

MERGED_KEYS = ("env_kwargs", "policy_kwargs")
"""Keys whose mappings are merged key by key (as :func:`latent_mdp.sb3.hyperparams.load_hyperparams` does)."""
DSRL_ONLY_KEYS = ("warmup_steps", "env_kwargs", "n_noise_samples", "n_noise_critic_steps", "critic_combine")
CHECKPOINT_KEYS = ("policy_path", "task")


def read_yaml(path: str | Path | None) -> dict[str, Any]:
    """A YAML mapping, or ``{}`` for no path."""
    if path is None:
        return {}
    content = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(content, dict):
        raise ValueError(f"{path}: expected a mapping (env ids and method names at the top level)")
    return content


def merge_entry(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``update``'s keys; ``env_kwargs`` and ``policy_kwargs`` merge key by key."""
    merged = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if key in MERGED_KEYS and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def method_entry(overrides: dict[str, Any], method: str, env_id: str, *, dsrl: bool) -> dict[str, Any]:
    """The override entry of ``method`` on ``env_id``: the env id's entry, then the method's own.

    Args:
        dsrl: whether the method trains on M^w; if not, :data:`DSRL_ONLY_KEYS` of the env id's
            entry are dropped (its checkpoint ``env_kwargs`` excepted).
    """
    shared = copy.deepcopy(overrides.get(env_id) or {})
    if not dsrl:
        checkpoint = {k: v for k, v in (shared.get("env_kwargs") or {}).items() if k in CHECKPOINT_KEYS}
        shared = {k: v for k, v in shared.items() if k not in DSRL_ONLY_KEYS}
        if checkpoint:
            shared["env_kwargs"] = checkpoint
    own = (overrides.get(method) or {}).get(env_id) or {}
    return merge_entry(shared, own)
