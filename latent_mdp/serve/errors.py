"""What can go wrong between a client and a policy server, as exceptions a caller can tell apart.

Bad input (a noise of the wrong shape or dtype, NaN noise, an observation the policy cannot read)
raises ``ValueError`` with the same message as the local path, on either side. The rest are
:class:`PolicyServerError`:

* :class:`PolicyServerUnavailable`: no server answers at the address (never started, killed, or
  restarting), after the client's documented retries;
* :class:`PolicyServerTimeout`: a request took longer than the client's ``timeout_s``;
* :class:`ContextExpiredError`: the server no longer holds a context handle (it expired, was
  evicted, or the server restarted);
* :class:`PolicyServerError` itself: the server failed on a request in an unexpected way.
"""

from __future__ import annotations

__all__ = ["ContextExpiredError", "PolicyServerError", "PolicyServerTimeout", "PolicyServerUnavailable"]


class PolicyServerError(RuntimeError):
    """A policy server could not answer a request; no action was produced for it."""


class PolicyServerUnavailable(PolicyServerError, ConnectionError):
    """No policy server answers at the address."""


class PolicyServerTimeout(PolicyServerError, TimeoutError):
    """A request to the policy server took longer than the client's timeout."""


class ContextExpiredError(PolicyServerError, KeyError):
    """The server holds no context under a handle: it expired, was evicted, or the server restarted."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
