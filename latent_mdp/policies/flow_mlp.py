"""`FlowMLPPolicy`: a small flow-matching MLP on state observations, a NoisePolicy without LeRobot.

The policy predicts a chunk of ``H`` actions from a state observation. Training follows the
flow-matching convention LeRobot's pi0 and SmolVLA use: ``x_t = t * noise + (1 - t) * action``,
the network regresses the velocity ``noise - action``, and sampling integrates with Euler steps
from ``t = 1`` (the noise) to ``t = 0`` (the action chunk). Given the noise, sampling is
deterministic, which is what DSRL steers.

Observations and actions are standardized (mean 0, std 1 per column) with statistics stored in
the config, so ``decode`` returns actions in env units. Standardizing the actions matters: the
flow starts from ``N(0, I)`` noise, and actions scaled by their range instead (``[-1, 1]`` from
min/max) spread with a std of about 0.1 on PushT, so the noise swamped them. On PushT the same
network and data reached 4% base success with min/max scaling after 60k steps, 84% with
standardization after 20k. Two options help on tasks like PushT:

* ``periodic_obs_dims``: angles enter the network as ``(sin, cos)``, with no jump at ``2 pi``;
* ``relative_action_obs_dims``: action column ``j`` is predicted relative to observation column
  ``relative_action_obs_dims[j]`` (e.g. a target position relative to the agent's position) and
  the observation is added back after decoding.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from latent_mdp.policies.checkpoint_files import check_weights_file, read_config
from latent_mdp.policy import NoisePolicy, Observation, TensorContext

__all__ = ["FlowMLPConfig", "FlowMLPPolicy"]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


@dataclass
class FlowMLPConfig:
    """Sizes and normalization statistics of a :class:`FlowMLPPolicy`.

    The statistics default to the identity; :func:`latent_mdp.policies.flow_bc.fit_normalization`
    sets them from data.
    """

    obs_dim: int
    action_dim: int
    chunk_size: int = 8
    hidden_dim: int = 256
    n_layers: int = 3
    time_embed_dim: int = 32
    num_steps: int = 10
    periodic_obs_dims: list[int] = field(default_factory=list)
    relative_action_obs_dims: list[int] = field(default_factory=list)
    obs_mean: list[float] = field(default_factory=list)
    obs_std: list[float] = field(default_factory=list)
    action_mean: list[float] = field(default_factory=list)
    action_std: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.obs_mean = list(self.obs_mean) or [0.0] * self.obs_dim
        self.obs_std = list(self.obs_std) or [1.0] * self.obs_dim
        self.action_mean = list(self.action_mean) or [0.0] * self.action_dim
        self.action_std = list(self.action_std) or [1.0] * self.action_dim
        if len(self.obs_mean) != self.obs_dim or len(self.obs_std) != self.obs_dim:
            raise ValueError(f"obs statistics must have obs_dim={self.obs_dim} entries")
        if len(self.action_mean) != self.action_dim or len(self.action_std) != self.action_dim:
            raise ValueError(f"action statistics must have action_dim={self.action_dim} entries")
        if min(self.action_std) <= 0 or min(self.obs_std) <= 0:
            raise ValueError("standard deviations must be positive")
        if any(not 0 <= d < self.obs_dim for d in [*self.periodic_obs_dims, *self.relative_action_obs_dims]):
            raise ValueError(f"periodic and relative-action dims must index the {self.obs_dim} observation columns")
        if self.relative_action_obs_dims and len(self.relative_action_obs_dims) != self.action_dim:
            raise ValueError(f"relative_action_obs_dims needs one observation column per action column ({self.action_dim})")

    @property
    def encoder_input_dim(self) -> int:
        """Width of the network's observation input: each periodic column becomes (sin, cos)."""
        return self.obs_dim + len(self.periodic_obs_dims)


