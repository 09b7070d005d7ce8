"""Agents for the latent-action MDP M^w: DSRL-NA (noise-aliased DSRL) with an SB3 off-policy API."""

from agents.buffer import ChunkReplayBuffer, ChunkReplayBufferSamples
from agents.dsrl_na import DSRLNA
from agents.env_access import ChunkSpec, LatentEnv, latent_env_of
from agents.offline import ChunkTransitions, chunk_episode, load_lerobot_transitions
from agents.policies import DSRLNAPolicy

__all__ = [
    "DSRLNA",
    "ChunkReplayBuffer",
    "ChunkReplayBufferSamples",
    "ChunkSpec",
    "ChunkTransitions",
    "DSRLNAPolicy",
    "LatentEnv",
    "chunk_episode",
    "latent_env_of",
    "load_lerobot_transitions",
]
