"""The registered DSRL ids in Stable-Baselines3's vector format."""

from __future__ import annotations

from typing import Any

from latent_mdp.envs.registry import batch_parts, task_metrics
from latent_mdp.sb3.vec_env import LatentActionVecEnv

__all__ = ["make_sb3_vec_env"]


def make_sb3_vec_env(env_id: str, n_envs: int = 1, /, **kwargs: Any) -> LatentActionVecEnv:
    """A registered id as an SB3 ``VecEnv``: ``n_envs`` envs, one base policy, one policy call per chunk.

    Args:
        env_id: a registered DSRL id.
        n_envs: number of inner envs.
        **kwargs: the id's kwargs (``policy_path``, ``noise``, ``action_horizon``, ...; for
            ``DSRL-v0`` also ``env_id=``, the inner Gymnasium id), or ``policy=`` to reuse a
            loaded base policy (e.g. for an evaluation env beside a training env).

    Example:
        >>> import latent_mdp
        >>> from latent_mdp.sb3 import make_sb3_vec_env
        >>> env = make_sb3_vec_env("DSRL-PushT-flow-v0", 2)
        >>> env.reset().shape
        (2, 5)
    """
    envs, policy, wrapper_kwargs = batch_parts(env_id, n_envs, **kwargs)
    return LatentActionVecEnv(envs, policy, task_metrics=task_metrics(env_id), **wrapper_kwargs)