def _mlp(in_dim: int, hidden_dim: int, out_dim: int, n_layers: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(n_layers):
        layers += [nn.Linear(in_dim if i == 0 else hidden_dim, hidden_dim), nn.SiLU()]
    layers.append(nn.Linear(hidden_dim, out_dim))
    return nn.Sequential(*layers)


def _time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of flow times ``t`` ``(N,)`` -> ``(N, dim)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device) / half)
    angles = t[:, None] * freqs[None] * 100.0
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class FlowMLPNet(nn.Module):
    """Observation encoder ``(B, O) -> (B, E)`` and velocity field ``(x_t, t, emb) -> (N, H*A)``."""

    def __init__(self, config: FlowMLPConfig) -> None:
        super().__init__()
        self.config = config
        flat = config.chunk_size * config.action_dim
        self.obs_encoder = nn.Sequential(
            nn.Linear(config.encoder_input_dim, config.hidden_dim), nn.SiLU(), nn.Linear(config.hidden_dim, config.hidden_dim)
        )
        self.velocity = _mlp(flat + config.time_embed_dim + config.hidden_dim, config.hidden_dim, flat, config.n_layers)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Velocity for ``x_t`` ``(N, H, A)`` at times ``t`` ``(N,)`` given embeddings ``(N, E)``."""
        inputs = torch.cat([x_t.flatten(1), _time_embedding(t, self.config.time_embed_dim), embedding], dim=-1)
        return self.velocity(inputs).view_as(x_t)


class FlowMLPPolicy(NoisePolicy):
    """A flow-matching MLP on state observations, implementing :class:`NoisePolicy`.

    ``H = config.chunk_size``, ``D = A = config.action_dim``; :meth:`features` is the
    observation embedding ``(B, hidden_dim)``.
    """

    def __init__(self, config: FlowMLPConfig, net: FlowMLPNet | None = None) -> None:
        self.config = config
        self.net = net if net is not None else FlowMLPNet(config)
        self.chunk_size = config.chunk_size
        self.noise_dim = config.action_dim
        self.action_dim = config.action_dim
        self.feature_dim = config.hidden_dim
        self._linear_dims = [d for d in range(config.obs_dim) if d not in config.periodic_obs_dims]
        self._obs_mean = torch.tensor(config.obs_mean, dtype=torch.float32)
        self._obs_std = torch.tensor(config.obs_std, dtype=torch.float32)
        self._action_mean = torch.tensor(config.action_mean, dtype=torch.float32)
        self._action_std = torch.tensor(config.action_std, dtype=torch.float32)

    # --- normalization -------------------------------------------------------------------------
    def _as_obs(self, obs: np.ndarray | torch.Tensor) -> torch.Tensor:
        obs = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
        if obs.ndim != 2 or obs.shape[1] != self.config.obs_dim:
            raise ValueError(
                f"{self.name} expects state observations of shape (B, {self.config.obs_dim}); got {tuple(obs.shape)}"
            )
        return obs

    def normalize_obs(self, obs: np.ndarray | torch.Tensor) -> torch.Tensor:
        """``(B, O)`` env observations -> the network's input ``(B, O + P)``.

        Non-periodic columns are standardized; each of the ``P`` periodic ones becomes (sin, cos).
        """
        obs = self._as_obs(obs)
        standardized = ((obs - self._obs_mean) / self._obs_std)[:, self._linear_dims]
        periodic = obs[:, self.config.periodic_obs_dims]
        return torch.cat([standardized, periodic.sin(), periodic.cos()], dim=-1)

    def action_offset(self, obs: np.ndarray | torch.Tensor) -> torch.Tensor:
        """``(B, A)``: what decoded actions are relative to (zeros unless ``relative_action_obs_dims``)."""
        obs = self._as_obs(obs)
        if not self.config.relative_action_obs_dims:
            return torch.zeros(obs.shape[0], self.action_dim)
        return obs[:, self.config.relative_action_obs_dims]

    def normalize_actions(self, actions: np.ndarray | torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """Env-unit chunks ``(B, H, A)`` with offsets ``(B, A)`` -> the network's standardized targets."""
        relative = torch.as_tensor(np.asarray(actions), dtype=torch.float32) - offset[:, None, :]
        return (relative - self._action_mean) / self._action_std

    def unnormalize_actions(self, actions: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`normalize_actions`: ``(N, H, A)`` and ``(N, A)`` -> env units."""
        return actions * self._action_std + self._action_mean + offset[:, None, :]

    # --- NoisePolicy ---------------------------------------------------------------------------
    def encode(self, obs_batch: Observation) -> TensorContext:
        """State observations ``(B, O)`` -> context: embedding ``(B, hidden_dim)``, action offset ``(B, A)``."""
        if isinstance(obs_batch, dict):
            raise ValueError(f"{self.name} takes state observations (an array), not a dict with keys {list(obs_batch)}")
        embedding = self.net.obs_encoder(self.normalize_obs(obs_batch))
        return TensorContext(embedding=embedding, offset=self.action_offset(obs_batch))

    def decode(self, ctx: TensorContext, noise: torch.Tensor) -> torch.Tensor:
        """Euler-integrate noises ``(B*K, H, A)`` from t=1 to t=0; returns env-unit actions ``(B*K, H, A)``."""
        k = noise.shape[0] // ctx.batch_size
        embedding = ctx["embedding"].repeat_interleave(k, dim=0)
        x = noise.to(torch.float32)
        steps = self.config.num_steps
        for i in range(steps):
            t = torch.full((x.shape[0],), 1.0 - i / steps)
            x = x - self.net(x, t, embedding) / steps
        return self.unnormalize_actions(x, ctx["offset"].repeat_interleave(k, dim=0))

    def features(self, ctx: TensorContext) -> torch.Tensor:
        """The observation embedding ``(B, hidden_dim)``."""
        return ctx["embedding"]

    def invert(self, ctx: TensorContext, actions: torch.Tensor | np.ndarray, iterations: int = 8) -> torch.Tensor:  # type: ignore[override]
        """The noise that :meth:`decode` maps to ``actions``: the Euler sampler run backward.

        Each Euler step ``x' = x - v(x, t) / S`` is undone by solving ``x = x' + v(x, t) / S`` for
        ``x`` with ``iterations`` fixed-point steps (the velocity field changes little over one step,
        so a few suffice). This inverts the discrete sampler itself, not the continuous ODE, so
        decoding the result reproduces ``actions`` up to the fixed point's residual.

        Args:
            ctx: the context of ``B`` observations (:meth:`encode`).
            actions: ``(B, H, A)`` env-unit action chunks, e.g. an expert's.
            iterations: fixed-point steps per Euler step.

        Returns:
            The noise ``(B, H, A)`` (``D = A``); it is not clipped to any bound.
        """
        x = self.normalize_actions(actions, ctx["offset"])
        if x.shape != (ctx.batch_size, self.chunk_size, self.action_dim):
            raise ValueError(
                f"actions must have shape (B, H, A) = ({ctx.batch_size}, {self.chunk_size}, {self.action_dim}); got {tuple(x.shape)}"
            )
        embedding, steps = ctx["embedding"], self.config.num_steps
        with torch.no_grad():
            for i in reversed(range(steps)):
                t = torch.full((x.shape[0],), 1.0 - i / steps)
                after = x
                for _ in range(iterations):
                    x = after + self.net(x, t, embedding) / steps
        return x

    # --- training ------------------------------------------------------------------------------
    def flow_matching_loss(
        self, obs: torch.Tensor, actions: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Velocity-regression loss for network inputs ``obs`` (:meth:`normalize_obs`) and targets ``(N, H, A)``."""
        noise = torch.randn(actions.shape, generator=generator)
        t = torch.rand((actions.shape[0],), generator=generator)
        x_t = t[:, None, None] * noise + (1 - t[:, None, None]) * actions
        predicted = self.net(x_t, t, self.net.obs_encoder(obs))
        return ((predicted - (noise - actions)) ** 2).mean()

    # --- persistence ---------------------------------------------------------------------------
    def save_pretrained(self, path: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` to the directory ``path``."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / CONFIG_NAME).write_text(json.dumps({"type": "flow_mlp", **asdict(self.config)}, indent=2))
        save_file({k: v.detach().contiguous() for k, v in self.net.state_dict().items()}, str(path / WEIGHTS_NAME))
        return path

    @classmethod
    def from_pretrained(cls, path: str | Path) -> "FlowMLPPolicy":
        """Load a directory written by :meth:`save_pretrained`."""
        path = Path(path)
        config_file = path / CONFIG_NAME
        if not config_file.is_file():
            raise FileNotFoundError(f"no FlowMLPPolicy checkpoint at {path}: {CONFIG_NAME} is missing")
        raw = read_config(config_file)
        kind = raw.pop("type", None)
        if kind != "flow_mlp":
            raise ValueError(f"{config_file} is not a flow_mlp checkpoint (its type is {kind!r})")
        try:
            config = FlowMLPConfig(**raw)
        except TypeError as error:
            raise ValueError(f"{config_file} does not describe a FlowMLPConfig ({error})") from error
        policy = cls(config)
        check_weights_file(path / WEIGHTS_NAME)
        policy.net.load_state_dict(load_file(str(path / WEIGHTS_NAME)))
        policy.net.eval()
        return policy
