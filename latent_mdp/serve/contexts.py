"""The server's store of encoded contexts, so that a VLM prefix and its KV cache never cross the wire.

``encode`` puts a context in and hands the client its handle; ``decode`` looks it up. The store is
bounded both ways: a context lives ``ttl_s`` seconds after its last use, and at most
``max_contexts`` are kept (the least recently used goes first). A handle that is no longer held
raises :class:`~latent_mdp.serve.errors.ContextExpiredError`, never a wrong context.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from latent_mdp.policy import PolicyContext
from latent_mdp.serve.errors import ContextExpiredError

__all__ = ["ContextStore"]


class ContextStore:
    """Contexts by handle, with a time-to-live and a capacity.

    Args:
        ttl_s: seconds a context is kept after it was stored or last used.
        max_contexts: the most contexts held at once.
        clock: the time source (seconds); :func:`time.monotonic` by default.

    Example:
        >>> import torch
        >>> from latent_mdp.policy import TensorContext
        >>> store = ContextStore(ttl_s=60, max_contexts=2)
        >>> handle = store.put(TensorContext(x=torch.zeros(3, 4)))
        >>> store.get(handle).batch_size
        3
    """

    def __init__(self, ttl_s: float, max_contexts: int, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_s <= 0 or max_contexts < 1:
            raise ValueError(f"ContextStore needs ttl_s > 0 and max_contexts >= 1; got {ttl_s} and {max_contexts}")
        self.ttl_s, self.max_contexts, self._clock = float(ttl_s), int(max_contexts), clock
        self._held: OrderedDict[str, tuple[PolicyContext, float]] = OrderedDict()

    def __len__(self) -> int:
        self._expire()
        return len(self._held)

    def _expire(self) -> None:
        now = self._clock()
        while self._held:
            handle, (_, last_used) = next(iter(self._held.items()))
            if now - last_used <= self.ttl_s:
                break
            del self._held[handle]

    def put(self, ctx: PolicyContext) -> str:
        """Store ``ctx`` and return its new handle (evicting the least recently used beyond the capacity)."""
        self._expire()
        handle = uuid.uuid4().hex
        self._held[handle] = (ctx, self._clock())
        while len(self._held) > self.max_contexts:
            self._held.popitem(last=False)
        return handle

    def get(self, handle: str) -> PolicyContext:
        """The context under ``handle``, which counts as a use.

        Raises:
            ContextExpiredError: no context is held under ``handle``.
        """
        self._expire()
        if handle not in self._held:
            raise ContextExpiredError(
                f"context handle {handle!r} is not held by the policy server: contexts live {self.ttl_s:g} s after "
                f"their last use and at most {self.max_contexts} are kept (or the server restarted); encode the observation again"
            )
        ctx, _ = self._held.pop(handle)
        self._held[handle] = (ctx, self._clock())
        return ctx
