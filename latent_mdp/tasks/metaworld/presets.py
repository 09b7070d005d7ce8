"""The ``DSRL-MetaWorld-<task>-flow-v0`` ids: thin presets of ``DSRL-v0`` with a shipped flow base per task.

    >>> import gymnasium as gym, latent_mdp
    >>> env = gym.make("DSRL-MetaWorld-push-flow-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape, env.action_space.shape
    ((39,), (32,))

Each id is :func:`latent_mdp.envs.generic.generic_batch_parts` over the inner
``latent_mdp/MetaWorld-<task>-v3`` env (:mod:`latent_mdp.tasks.metaworld.env`), with the shipped
checkpoint in ``latent_mdp/assets/metaworld_<task>_flow`` unless ``policy_path=`` or ``policy=``
is given, and these defaults: the sparse success reward (``task_reward="success"``), one noise per
action of the chunk (``noise="full"``, bound 1.5), 4 of the chunk's 8 actions executed per noise,
and the 39-d env state as the actor's observation (``obs_mode="env"``). MetaWorld's 500-step limit
ends an episode as truncation; success terminates it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from latent_mdp.envs.generic import generic_batch_parts, vector_from_parts, wrapper_from_parts
from latent_mdp.metrics import EpisodeMetrics
from latent_mdp.policy import NoisePolicy
from latent_mdp.tasks.metaworld.env import METAWORLD_TASKS, MetaWorldReward, inner_env_id, preset_id
from latent_mdp.vector import LatentActionVectorEnv
from latent_mdp.wrapper import LatentActionWrapper

__all__ = ["ASSETS", "METAWORLD_METRICS", "asset_dir", "make_dsrl_metaworld", "make_dsrl_metaworld_vector", "metaworld_batch_parts"]

ASSETS = Path(__file__).resolve().parents[2] / "assets"

METAWORLD_METRICS = EpisodeMetrics(success="is_success")
"""MetaWorld's success flag (``info["is_success"]``); its other metrics are per step, not per episode."""

DEFAULTS: dict[str, Any] = {"noise": "full", "noise_bound": 1.5, "action_horizon": 4, "obs_mode": "env"}
"""The presets' wrapper defaults (any of them can be passed to override)."""


def asset_dir(task: str) -> Path:
    """Where ``task``'s shipped flow base lives."""
    return ASSETS / f"metaworld_{task}_flow"


def metaworld_batch_parts(
    metaworld_task: str,
    n_envs: int,
    *,
    policy: NoisePolicy | None = None,
    policy_path: str | Path | None = None,
    task_reward: MetaWorldReward = "success",
    render_mode: str | None = None,
    **options: Any,
) -> tuple[list[gym.Env], NoisePolicy, dict[str, Any]]:
    """``n_envs`` inner envs of ``metaworld_task``, the base policy, and the wrapper options (see the module docstring).

    Raises:
        FileNotFoundError: the shipped checkpoint is missing and neither ``policy`` nor ``policy_path`` is given.
        ValueError: an unknown task, or ``task=``: each id runs its own MetaWorld task, and a
            flow base reads no language instruction.
    """
    task = metaworld_task
    if task not in METAWORLD_TASKS:
        raise ValueError(f"no MetaWorld preset for task {task!r}; expected one of {METAWORLD_TASKS}")
    if "task" in options:
        raise ValueError(f"{preset_id(task)} runs MetaWorld's {task!r}; it takes no task= (use that task's id, or DSRL-v0)")
    if policy is None and policy_path is None and options.get("policy_server") is None:
        policy_path = asset_dir(task)
        if not policy_path.is_dir():
            raise FileNotFoundError(
                f"the shipped MetaWorld {task} base is missing at {policy_path}; regenerate it with "
                f"`python -m latent_mdp.builders.metaworld_checkpoints --only {task}` or pass policy_path="
            )
    return generic_batch_parts(
        n_envs,
        env_id=inner_env_id(task),
        policy=policy,
        policy_path=policy_path,
        observation="box",
        env_kwargs={"task_reward": task_reward},
        render_mode=render_mode,
        label=preset_id(task),
        **(DEFAULTS | options),
    )


def make_dsrl_metaworld(metaworld_task: str, **kwargs: Any) -> LatentActionWrapper:
    """The entry point of ``DSRL-MetaWorld-<task>-flow-v0`` (kwargs: :func:`metaworld_batch_parts`)."""
    return wrapper_from_parts(metaworld_batch_parts(metaworld_task, 1, **kwargs))


def make_dsrl_metaworld_vector(num_envs: int = 1, *, metaworld_task: str, **kwargs: Any) -> LatentActionVectorEnv:
    """The ``vector_entry_point``: ``num_envs`` envs sharing one base policy."""
    return vector_from_parts(metaworld_batch_parts(metaworld_task, num_envs, **kwargs))
