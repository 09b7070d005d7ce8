"""The one contract every frozen base policy meets: :class:`NoisePolicy`.

A noise-conditioned policy maps an observation ``s`` and an initial noise ``w`` deterministically
to an action chunk ``a = pi_dp(s, w)``. The contract splits that map in two:

* ``encode(obs_batch) -> ctx``: the expensive, noise-free part (an observation embedding, a VLM
  prefix and its KV cache). It runs once per observation.
* ``decode(ctx, noise) -> actions``: the integration from the noise to the action chunk. It runs
  once per noise, and any number of noises may share one context.

Shapes: ``B`` observations, ``K`` noises per observation, chunk size ``H``, noise dim ``D``,
action dim ``A``. Noise row ``i`` of a ``(B*K, H, D)`` batch belongs to context ``i // K``
(the ``repeat_interleave`` order).
"""

from __future__ import annotations

import abc

import numpy as np
import torch

__all__ = ["NoisePolicy", "PolicyContext", "TensorContext", "decode_checked", "encode_checked"]

Observation = np.ndarray | dict[str, np.ndarray]
"""A batch of Gymnasium observations: an array ``(B, ...)`` or a dict of such arrays."""


class PolicyContext(abc.ABC):
    """What ``encode`` returns: opaque to callers, except for its batch size ``B``."""

    @property
    @abc.abstractmethod
    def batch_size(self) -> int:
        """Number of observations ``B`` this context was encoded from."""


class TensorContext(PolicyContext):
    """A context that is a dict of tensors sharing the leading batch axis ``(B, ...)``."""

    def __init__(self, **tensors: torch.Tensor) -> None:
        if not tensors:
            raise ValueError("TensorContext needs at least one tensor")
        sizes = {name: t.shape[0] for name, t in tensors.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"TensorContext tensors disagree on the batch size: {sizes}")
        self.tensors = tensors

    @property
    def batch_size(self) -> int:
        return next(iter(self.tensors.values())).shape[0]

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.tensors[name]


class NoisePolicy(abc.ABC):
    """A frozen policy that is deterministic given its initial noise.

    Attributes:
        chunk_size: ``H``, the number of actions one decode produces.
        noise_dim: ``D``, the width of the noise (pi0/SmolVLA pad it to 32).
        action_dim: ``A``, the width of one action, in env units.
        feature_dim: ``F``, the width of :meth:`features`, or 0 when the policy has none.
    """

    chunk_size: int
    noise_dim: int
    action_dim: int
    feature_dim: int = 0

    @property
    def name(self) -> str:
        """A short human name used in error messages."""
        return type(self).__name__

    @property
    def device(self) -> torch.device:
        """Where :meth:`decode` expects its noise."""
        return torch.device("cpu")

    @abc.abstractmethod
    def encode(self, obs_batch: Observation) -> PolicyContext:
        """Encode ``B`` observations once: the noise-independent, expensive part.

        Args:
            obs_batch: Gymnasium observations with a leading batch axis ``(B, ...)`` (dict obs:
                a dict of such arrays).
        """

    @abc.abstractmethod
    def decode(self, ctx: PolicyContext, noise: torch.Tensor) -> torch.Tensor:
        """Integrate ``B*K`` noises against ``B`` contexts into action chunks.

        Args:
            ctx: from :meth:`encode`, batch size ``B``.
            noise: ``(B*K, H, D)`` float32 on :attr:`device`; row ``i`` uses context ``i // K``.

        Returns:
            ``(B*K, H, A)`` float32 actions in env units. Deterministic in ``noise``.
        """

    def features(self, ctx: PolicyContext) -> torch.Tensor:
        """A fixed-size description of each observation for the latent actor: ``(B, F)``."""
        raise NotImplementedError(f"{self.name} provides no features (feature_dim = 0)")

    def invert(self, ctx: PolicyContext, actions: torch.Tensor) -> torch.Tensor:
        """Optional: the noise ``(B, H, D)`` that :meth:`decode` maps to the chunks ``actions`` ``(B, H, A)``.

        Policies that can run their sampler backward implement it (:class:`FlowMLPPolicy` does);
        it turns demonstrations into latent actions (:mod:`latent_mdp.demo_noise`).
        """
        raise NotImplementedError(f"{self.name} cannot invert its sampler: demonstrations cannot become its noises")

    def sample_noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` standard-normal noises ``(n, H, D)`` on :attr:`device`."""
        return torch.randn(
            (n, self.chunk_size, self.noise_dim), generator=generator, device="cpu"
        ).to(self.device)


def encode_checked(policy: NoisePolicy, obs_batch: Observation, batch_size: int) -> PolicyContext:
    """``policy.encode`` under no-grad, with a clear error if the batch size comes back wrong."""
    with torch.no_grad():
        ctx = policy.encode(obs_batch)
    if ctx.batch_size != batch_size:
        raise ValueError(
            f"{policy.name}.encode returned a context of batch size {ctx.batch_size} for "
            f"{batch_size} observations"
        )
    return ctx


def decode_checked(policy: NoisePolicy, ctx: PolicyContext, noise: torch.Tensor) -> torch.Tensor:
    """``policy.decode`` under no-grad, checking the shapes the contract promises.

    Args:
        noise: ``(B*K, H, D)``.

    Returns:
        ``(B*K, H, A)`` float32 actions.

    Raises:
        ValueError: the noise does not fit the policy, or the policy returned a wrong shape or
            non-finite actions; the message names the policy.
    """
    expected_noise = (policy.chunk_size, policy.noise_dim)
    if noise.ndim != 3 or tuple(noise.shape[1:]) != expected_noise or noise.shape[0] % ctx.batch_size:
        raise ValueError(
            f"{policy.name}.decode expects noise of shape (B*K, {expected_noise[0]}, "
            f"{expected_noise[1]}) with B = {ctx.batch_size}; got {tuple(noise.shape)}"
        )
    with torch.no_grad():
        actions = policy.decode(ctx, noise)
    expected = (noise.shape[0], policy.chunk_size, policy.action_dim)
    if not isinstance(actions, torch.Tensor) or tuple(actions.shape) != expected:
        got = tuple(actions.shape) if hasattr(actions, "shape") else type(actions).__name__
        raise ValueError(
            f"{policy.name}.decode returned actions of shape {got}; the NoisePolicy contract "
            f"requires (B*K, H, A) = {expected}"
        )
    if not torch.isfinite(actions).all():
        raise ValueError(f"{policy.name}.decode returned non-finite actions (NaN or inf)")
    return actions

