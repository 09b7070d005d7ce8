"""Hyperparameters: one YAML per algorithm, one entry per registered env id.

The layout (an algorithm's file keyed by env id) follows RL Baselines3 Zoo's, but the files are
this package's own format, read only by :func:`load_hyperparams`: RL Zoo's loader cannot read
them (it wants ``n_timesteps``, dotted policy names and its own keys, and rl-zoo3 needs a
huggingface_hub that conflicts with lerobot's pin).

An entry holds the algorithm's constructor arguments plus these keys of our own:

* ``n_envs``: parallel inner envs (one batched policy call per chunk for all of them);
* ``warmup_steps``: latent transitions of Gaussian warm-up (``w ~ N(0, I)``) before learning;
* ``env_kwargs``: the env id's kwargs (``noise``, ``noise_bound``, ``action_horizon``, ...);
* ``env_gamma``: the env-level discount; the algorithm gets ``env_gamma ** (action_horizon * replans)``;
* ``eval_freq`` / ``eval_episodes``: periodic evaluation, in latent steps per env / episodes;
* ``demos``: ``{episodes: N, fraction: f}`` puts N scripted-expert episodes in a store that
  online data never overwrites and that fills the share ``f`` of every batch: inverted into
  latent actions for the SB3 algorithms (:mod:`latent_mdp.demo_noise`), as real-action chunk
  transitions for DSRL-NA's action critic (``DSRLNA.add_episodes``).

``policy_kwargs.activation_fn`` names an entry of :data:`latent_mdp.sb3.nets.ACTIVATIONS`.
"""

from __future__ import annotations

import copy
import importlib
import inspect
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from latent_mdp.envs.registry import ENV_IDS, GENERIC_ID, LEROBOT_ID
from latent_mdp.sb3.nets import ACTIVATIONS

__all__ = ["ALGORITHMS", "ALGORITHM_PATHS", "TrainConfig", "algorithm_class", "constructor_parameters", "load_hyperparams"]

TRAINABLE_IDS = (*ENV_IDS, GENERIC_ID, LEROBOT_ID)
"""The ids the shipped YAMLs have entries for; the generic ones take their env (``env_id=``,
``policy_path=``, ...) from a user ``--config``'s ``env_kwargs``."""

ALGORITHM_PATHS: dict[str, str] = {
    "sac": "latent_mdp.sb3.delayed_sac:DelayedSAC",
    "td3": "stable_baselines3:TD3",
    "tqc": "sb3_contrib:TQC",
    "crossq": "sb3_contrib:CrossQ",
    "dsrl-na": "agents:DSRLNA",
}
"""Each algorithm name's class, as ``module:attribute``, imported only when the name is used (as RL Zoo does)."""

ALGORITHMS = tuple(ALGORITHM_PATHS)


