"""latent-mdp: Diffusion Steering via RL as a Gymnasium wrapper.

A frozen noise-conditioned policy ``a = pi_dp(s, w)`` plus a task env become the latent-action
MDP M^w, whose action is the policy's initial noise ``w``. Any RL algorithm on M^w is DSRL.
"""

from latent_mdp.chunk import latent_discount
from latent_mdp.envs import ENV_IDS, make_vec, register_envs
from latent_mdp.noise_space import NoiseSpace
from latent_mdp.policy import NoisePolicy, PolicyContext, TensorContext
from latent_mdp.vector import LatentActionVecEnv, LatentActionVectorEnv
from latent_mdp.warmup import WarmupResult, warmup_replay_buffer
from latent_mdp.wrapper import LatentActionWrapper

__all__ = [
    "ENV_IDS",
    "LatentActionVecEnv",
    "LatentActionVectorEnv",
    "LatentActionWrapper",
    "NoisePolicy",
    "NoiseSpace",
    "PolicyContext",
    "TensorContext",
    "WarmupResult",
    "latent_discount",
    "make_vec",
    "warmup_replay_buffer",
]

register_envs()
