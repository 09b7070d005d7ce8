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
from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["NoisePolicy", "PolicyContext", "TensorContext", "check_noise", "decode_checked", "encode_checked"]

Observation = np.ndarray | dict[str, np.ndarray]
"""A batch of Gymnasium observations: an array ``(B, ...)`` or a dict of such arrays."""


class PolicyContext(abc.ABC):
    """What ``encode`` returns: opaque to callers, except for its batch size ``B``.

    A context that implements :meth:`take` and :meth:`concat` can be split by row and joined
    with others of its type, which is how a policy server batches the calls of many clients.
    """

    @property
    @abc.abstractmethod
    def batch_size(self) -> int:
        """Number of observations ``B`` this context was encoded from."""

    def take(self, index: torch.Tensor) -> PolicyContext:
        """A new context of the rows ``index`` ``(N,)`` (int64, any order, repeats allowed)."""
        raise NotImplementedError(f"{type(self).__name__} cannot be split by row")

    @classmethod
    def concat(cls, parts: Sequence[PolicyContext]) -> PolicyContext:
        """One context holding the rows of ``parts`` in order (batch size: the sum of theirs)."""
        raise NotImplementedError(f"{cls.__name__} cannot be joined with others")


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

    def take(self, index: torch.Tensor) -> TensorContext:
        return TensorContext(**{name: t.index_select(0, index.to(t.device)) for name, t in self.tensors.items()})

    @classmethod
    def concat(cls, parts: Sequence[PolicyContext]) -> TensorContext:
        tensors = [part.tensors for part in parts]  # type: ignore[attr-defined]
        if any(set(t) != set(tensors[0]) for t in tensors):
            raise ValueError(f"TensorContext.concat: the parts hold different tensors: {[sorted(t) for t in tensors]}")
        return TensorContext(**{name: torch.cat([t[name] for t in tensors]) for name in tensors[0]})


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


def check_noise(policy: NoisePolicy, noise: torch.Tensor | np.ndarray, batch_size: int) -> None:
    """Raise ``ValueError`` unless ``noise`` is a finite float32 ``(B*K, H, D)`` batch for ``batch_size`` contexts.

    The local decode (:func:`decode_checked`) and both ends of a policy server check noise with
    this one function, so that a bad noise fails with the same message everywhere.
    """
    expected_noise = (policy.chunk_size, policy.noise_dim)
    if noise.ndim != 3 or tuple(noise.shape[1:]) != expected_noise or noise.shape[0] % batch_size or not noise.shape[0]:
        raise ValueError(
            f"{policy.name}.decode expects noise of shape (B*K, {expected_noise[0]}, "
            f"{expected_noise[1]}) with B = {batch_size}; got {tuple(noise.shape)}"
        )
    if str(noise.dtype).removeprefix("torch.") != "float32":
        raise ValueError(f"{policy.name}.decode expects float32 noise; got {str(noise.dtype).removeprefix('torch.')}")
    finite = torch.isfinite(noise).all() if isinstance(noise, torch.Tensor) else np.isfinite(noise).all()
    if not finite:
        raise ValueError(f"{policy.name}.decode got non-finite noise (NaN or inf)")


def decode_checked(policy: NoisePolicy, ctx: PolicyContext, noise: torch.Tensor) -> torch.Tensor:
    """``policy.decode`` under no-grad, checking the shapes the contract promises.

    Args:
        noise: ``(B*K, H, D)`` float32.

    Returns:
        ``(B*K, H, A)`` float32 actions.

    Raises:
        ValueError: the noise does not fit the policy (:func:`check_noise`), or the policy
            returned a wrong shape or non-finite actions; the message names the policy.
    """
    check_noise(policy, noise, ctx.batch_size)
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

