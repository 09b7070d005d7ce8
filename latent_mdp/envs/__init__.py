"""Registered DSRL environments (``DSRL-PushT-*-v0``) and their factories."""

from latent_mdp.envs.registry import ENV_IDS, register_envs

__all__ = ["ENV_IDS", "register_envs"]