def algorithm_class(name: str) -> type:
    """The SB3-style class of an algorithm name (imports its module)."""
    if name not in ALGORITHM_PATHS:
        raise ValueError(f"unknown algorithm {name!r}; expected one of {ALGORITHMS}")
    module, attribute = ALGORITHM_PATHS[name].split(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass
class TrainConfig:
    """Everything :func:`latent_mdp.sb3.train.train` needs besides the env id and the budget."""

    algo: str
    n_envs: int = 1
    warmup_steps: int = 0
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    env_gamma: float = 0.99
    eval_freq: int = 2_000
    eval_episodes: int = 50
    demos: dict[str, Any] | None = None
    algo_kwargs: dict[str, Any] = field(default_factory=dict)

    def constructor_kwargs(self, env_steps_per_action: int) -> dict[str, Any]:
        """The algorithm's kwargs, with the latent discount and named activations resolved.

        ``env_steps_per_action``: inner env steps one latent action spans (``action_horizon * replans``).
        """
        kwargs = copy.deepcopy(self.algo_kwargs)
        kwargs["gamma"] = self.env_gamma**env_steps_per_action
        policy_kwargs = kwargs.get("policy_kwargs", {})
        if isinstance(policy_kwargs.get("activation_fn"), str):
            name = policy_kwargs["activation_fn"]
            if name not in ACTIVATIONS:
                raise ValueError(f"unknown activation_fn {name!r}; expected one of {sorted(ACTIVATIONS)}")
            policy_kwargs["activation_fn"] = ACTIVATIONS[name]
        return kwargs


OWN_KEYS = ("n_envs", "warmup_steps", "env_kwargs", "env_gamma", "eval_freq", "eval_episodes", "demos")


def _read_yaml(path: Path | Any) -> dict[str, Any]:
    with open(path) as f:
        content = yaml.safe_load(f) or {}
    if not isinstance(content, dict):
        raise ValueError(f"{path}: expected a mapping of env ids to hyperparameters")
    return content


MERGED_KEYS = ("env_kwargs", "policy_kwargs")
"""Keys whose mappings an override updates key by key instead of replacing."""


def _merge(entry: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``entry`` updated by ``overrides`` (the :data:`MERGED_KEYS` key by key)."""
    merged = copy.deepcopy(entry)
    for key, value in overrides.items():
        if key in MERGED_KEYS and isinstance(value, dict):
            merged[key] = {**merged.get(key, {}), **value}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _shipped_file(name: str) -> dict[str, Any]:
    return _read_yaml(resources.files("latent_mdp.sb3") / "hyperparams" / f"{name}.yml")


def _shipped(algo: str, env_id: str) -> dict[str, Any] | None:
    """The shipped entry of ``env_id`` for ``algo``: its env-level keys (``envs.yml``) updated by the algorithm's file."""
    entry = _shipped_file(algo.replace("-", "_")).get(env_id)
    if entry is None:
        return None
    return _merge(_shipped_file("envs").get(env_id) or {}, entry)


def load_hyperparams(env_id: str, algo: str, config: str | Path | None = None) -> TrainConfig:
    """The shipped entry for ``env_id`` and ``algo``, updated by the same entry in ``config``.

    The shipped entry is the id's env-level keys (``hyperparams/envs.yml``) updated by the
    algorithm's own file. ``config`` is a YAML file laid out like the shipped ones (env id ->
    keys); keys it sets replace the shipped values (``env_kwargs`` and ``policy_kwargs`` are
    merged key by key).
    """
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; expected one of {ALGORITHMS}")
    if env_id not in TRAINABLE_IDS:
        raise ValueError(f"unknown env id {env_id!r}; registered: {sorted(TRAINABLE_IDS)}")
    entry = _shipped(algo, env_id)
    if entry is None:
        raise ValueError(f"no {algo} hyperparameters for {env_id} in the shipped YAML")
    if config is not None:
        user = _read_yaml(Path(config))
        if env_id not in user:
            raise ValueError(f"{config} has no entry for {env_id} (its keys: {sorted(user)})")
        overrides = user[env_id] or {}
        if not isinstance(overrides, dict):
            raise ValueError(f"{config}: the entry for {env_id} must be a mapping of keys to values; got a {type(overrides).__name__}")
        entry = _merge(entry, overrides)
    own = {key: entry.pop(key) for key in OWN_KEYS if key in entry}
    _check_keys(algo, entry, config)
    return TrainConfig(algo=algo, **own, algo_kwargs=entry)


def constructor_parameters(cls: type) -> set[str]:
    """The named arguments ``cls(...)`` takes, following ``**kwargs`` up to the base classes' constructors."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        names |= {name for name, p in parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        if not any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
            break
    return names


def _check_keys(algo: str, algo_kwargs: dict[str, Any], config: str | Path | None) -> None:
    """Raise ``ValueError`` naming the key (and the file) that the algorithm's constructor does not take."""
    accepted = constructor_parameters(algorithm_class(algo)) - {"self", "env"}
    unknown = sorted(set(algo_kwargs) - accepted)
    if unknown:
        source = f"{config}" if config is not None else f"the shipped {algo} YAML"
        raise ValueError(
            f"{source}: unknown key(s) {unknown} for {algo}; expected the {algo} constructor's "
            f"arguments or one of {list(OWN_KEYS)}"
        )
