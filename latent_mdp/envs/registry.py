"""Gymnasium ids of the DSRL environments.

``import latent_mdp`` registers every id, so ``gym.make("DSRL-PushT-pi0-v0")`` works (as does
``gym.make("latent_mdp:DSRL-PushT-pi0-v0")`` without the import), and ``gym.make_vec(id, n)``
returns the batched Gymnasium form (:class:`latent_mdp.LatentActionVectorEnv`). The SB3 form is
:func:`latent_mdp.sb3.make_sb3_vec_env`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from latent_mdp.metrics import EpisodeMetrics
from latent_mdp.policy import NoisePolicy
from latent_mdp.tasks.episode import ExpertEpisode
from latent_mdp.tasks.metaworld.env import MAX_EPISODE_STEPS, METAWORLD_TASKS, inner_env_id, preset_id

__all__ = ["ENV_IDS", "GENERIC_ID", "LEROBOT_ID", "batch_parts", "expert_episodes", "make_inner", "register_envs", "task_metrics"]

PUSHT_KINDS = ("flow", "pi0", "pi05", "smolvla", "diffusion")
PUSHT_IDS: dict[str, str] = {f"DSRL-PushT-{kind}-v0": kind for kind in PUSHT_KINDS}
"""The PushT preset ids, mapped to their base-policy kind."""

METAWORLD_IDS: dict[str, str] = {preset_id(task): task for task in METAWORLD_TASKS}
"""The MetaWorld preset ids (:mod:`latent_mdp.tasks.metaworld.presets`), mapped to their task."""

ENV_IDS: dict[str, str] = {**PUSHT_IDS, **dict.fromkeys(METAWORLD_IDS, "flow")}
"""Every registered preset id, mapped to its base-policy kind."""


GENERIC_ID = "DSRL-v0"
"""The id for any Gymnasium env and checkpoint (``env_id=``, ``policy_path=``; :mod:`latent_mdp.envs.generic`)."""

LEROBOT_ID = "DSRL-LeRobot-v0"
"""The id for any env of LeRobot's ``lerobot.envs`` and checkpoint (``env=``, ``task=``, ``policy_path=``; :mod:`latent_mdp.envs.lerobot_env`)."""


def _register_m_w(env_id: str, module: str, maker: str, **kwargs: Any) -> None:
    """Register one M^w id whose ``module`` has ``maker`` and ``maker + "_vector"`` entry points (idempotent)."""
    if env_id not in gym.registry:
        gym.register(
            id=env_id,
            entry_point=f"{module}:{maker}",
            vector_entry_point=f"{module}:{maker}_vector",
            kwargs=kwargs,
            disable_env_checker=True,
        )


def register_envs() -> None:
    """Register every DSRL id, and the plain MetaWorld state envs under them, with Gymnasium (idempotent)."""
    _register_m_w(GENERIC_ID, "latent_mdp.envs.generic", "make_dsrl")
    _register_m_w(LEROBOT_ID, "latent_mdp.envs.lerobot_env", "make_dsrl_lerobot")
    for env_id, task in METAWORLD_IDS.items():
        _register_m_w(env_id, "latent_mdp.tasks.metaworld.presets", "make_dsrl_metaworld", metaworld_task=task)
    for env_id, kind in PUSHT_IDS.items():
        _register_m_w(env_id, "latent_mdp.tasks.pusht.presets", "make_dsrl_pusht", kind=kind)
    for task in METAWORLD_TASKS:
        if inner_env_id(task) not in gym.registry:
            gym.register(
                id=inner_env_id(task),
                entry_point="latent_mdp.tasks.metaworld.env:MetaWorldStateEnv",
                kwargs={"task": task},
                max_episode_steps=MAX_EPISODE_STEPS,
            )


def _kind(env_id: str) -> str:
    """The PushT kind of ``env_id``."""
    if env_id not in PUSHT_IDS:
        raise ValueError(f"unknown DSRL env id {env_id!r}; registered: {sorted([*ENV_IDS, GENERIC_ID, LEROBOT_ID])}")
    return PUSHT_IDS[env_id]


