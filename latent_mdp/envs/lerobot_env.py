"""``DSRL-LeRobot-v0``: an env of LeRobot's own ``lerobot.envs`` (an ``EnvConfig``) plus a checkpoint, as M^w.

    >>> import gymnasium as gym, latent_mdp
    >>> from latent_mdp.tasks.pusht.presets import ASSETS
    >>> env = gym.make("DSRL-LeRobot-v0", env="pusht", env_kwargs={"obs_type": "environment_state_agent_pos"},
    ...                policy_path=ASSETS / "pusht_diffusion", noise="full")
    >>> obs, info = env.reset(seed=0)
    >>> env.action_space.shape  # one 2-d noise for each of the chunk's 8 actions
    (16,)

The inner envs are the ones ``lerobot-eval`` runs: ``make_env_config(env, task=..., **env_kwargs)``
then LeRobot's ``make_env``, whose vector env's single envs M^w steps itself (one policy call per
chunk for all of them). Observations stay in Gymnasium's keys (``pixels``, ``agent_pos``,
``environment_state``), which a LeRobot policy maps as LeRobot's ``preprocess_observation`` does,
and a VLA gets the env's own language instruction (``task_description``) unless ``instruction=``
is given (``task=`` is the ``EnvConfig``'s task, e.g. ``"push-v3"``).
Any env LeRobot 0.6.1 builds works, with its own extra installed (``lerobot[pusht]``,
``lerobot[metaworld]``, ...); LeRobot's MetaWorld and LIBERO envs render pixels, which MuJoCo
can do only with an OpenGL backend (``MUJOCO_GL=egl``, or ``osmesa`` on a machine without a GPU). ``info["is_success"]`` is the success flag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from latent_mdp.batch import check_num_envs
from latent_mdp.envs.generic import check_one_policy, parts_from_envs, vector_from_parts, with_policy_server, wrapper_from_parts
from latent_mdp.policy import NoisePolicy
from latent_mdp.vector import LatentActionVectorEnv
from latent_mdp.wrapper import LatentActionWrapper

__all__ = ["lerobot_batch_parts", "lerobot_inner_envs", "make_dsrl_lerobot", "make_dsrl_lerobot_vector"]


def lerobot_inner_envs(env: str, n_envs: int, task: str | None = None, env_kwargs: dict[str, Any] | None = None) -> list[gym.Env]:
    """``n_envs`` single envs of LeRobot's env type ``env`` (``"pusht"``, ``"metaworld"``, ...), built by LeRobot's ``make_env``.

    Raises:
        ValueError: an env type LeRobot does not know (its error lists the known ones), or a
            ``task`` that names several tasks (M^w runs one task; make one id per task).
    """
    from lerobot.envs.factory import make_env, make_env_config

    check_num_envs(n_envs)
    config = make_env_config(env, **({} if task is None else {"task": task}), **(env_kwargs or {}))
    suites = make_env(config, n_envs=n_envs)
    vectors = [vector for tasks in suites.values() for vector in tasks.values()]
    if len(vectors) != 1:
        for vector in vectors:
            vector.close()
        raise ValueError(f"LeRobot env {env!r} with task {task!r} made {len(vectors)} tasks; DSRL-LeRobot-v0 runs one (name a single task)")
    return list(vectors[0].envs)


def lerobot_batch_parts(
    n_envs: int,
    *,
    env: str | None = None,
    task: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    policy_path: str | Path | None = None,
    policy: NoisePolicy | None = None,
    policy_server: str | None = None,
    instruction: str | None = None,
    render_mode: str | None = None,
    **options: Any,
) -> tuple[list[gym.Env], NoisePolicy, dict[str, Any]]:
    """``n_envs`` LeRobot envs, the base policy they share, and the wrapper options.

    Args:
        env: LeRobot's env type (``EnvConfig`` choice name), e.g. ``"pusht"`` or ``"metaworld"``.
        task: the ``EnvConfig``'s task (e.g. ``"push-v3"`` for MetaWorld); its default if None.
        env_kwargs: more ``EnvConfig`` fields (e.g. ``{"obs_type": "environment_state_agent_pos"}``).
        instruction: the language instruction a VLA reads (default: the env's ``task_description``);
            only with ``policy_path=`` (a loaded ``policy`` already holds its instruction).
        render_mode: the ``EnvConfig``'s ``render_mode`` (LeRobot's envs render ``"rgb_array"``).
        policy_server: a policy server's address, instead of ``policy_path=`` or ``policy=``.
        **options: the wrapper's options (``noise``, ``action_horizon``, ``obs_mode``, ...).
    """
    if not isinstance(env, str) or not env:
        raise ValueError(f"DSRL-LeRobot-v0 needs env=, a LeRobot env type such as 'pusht' or 'metaworld'; got {env!r}")
    if policy_server is not None:
        policy = with_policy_server("DSRL-LeRobot-v0", {"policy_server": policy_server, "policy": policy, "policy_path": policy_path})["policy"]
    check_one_policy("DSRL-LeRobot-v0", policy_path, policy)
    if instruction is not None and policy is not None:
        raise ValueError("instruction= sets the instruction of a policy loaded from policy_path=; a loaded policy= keeps its own")
    env_kwargs = dict(env_kwargs or {}) | ({} if render_mode is None else {"render_mode": render_mode})
    envs = lerobot_inner_envs(env, n_envs, task, env_kwargs)
    instruction = instruction or getattr(envs[0].unwrapped, "task_description", None)
    return parts_from_envs(envs, f"LeRobot env {env!r}", policy_path=policy_path, policy=policy, task=instruction, **options)


def make_dsrl_lerobot(**kwargs: Any) -> LatentActionWrapper:
    """The entry point of ``DSRL-LeRobot-v0`` (kwargs: :func:`lerobot_batch_parts`)."""
    return wrapper_from_parts(lerobot_batch_parts(1, **kwargs))


def make_dsrl_lerobot_vector(num_envs: int = 1, **kwargs: Any) -> LatentActionVectorEnv:
    """The ``vector_entry_point`` of ``DSRL-LeRobot-v0``: ``num_envs`` envs sharing one base policy."""
    return vector_from_parts(lerobot_batch_parts(num_envs, **kwargs))
