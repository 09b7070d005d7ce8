"""NoisePolicy implementations: the built-in flow MLP here, LeRobot adapters in ``.lerobot``."""

from latent_mdp.policies.flow_bc import fit_normalization, train_flow_bc
from latent_mdp.policies.flow_mlp import FlowMLPConfig, FlowMLPPolicy

__all__ = ["FlowMLPConfig", "FlowMLPPolicy", "fit_normalization", "train_flow_bc"]
