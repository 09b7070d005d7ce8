"""Behaviour cloning for :class:`FlowMLPPolicy`: fit normalization, then minimize the flow loss."""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from latent_mdp.policies.flow_mlp import FlowMLPConfig, FlowMLPPolicy

__all__ = ["fit_normalization", "train_flow_bc"]


def fit_normalization(config: FlowMLPConfig, observations: np.ndarray, chunks: np.ndarray) -> FlowMLPConfig:
    """Set ``config``'s mean and std from observations ``(N, O)`` and action chunks ``(N, H, A)``.

    With ``relative_action_obs_dims`` the action statistics are those of the relative actions.
    """
    if config.relative_action_obs_dims:
        chunks = chunks - observations[:, None, config.relative_action_obs_dims]
    flat_actions = chunks.reshape(-1, chunks.shape[-1])
    config.obs_mean = observations.mean(0).tolist()
    config.obs_std = np.maximum(observations.std(0), 1e-3).tolist()
    config.action_mean = flat_actions.mean(0).tolist()
    config.action_std = np.maximum(flat_actions.std(0), 1e-3).tolist()
    return config


def train_flow_bc(
    policy: FlowMLPPolicy,
    observations: np.ndarray,
    chunks: np.ndarray,
    *,
    steps: int,
    batch_size: int = 256,
    lr: float = 3e-4,
    seed: int = 0,
    progress: bool = True,
) -> list[float]:
    """Train ``policy`` by flow-matching BC on observations ``(N, O)`` and chunks ``(N, H, A)``.

    Uses AdamW with a cosine learning-rate decay. Returns the loss of every step.
    """
    if observations.shape[0] != chunks.shape[0]:
        raise ValueError(f"{observations.shape[0]} observations but {chunks.shape[0]} action chunks")
    expected = (policy.chunk_size, policy.action_dim)
    if chunks.shape[1:] != expected:
        raise ValueError(f"action chunks must have shape (N, {expected[0]}, {expected[1]}); got {chunks.shape}")
    generator = torch.Generator().manual_seed(seed)
    obs = policy.normalize_obs(observations)
    actions = policy.normalize_actions(chunks, policy.action_offset(observations))
    optimizer = torch.optim.AdamW(policy.net.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    policy.net.train()
    losses: list[float] = []
    bar = tqdm(range(steps), desc="flow BC", disable=not progress)
    for step in bar:
        index = torch.randint(0, obs.shape[0], (batch_size,), generator=generator)
        loss = policy.flow_matching_loss(obs[index], actions[index], generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if step % 100 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-100:]):.4f}")
    policy.net.eval()
    return losses
