"""Gymnasium observations to LeRobot batches, the way LeRobot's eval loop builds them.

LeRobot's ``lerobot_eval`` runs ``preprocess_observation`` (``pixels`` -> ``observation.image``
as CHW float in [0, 1], ``agent_pos`` -> ``observation.state``, ``environment_state`` ->
``observation.environment_state``, any other key ``k`` -> ``observation.k``), then adds the task
string(s), then the policy preprocessor. :func:`to_lerobot_batch` does the first two steps for a
batch of ``B`` observations and checks that every input the policy declares is present.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["gym_key_for", "to_lerobot_batch"]

_GYM_KEYS = {
    "observation.image": "pixels",
    "observation.state": "agent_pos",
    "observation.environment_state": "environment_state",
}


def gym_key_for(lerobot_key: str) -> str:
    """The Gymnasium observation key that ``preprocess_observation`` maps to ``lerobot_key``."""
    if lerobot_key in _GYM_KEYS:
        return _GYM_KEYS[lerobot_key]
    if lerobot_key.startswith("observation.images."):
        return f"pixels[{lerobot_key.removeprefix('observation.images.')!r}]"
    return lerobot_key.removeprefix("observation.")


def _as_dict(obs: np.ndarray | dict[str, Any], config: Any, name: str) -> dict[str, Any]:
    """A bare array is the state (2-d), the environment state, or the pixels (4-d)."""
    if isinstance(obs, dict):
        return dict(obs)
    obs = np.asarray(obs)
    if obs.ndim == 4:
        return {"pixels": obs}
    if obs.ndim != 2:
        raise ValueError(f"{name}: expected observations (B, dim) or images (B, H, W, C); got {obs.shape}")
    if config.robot_state_feature is not None and config.env_state_feature is None:
        return {"agent_pos": obs}
    if config.env_state_feature is not None and config.robot_state_feature is None:
        return {"environment_state": obs}
    raise ValueError(
        f"{name} takes both 'observation.state' and 'observation.environment_state'; pass a dict "
        "observation with keys 'agent_pos' and 'environment_state' (e.g. gym_pusht "
        "obs_type='environment_state_agent_pos')"
    )


def _required_keys(config: Any) -> list[str]:
    keys = [k for k in config.image_features if ".empty_camera_" not in k]
    if config.robot_state_feature is not None:
        keys.append("observation.state")
    if config.env_state_feature is not None:
        keys.append("observation.environment_state")
    return keys


def _check_vector_shapes(batch: dict[str, Any], config: Any, name: str) -> None:
    """State-like inputs must match the declared width (the normalizer would fail obscurely)."""
    for key in ("observation.state", "observation.environment_state"):
        feature = config.input_features.get(key)
        if feature is None or key not in batch:
            continue
        got = tuple(batch[key].shape[1:])
        if got != tuple(feature.shape):
            raise ValueError(
                f"{name} expects '{key}' (Gymnasium key '{gym_key_for(key)}') of shape (B, "
                f"{', '.join(map(str, feature.shape))}); got (B, {', '.join(map(str, got))})"
            )


def to_lerobot_batch(
    obs: np.ndarray | dict[str, Any],
    config: Any,
    *,
    task: str | None,
    needs_task: bool,
    name: str,
) -> dict[str, Any]:
    """A raw LeRobot batch (before the policy preprocessor) from ``B`` Gymnasium observations.

    Args:
        obs: ``(B, ...)`` array, or a dict of such arrays (images ``(B, H, W, C)`` uint8).
        config: the policy's LeRobot config (declares the expected input features).
        task: the language instruction, repeated over the batch.
        needs_task: whether the policy is language-conditioned.
        name: the policy's name for error messages.

    Returns:
        ``{"observation.image": (B, C, H, W) float32 in [0, 1], "observation.state": (B, S), ...,
        "task": [task] * B}``.
    """
    from lerobot.envs.utils import preprocess_observation

    raw = _as_dict(obs, config, name)
    batch = preprocess_observation({k: np.asarray(v) if not isinstance(v, dict) else v for k, v in raw.items()})
    missing = [key for key in _required_keys(config) if key not in batch]
    if missing:
        wanted = ", ".join(f"'{k}' (Gymnasium key '{gym_key_for(k)}')" for k in missing)
        raise KeyError(
            f"{name} expects the input {wanted}, but the observation has keys {sorted(raw)}; for "
            "gym_pusht use obs_type='pixels_agent_pos' (images + state) or "
            "'environment_state_agent_pos' (keypoints + state)"
        )
    _check_vector_shapes(batch, config, name)
    if needs_task:
        if not task:
            raise ValueError(
                f"{name} is language-conditioned and needs a task string: pass "
                "LeRobotNoisePolicy.from_pretrained(path, task='...') or set policy.task = '...'"
            )
        size = next(iter(batch.values())).shape[0]
        batch["task"] = [task] * size
    return batch
