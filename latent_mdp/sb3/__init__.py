"""The Stable-Baselines3 layer: M^w as an SB3 ``VecEnv``, and the training stack built on it.

The SB3 ``VecEnv`` adapter (:class:`LatentActionVecEnv`), the Gaussian warm-up, the noise prior,
nets, callbacks, evaluation, training, the hyperparameter files and the ``latent-mdp`` CLI. It
depends on the core (``latent_mdp``), never the other way round.
"""

from latent_mdp.sb3.envs import make_sb3_vec_env
from latent_mdp.sb3.vec_env import LatentActionVecEnv
from latent_mdp.sb3.warmup import WarmupResult, warmup_replay_buffer

__all__ = ["LatentActionVecEnv", "WarmupResult", "make_sb3_vec_env", "warmup_replay_buffer"]
