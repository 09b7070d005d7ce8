"""What the latent actor observes (``obs_mode``), and batching of Gymnasium observations."""

from __future__ import annotations

from typing import Any, Literal, Sequence

import gymnasium as gym
import numpy as np

__all__ = ["FEATURES_KEY", "ObsMode", "ObservationBuilder", "batch_size_of", "check_finite_observation", "stack_observations"]

ObsMode = Literal["env", "policy", "both"]
FEATURES_KEY = "policy_features"
"""Key of the policy features in ``both`` mode."""
FEATURE_BOUND = 1e6
"""Features are clipped to ``[-FEATURE_BOUND, FEATURE_BOUND]`` so their ``Box`` is finite (checkers
warn on infinite bounds); real policy features are many orders of magnitude smaller."""
ENV_KEY = "observation"
"""Key of a ``Box`` env observation in ``both`` mode (a ``Dict`` env observation keeps its keys)."""


def batch_size_of(observations: Any) -> int:
    """``B`` of a batch of observations: an array ``(B, ...)`` or a flat dict of them."""
    if isinstance(observations, dict):
        return len(next(iter(observations.values())))
    return len(observations)


def check_finite_observation(observation: Any, what: str) -> None:
    """Raise ``ValueError`` if a float array (or a float entry of a flat dict) holds NaN or inf."""
    entries = observation.items() if isinstance(observation, dict) else [(None, observation)]
    for key, value in entries:
        array = np.asarray(value)
        if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
            where = what if key is None else f"{what}[{key!r}]"
            raise ValueError(f"{where} holds NaN or inf; the base policy cannot encode it")


def stack_observations(observations: Sequence[Any]) -> Any:
    """Stack ``B`` single observations (arrays or flat dicts of arrays) along a new axis 0.

    Raises:
        ValueError: the observations differ in keys or shapes; the message names the first odd one.
    """
    first = observations[0]
    if isinstance(first, dict):
        for i, obs in enumerate(observations):
            if not isinstance(obs, dict) or set(obs) != set(first):
                raise ValueError(f"observation {i} has keys {sorted(obs) if isinstance(obs, dict) else type(obs).__name__}; observation 0 has {sorted(first)}")
        return {key: _stack([o[key] for o in observations], f"[{key!r}]") for key in first}
    return _stack(observations, "")


def _stack(arrays: Sequence[Any], where: str) -> np.ndarray:
    shapes = [np.shape(a) for a in arrays]
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise ValueError(f"observation {i}{where} has shape {shape}; observation 0{where} has {shapes[0]}")
    return np.stack(arrays)


class ObservationBuilder:
    """Builds the latent actor's observation from the env observation and policy features.

    * ``env``: the inner env's observation, unchanged.
    * ``policy``: the policy features ``(F,)`` float32.
    * ``both``: a ``Dict`` of the env observation (under ``"observation"``, or its own keys when
      the env observation is a flat ``Dict``) and ``"policy_features"``.
    """

    def __init__(self, env_space: gym.Space, feature_dim: int, obs_mode: ObsMode, policy_name: str) -> None:
        if obs_mode not in ("env", "policy", "both"):
            raise ValueError(f"obs_mode must be 'env', 'policy' or 'both'; got {obs_mode!r}")
        if obs_mode != "env" and feature_dim < 1:
            raise ValueError(f"obs_mode={obs_mode!r} needs policy features, but {policy_name} has feature_dim = 0")
        self.obs_mode = obs_mode
        self.env_space = env_space
        features = gym.spaces.Box(-FEATURE_BOUND, FEATURE_BOUND, shape=(feature_dim,), dtype=np.float32)
        if obs_mode == "env":
            self.space = env_space
        elif obs_mode == "policy":
            self.space = features
        else:
            env_part = dict(env_space.spaces) if isinstance(env_space, gym.spaces.Dict) else {ENV_KEY: env_space}
            if FEATURES_KEY in env_part:
                raise ValueError(f"the env observation already has a key {FEATURES_KEY!r}")
            self.space = gym.spaces.Dict({**env_part, FEATURES_KEY: features})

    @property
    def needs_features(self) -> bool:
        return self.obs_mode != "env"

    def build(self, env_obs: Any, features: np.ndarray | None) -> Any:
        """One observation (or a batch: the same code works on stacked inputs)."""
        if self.obs_mode == "env":
            return env_obs
        assert features is not None
        features = np.clip(features, -FEATURE_BOUND, FEATURE_BOUND).astype(np.float32)
        if self.obs_mode == "policy":
            return features
        env_part = dict(env_obs) if isinstance(env_obs, dict) else {ENV_KEY: env_obs}
        return {**env_part, FEATURES_KEY: features}
