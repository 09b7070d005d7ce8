"""Network pieces for SB3 policies on M^w: the DSRL recipe's LayerNorm MLPs.

SB3 builds MLPs as ``Linear -> activation_fn()`` per hidden layer and takes no LayerNorm option,
so the normalization rides in the activation: :class:`LayerNormReLU` normalizes the hidden
features (without affine parameters) and applies ReLU, :class:`LayerNormTanh` applies Tanh (the
official DSRL configs' Linear -> LayerNorm -> Tanh). Pass one as
``policy_kwargs=dict(activation_fn=LayerNormReLU)``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ACTIVATIONS", "LayerNormReLU", "LayerNormTanh"]


class LayerNormReLU(nn.Module):
    """``relu(layer_norm(x))`` over the last axis, without learnable scale and shift."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(F.layer_norm(x, x.shape[-1:]))


class LayerNormTanh(nn.Module):
    """``tanh(layer_norm(x))`` over the last axis, without learnable scale and shift."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(F.layer_norm(x, x.shape[-1:]))


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "silu": nn.SiLU,
    "layernorm_relu": LayerNormReLU,
    "layernorm_tanh": LayerNormTanh,
}
"""Activation names usable in the hyperparameter YAML."""
