"""Many clients' requests as one policy call: the server's batching, without the server.

:func:`encode_many` joins the observation batches of several requests into one ``encode`` and
splits the context back per request (:meth:`PolicyContext.take`). :func:`decode_many` joins the
contexts of several requests, each row repeated for its own number of noises per context ``K``
(:meth:`PolicyContext.concat`), into one ``decode`` with ``K = 1``. Each returns one result per
request, or the exception that request alone raised: a bad request fails by itself (its batch is
retried one request at a time), never the others in its batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from latent_mdp.observations import batch_size_of
from latent_mdp.policy import NoisePolicy, Observation, PolicyContext, check_noise, decode_checked, encode_checked

__all__ = ["decode_many", "encode_many"]


def _concat_observations(observations: Sequence[Observation]) -> Observation:
    """Batches ``(B_i, ...)`` as one ``(sum B_i, ...)`` batch."""
    if isinstance(observations[0], dict):
        keys = list(observations[0])
        if any(not isinstance(o, dict) or list(o) != keys for o in observations):
            raise ValueError("observation batches with different keys cannot share one encode")
        return {key: np.concatenate([o[key] for o in observations]) for key in keys}  # type: ignore[index]
    return np.concatenate(observations)  # type: ignore[arg-type]


def _offsets(sizes: Sequence[int]) -> list[tuple[int, int]]:
    ends = np.cumsum(sizes).tolist()
    return [(end - size, end) for size, end in zip(sizes, ends)]


def _one_row_per_noise(ctx: PolicyContext, noise: torch.Tensor) -> PolicyContext:
    """``ctx`` with each of its ``B`` rows repeated ``K = N / B`` times, for ``N`` noises (``repeat_interleave``)."""
    return ctx.take(torch.arange(ctx.batch_size).repeat_interleave(noise.shape[0] // ctx.batch_size))


def encode_many(policy: NoisePolicy, observations: Sequence[Observation]) -> list[PolicyContext | Exception]:
    """One context per request's observation batch ``(B_i, ...)``, from one ``encode`` when they fit together."""
    sizes = [batch_size_of(obs) for obs in observations]
    if len(observations) > 1:
        try:
            ctx = encode_checked(policy, _concat_observations(observations), sum(sizes))
            return [ctx.take(torch.arange(start, end)) for start, end in _offsets(sizes)]
        except Exception:  # noqa: BLE001  (fall back below, where each request gets its own error)
            pass
    results: list[PolicyContext | Exception] = []
    for obs, size in zip(observations, sizes):
        try:
            results.append(encode_checked(policy, obs, size))
        except Exception as error:  # noqa: BLE001  (the request's own error goes back to its client)
            results.append(error)
    return results


def decode_many(policy: NoisePolicy, requests: Sequence[tuple[PolicyContext, torch.Tensor]]) -> list[torch.Tensor | Exception]:
    """Actions ``(B_i*K_i, H, A)`` per request ``(ctx_i, noise_i)``, from one ``decode`` when they fit together.

    Args:
        requests: each a context of ``B_i`` rows and noise ``(B_i*K_i, H, D)``.
    """
    results: list[torch.Tensor | Exception | None] = [None] * len(requests)
    valid = []
    for i, (ctx, noise) in enumerate(requests):
        try:
            check_noise(policy, noise, ctx.batch_size)
            valid.append(i)
        except ValueError as error:
            results[i] = error
    if len(valid) > 1:
        try:
            rows = [_one_row_per_noise(*requests[i]) for i in valid]
            noise = torch.cat([requests[i][1] for i in valid])
            actions = decode_checked(policy, type(rows[0]).concat(rows), noise)
            for i, (start, end) in zip(valid, _offsets([requests[i][1].shape[0] for i in valid])):
                results[i] = actions[start:end]
            return results  # type: ignore[return-value]
        except Exception:  # noqa: BLE001  (fall back below, where each request gets its own error)
            pass
    for i in valid:
        ctx, noise = requests[i]
        try:
            results[i] = decode_checked(policy, ctx, noise)
        except Exception as error:  # noqa: BLE001
            results[i] = error
    return results  # type: ignore[return-value]
