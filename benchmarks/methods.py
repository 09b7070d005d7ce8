"""The methods ``benchmarks/compare.py`` runs, in the order tables and legends list them."""

from __future__ import annotations

__all__ = ["BASE_NOISE", "DSRL_ALGOS", "METHODS", "SAC_BASELINES"]

METHODS: dict[str, str] = {
    "base-noise": "base policy, w ~ N(0, I)",
    "base-zero": "base policy, w = 0",
    "dsrl-sac": "DSRL-SAC",
    "dsrl-td3": "DSRL-TD3",
    "dsrl-tqc": "DSRL-TQC",
    "dsrl-crossq": "DSRL-CrossQ",
    "dsrl-na": "DSRL-NA",
    "sac-raw": "SAC, raw actions",
    "residual-sac": "residual SAC",
}
"""Method name -> the label of its curve and table row."""
BASE_NOISE = {"base-noise": "gaussian", "base-zero": "zero"}
"""The base policy alone: method -> its noise."""
DSRL_ALGOS = {"dsrl-sac": "sac", "dsrl-td3": "td3", "dsrl-tqc": "tqc", "dsrl-crossq": "crossq", "dsrl-na": "dsrl-na"}
"""DSRL on M^w: method -> the algorithm name of ``latent_mdp.sb3.train``."""
SAC_BASELINES = ("sac-raw", "residual-sac")
"""SAC outside M^w (``benchmarks.baselines``)."""
