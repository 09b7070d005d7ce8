"""Networks of DSRL-NA: the action critic Q^A, the noise critic Q^w and the noise actor pi^w.

All are MLPs with LayerNorm (``Linear -> LayerNorm -> ReLU`` per hidden layer). They read the
M^w observation as one vector ``(B, O)`` (:class:`VectorObservationExtractor`, no parameters, so
the three networks share it): a ``Box`` flattened, or the vector entries of a ``Dict`` concatenated.
Image entries are left out when the observation also holds the base policy's features
(``obs_mode="both"``), which stand for them; an MLP on raw pixels is not offered.

* :class:`ChunkCritic` -- an ensemble ``Q^A_e(s, a)``, ``a`` a chunk ``(B, h, A)`` in env units. The
  chunk is clipped to the inner env's action box (as the env clips what it executes), scaled to
  ``[-1, 1]`` where the box is finite, and flattened.
* :class:`NoiseCritic` -- ``Q^w(s, u)``. It reads the RL action ``u in [-1, 1]^k`` rather than the
  noise ``w = NoiseSpace(u)``: ``w`` is an affine function of ``u``, so this is the same critic in
  smaller coordinates (``k = D`` for ``repeat`` instead of ``H * D``).
* :class:`NoiseActor` -- a tanh-squashed Gaussian over ``u`` (SAC's), so every noise it proposes
  lies in ``[-b_w, b_w]``.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import SquashedDiagGaussianDistribution
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import get_flattened_obs_dim, is_image_space
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from agents.env_access import ChunkSpec
from latent_mdp.observations import FEATURES_KEY

__all__ = ["ChunkCritic", "DSRLNAPolicy", "NoiseActor", "NoiseCritic", "VectorObservationExtractor", "mlp"]

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


def mlp(in_dim: int, hidden: list[int], out_dim: int) -> nn.Sequential:
    """``Linear -> LayerNorm -> ReLU`` for each hidden width, then a final ``Linear``."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.LayerNorm(width), nn.ReLU()]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class VectorObservationExtractor(BaseFeaturesExtractor):
    """The M^w observation as one vector ``(B, O)``.

    A ``Box`` is flattened. A ``Dict`` gives the concatenation of its flattened vector entries
    (``keys``, in the space's order); image entries are dropped when the base policy's features
    are among the entries.

    Raises:
        TypeError: a ``Dict`` with images but no policy features (``obs_mode="env"`` on pixels), or
            another kind of space.
    """

    def __init__(self, observation_space: spaces.Space) -> None:
        if isinstance(observation_space, spaces.Box):
            keys: list[str] = []
            dim = get_flattened_obs_dim(observation_space)
        elif isinstance(observation_space, spaces.Dict):
            subspaces = observation_space.spaces
            images = [key for key, sub in subspaces.items() if is_image_space(sub, check_channels=False)]
            if images and FEATURES_KEY not in subspaces:
                raise TypeError(
                    f"DSRL-NA's networks are MLPs and read no images, but the observation's {images} are "
                    "images: use obs_mode='policy' or 'both', so the base policy's features stand for them"
                )
            keys = [key for key in subspaces if key not in images]
            if any(not isinstance(subspaces[key], spaces.Box) for key in keys):
                raise TypeError(f"DSRL-NA reads Box entries only; got {observation_space}")
            dim = sum(get_flattened_obs_dim(subspaces[key]) for key in keys)
        else:
            raise TypeError(f"DSRL-NA reads Box or Dict observations; got {observation_space}")
        super().__init__(observation_space, dim)
        self.keys = keys

    def forward(self, observations: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        if isinstance(observations, dict):
            return torch.cat([observations[key].flatten(1) for key in self.keys], dim=1)
        return observations.flatten(1)


class ChunkCritic(nn.Module):
    """An ensemble of ``n_critics`` action critics ``Q^A(s, a_chunk)``.

    Args:
        obs_dim: ``O``.
        chunk: the chunk spec ``(h, A)`` and the inner action bounds.
        hidden: hidden widths.
        n_critics: ensemble size.
    """

    def __init__(self, obs_dim: int, chunk: ChunkSpec, hidden: list[int], n_critics: int) -> None:
        super().__init__()
        low, high = torch.tensor(chunk.low), torch.tensor(chunk.high)
        finite = torch.isfinite(low) & torch.isfinite(high)
        self.register_buffer("low", low.float())  # the env clips executed actions to its box too
        self.register_buffer("high", high.float())
        self.register_buffer("center", torch.where(finite, (low + high) / 2, torch.zeros_like(low)).float())
        self.register_buffer("half_width", torch.where(finite, (high - low) / 2, torch.ones_like(low)).float())
        in_dim = obs_dim + chunk.horizon * chunk.action_dim
        self.q_nets = nn.ModuleList(mlp(in_dim, hidden, 1) for _ in range(n_critics))

    def forward(self, obs: torch.Tensor, chunk: torch.Tensor) -> torch.Tensor:
        """``obs`` ``(B, O)``, ``chunk`` ``(B, h, A)`` in env units -> ``(n_critics, B)``."""
        scaled = (torch.clamp(chunk, self.low, self.high) - self.center) / self.half_width
        x = torch.cat([obs, scaled.flatten(1)], dim=1)
        return torch.stack([q(x).squeeze(-1) for q in self.q_nets])


class NoiseCritic(nn.Module):
    """``Q^w(s, u)``: ``obs`` ``(B, O)``, ``u`` ``(B, k)`` -> ``(B,)``."""

    def __init__(self, obs_dim: int, latent_dim: int, hidden: list[int]) -> None:
        super().__init__()
        self.q_net = mlp(obs_dim + latent_dim, hidden, 1)

    def forward(self, obs: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.q_net(torch.cat([obs, u], dim=1)).squeeze(-1)


class NoiseActor(nn.Module):
    """``pi^w(u | s)``: a tanh-squashed diagonal Gaussian on ``[-1, 1]^k`` (SAC's actor)."""

    def __init__(self, obs_dim: int, latent_dim: int, hidden: list[int]) -> None:
        super().__init__()
        self.net = mlp(obs_dim, hidden, 2 * latent_dim)
        self.distribution = SquashedDiagGaussianDistribution(latent_dim)

    def _params(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_std = self.net(obs).chunk(2, dim=-1)
        return mean, torch.clamp(log_std, LOG_STD_MIN, LOG_STD_MAX)

    def forward(self, obs: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        """``(B, O)`` -> ``u`` ``(B, k)`` in ``[-1, 1]``: the squashed mean, or a sample."""
        return self.distribution.actions_from_params(*self._params(obs), deterministic=deterministic)

    def action_log_prob(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterized sample ``u`` ``(B, k)`` and its log-density ``(B,)``."""
        return self.distribution.log_prob_from_params(*self._params(obs))


class DSRLNAPolicy(BasePolicy):
    """The noise actor, the action-critic ensemble with its target, and the noise critic.

    Args:
        observation_space: the M^w observation space (``Box``).
        action_space: the RL action space ``[-1, 1]^k``.
        lr_schedule: learning-rate schedule of all optimizers.
        chunk: the executed-chunk spec (set by :class:`agents.DSRLNA` from the env).
        net_arch: hidden widths of every network (default ``[256, 256, 256]``), or a dict with
            keys ``pi`` (actor), ``qa`` (action critic) and ``qw`` (noise critic).
        n_critics: size of the action-critic ensemble.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        *,
        chunk: ChunkSpec,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        n_critics: int = 2,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            observation_space,
            action_space,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            squash_output=True,
        )
        net_arch = [256, 256, 256] if net_arch is None else net_arch
        arch = net_arch if isinstance(net_arch, dict) else {"pi": net_arch, "qa": net_arch, "qw": net_arch}
        self.net_arch = net_arch
        self.chunk = chunk
        self.n_critics = n_critics
        self.features_extractor = VectorObservationExtractor(observation_space)
        obs_dim = self.features_extractor.features_dim
        latent_dim = action_space.shape[0]
        self.actor = NoiseActor(obs_dim, latent_dim, arch["pi"])
        self.chunk_critic = ChunkCritic(obs_dim, chunk, arch["qa"], n_critics)
        self.chunk_critic_target = ChunkCritic(obs_dim, chunk, arch["qa"], n_critics)
        self.chunk_critic_target.load_state_dict(self.chunk_critic.state_dict())
        self.chunk_critic_target.requires_grad_(False)
        self.noise_critic = NoiseCritic(obs_dim, latent_dim, arch["qw"])
        for name in ("actor", "chunk_critic", "noise_critic"):
            net = getattr(self, name)
            net.optimizer = self.optimizer_class(net.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {
            **super()._get_constructor_parameters(),
            "chunk": self.chunk,
            "net_arch": self.net_arch,
            "n_critics": self.n_critics,
            "optimizer_class": self.optimizer_class,
            "optimizer_kwargs": self.optimizer_kwargs,
        }

    def features(self, obs: torch.Tensor | dict[str, torch.Tensor]) -> torch.Tensor:
        """The networks' input ``(B, O)`` float32 from M^w observations (see :class:`VectorObservationExtractor`)."""
        if isinstance(obs, dict):  # skip preprocessing entries the extractor drops (images)
            obs = {key: obs[key] for key in self.features_extractor.keys}
        return self.extract_features(obs, self.features_extractor).float()

    def _predict(self, observation: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        return self.actor(self.features(observation), deterministic=deterministic)

    def set_training_mode(self, mode: bool) -> None:
        self.actor.train(mode)
        self.chunk_critic.train(mode)
        self.noise_critic.train(mode)
        self.training = mode