def batch_parts(env_id: str, n_envs: int, /, **kwargs: Any) -> tuple[list[gym.Env], NoisePolicy, dict[str, Any]]:
    """What a vector form of ``env_id`` is built from: ``n_envs`` inner envs, one base policy, the wrapper kwargs.

    Args:
        env_id: a registered DSRL id.
        n_envs: number of inner envs.
        **kwargs: the id's kwargs (``policy_path``, ``noise``, ``action_horizon``, ...), or
            ``policy=`` to reuse a loaded base policy.
    """
    if env_id == GENERIC_ID:
        from latent_mdp.envs.generic import generic_batch_parts

        return generic_batch_parts(n_envs, **kwargs)
    if env_id == LEROBOT_ID:
        from latent_mdp.envs.lerobot_env import lerobot_batch_parts

        return lerobot_batch_parts(n_envs, **kwargs)
    if env_id in METAWORLD_IDS:
        from latent_mdp.tasks.metaworld.presets import metaworld_batch_parts

        return metaworld_batch_parts(METAWORLD_IDS[env_id], n_envs, **kwargs)
    from latent_mdp.tasks.pusht.presets import pusht_batch_parts

    return pusht_batch_parts(_kind(env_id), n_envs, **kwargs)


def task_metrics(env_id: str) -> EpisodeMetrics:
    """The info keys that say how an episode of ``env_id`` went (its success key and the maxima worth tracking)."""
    if env_id in (GENERIC_ID, LEROBOT_ID):
        from latent_mdp.envs.generic import GENERIC_METRICS

        return GENERIC_METRICS
    if env_id in METAWORLD_IDS:
        from latent_mdp.tasks.metaworld.presets import METAWORLD_METRICS

        return METAWORLD_METRICS
    from latent_mdp.tasks.pusht.presets import PUSHT_METRICS

    _kind(env_id)
    return PUSHT_METRICS


def make_inner(env_id: str, /, render_mode: str | None = None, task_reward: str | None = None, **kwargs: Any) -> gym.Env:
    """The plain task env under a registered id (e.g. for videos of every inner frame, or baselines).

    ``task_reward``: PushT's ``"coverage"`` (its default), ``"success"``, ``"absorbing"`` or ``"time"``;
    MetaWorld's ``"success"`` (its default), ``"dense"`` or ``"absorbing"``. For the generic ids
    (``DSRL-v0``, ``DSRL-LeRobot-v0``), ``kwargs`` are the id's kwargs, ``policy=`` included, so
    that the inner env is the one the id would wrap; the presets ignore them.
    """
    if env_id in PUSHT_IDS:
        from latent_mdp.tasks.pusht.presets import make_inner_pusht

        return make_inner_pusht(PUSHT_IDS[env_id], render_mode, task_reward or "coverage")  # type: ignore[arg-type]
    reward = {} if task_reward is None else {"task_reward": task_reward}
    if env_id in METAWORLD_IDS:
        return gym.make(inner_env_id(METAWORLD_IDS[env_id]), render_mode=render_mode, **reward)
    (env,), _, _ = batch_parts(env_id, 1, render_mode=render_mode, **reward, **kwargs)
    return env


def expert_episodes(env_id: str, n: int, task_reward: str | None = None, seed: int = 0) -> list[ExpertEpisode]:
    """``n`` clean scripted-expert episodes on the inner env of ``env_id`` (its rewards under ``task_reward``).

    The experts read the state observation their ids' flow bases read: PushT's scripted pusher
    (``DSRL-PushT-flow-v0``) and MetaWorld's own scripted policies (the MetaWorld ids).

    Raises:
        ValueError: ``env_id`` has no scripted expert that reads its base policy's observation.
    """
    if env_id in METAWORLD_IDS:
        from latent_mdp.tasks.metaworld.expert import roll_out_expert, scripted_policy

        env, metaworld_expert = make_inner(env_id, None, task_reward), scripted_policy(METAWORLD_IDS[env_id])
        try:
            return [roll_out_expert(env, metaworld_expert, seed + i).as_episode() for i in range(n)]
        finally:
            env.close()
    if env_id != "DSRL-PushT-flow-v0":
        raise ValueError(
            f"scripted demonstrations exist for DSRL-PushT-flow-v0 and the MetaWorld ids only (an expert reads the "
            f"state observation its base policy reads); {env_id} reads another observation"
        )
    from latent_mdp.tasks.pusht.expert import PushTExpert, record_expert_episode

    env, expert = make_inner(env_id, None, task_reward or "coverage"), PushTExpert()
    try:
        return [record_expert_episode(env, expert, seed + i) for i in range(n)]
    finally:
        env.close()
