"""`RemoteNoisePolicy`: a policy server's policy as a local :class:`~latent_mdp.NoisePolicy`.

    >>> policy = RemoteNoisePolicy("http://127.0.0.1:8000")        # doctest: +SKIP
    >>> env = gym.make("DSRL-PushT-pi0-v0", policy_server="http://127.0.0.1:8000")  # doctest: +SKIP

Everything built on the contract takes it as it takes a local policy: the wrappers, the vector
envs, SB3 algorithms and DSRL-NA. ``encode`` returns a :class:`RemoteContext`, a handle to the
context the server keeps, with the features (which every latent step reads) brought back at once.

The client needs no Ray: it speaks HTTP (one keep-alive connection per process) with
:mod:`latent_mdp.serve.wire` bodies. Its behaviour on failure:

* a noise of the wrong shape or dtype, or NaN noise, raises the local path's ``ValueError``
  before anything is sent (the server checks again);
* a refused or dropped connection, or an HTTP error from Ray's proxy while the application is
  not deployed (yet), is retried ``retries`` times, ``retry_wait_s`` apart, and then
  raises :class:`~latent_mdp.serve.errors.PolicyServerUnavailable`;
* a request that takes longer than ``timeout_s`` raises
  :class:`~latent_mdp.serve.errors.PolicyServerTimeout` (not retried: the server may be busy);
* a decode whose handle the server no longer holds (it expired, or the server restarted)
  re-encodes the context's observations once, which gives the same context because ``encode`` is
  deterministic, and decodes again; with ``reencode_expired=False`` it raises
  :class:`~latent_mdp.serve.errors.ContextExpiredError` instead.

After any error the connection is closed, so a late answer is never read as the next one's.
"""

from __future__ import annotations

import http.client
import os
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from latent_mdp.policy import NoisePolicy, Observation, PolicyContext, check_noise
from latent_mdp.serve.errors import ContextExpiredError, PolicyServerError, PolicyServerTimeout, PolicyServerUnavailable
from latent_mdp.serve.wire import arrays_from_observation, pack, unpack

__all__ = ["RemoteContext", "RemoteNoisePolicy"]


class _NotReady(Exception):
    """The address answers HTTP, but not (yet) as a policy server."""


@dataclass
class RemoteContext(PolicyContext):
    """A context held by the server.

    Attributes:
        handle: the server's name for it.
        rows: ``B``, the number of observations encoded.
        observation: the encoded batch ``(B, ...)``, kept to re-encode an expired handle.
        feature_rows: ``(B, F)`` features, or ``None`` when the policy has none.
    """

    handle: str
    rows: int
    observation: Observation
    feature_rows: torch.Tensor | None

    @property
    def batch_size(self) -> int:
        return self.rows


class RemoteNoisePolicy(NoisePolicy):
    """The policy a server hosts, behind the :class:`NoisePolicy` contract.

    Args:
        address: the server's URL, e.g. ``"http://127.0.0.1:8000"``.
        timeout_s: the longest a request may take.
        retries: how many times a refused or dropped connection is retried.
        retry_wait_s: seconds between retries.
        reencode_expired: re-encode and decode again when the server no longer holds a handle.

    Raises:
        PolicyServerUnavailable: no server answers at ``address``.
        ValueError: ``address`` is not an ``http://host:port`` URL.
    """

    def __init__(
        self, address: str, *, timeout_s: float = 30.0, retries: int = 2, retry_wait_s: float = 0.5, reencode_expired: bool = True
    ) -> None:
        url = urllib.parse.urlsplit(address if "://" in address else f"http://{address}")
        if url.scheme != "http" or not url.hostname or url.port is None:
            raise ValueError(f"policy server address must be http://HOST:PORT; got {address!r}")
        self.address, self._host, self._port, self._prefix = address, url.hostname, url.port, url.path.rstrip("/")
        self.timeout_s, self.retries, self.retry_wait_s, self.reencode_expired = float(timeout_s), int(retries), float(retry_wait_s), reencode_expired
        self._connection: http.client.HTTPConnection | None = None
        self._pid = os.getpid()
        info = self.info()
        self.remote_name = str(info["name"])
        self.chunk_size, self.noise_dim, self.action_dim = int(info["chunk_size"]), int(info["noise_dim"]), int(info["action_dim"])
        self.feature_dim = int(info["feature_dim"])
        self.recommended_action_horizon = info.get("recommended_action_horizon")
        self.server_info = info

    def info(self) -> dict[str, Any]:
        """The server's ``/info`` now: the policy's shapes, the server's settings and its ``batching`` counts."""
        return self._call("info", {})[0]

    @property
    def name(self) -> str:
        return f"{self.remote_name} at {self.address}"

    # --- transport ------------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_connection": None}  # a socket does not travel to another process

    def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _open(self) -> http.client.HTTPConnection:
        if self._connection is None or self._pid != os.getpid():  # a forked worker opens its own
            self._connection, self._pid = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout_s), os.getpid()
        return self._connection

    def _send(self, route: str, body: bytes) -> tuple[int, bytes]:
        connection = self._open()
        try:
            connection.request("POST", f"{self._prefix}/{route}", body=body, headers={"Content-Type": "application/x-latent-mdp"})
            response = connection.getresponse()
            return response.status, response.read()
        except BaseException:
            self.close()
            raise

    def _call(self, route: str, header: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        body = pack(header, arrays)
        for attempt in range(self.retries + 1):
            try:
                status, data = self._send(route, body)
                reply, reply_arrays = self._read_reply(status, data)
                break
            except TimeoutError as error:
                raise PolicyServerTimeout(f"the policy server at {self.address} did not answer {route} within {self.timeout_s:g} s") from error
            except (ConnectionError, http.client.HTTPException, OSError, _NotReady) as error:
                if attempt == self.retries:
                    raise PolicyServerUnavailable(
                        f"no policy server answers at {self.address} ({type(error).__name__}: {error}; tried {self.retries + 1} times, "
                        f"{self.retry_wait_s:g} s apart); start it with `latent-mdp serve POLICY_PATH` and continue a run with --resume"
                    ) from error
                time.sleep(self.retry_wait_s)
        if status == 200:
            return reply, reply_arrays
        message = f"{reply.get('message', '')} (policy server at {self.address})"
        if status == 400:
            raise ValueError(message)
        if status == 410:
            raise ContextExpiredError(message)
        raise PolicyServerError(f"{route} failed on the server with {reply.get('error', status)}: {message}")

    def _read_reply(self, status: int, data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The reply's header and arrays.

        Raises:
            _NotReady: an error status whose body is not a wire message: Ray's HTTP proxy answers
                404 or 503 itself while the application is still deploying (or shutting down).
            ValueError: a 200 reply that is not a wire message.
        """
        try:
            return unpack(data)
        except ValueError:
            if status == 200:
                raise
            self.close()
            raise _NotReady(f"HTTP {status} from something other than the policy application: {data[:200]!r}") from None

    # --- NoisePolicy ----------------------------------------------------------------------------
    def encode(self, obs_batch: Observation) -> RemoteContext:
        """Encode ``B`` observations ``(B, ...)`` on the server; the context stays there."""
        reply, arrays = self._call("encode", {}, arrays_from_observation(obs_batch))
        features = torch.from_numpy(arrays["features"]) if "features" in arrays else None
        return RemoteContext(str(reply["handle"]), int(reply["batch_size"]), obs_batch, features)

    def _with_handle(self, route: str, ctx: PolicyContext, name: str, values: np.ndarray) -> dict[str, np.ndarray]:
        if not isinstance(ctx, RemoteContext):
            raise TypeError(f"{self.name} takes the RemoteContext its encode returned; got {type(ctx).__name__}")
        try:
            return self._call(route, {"handle": ctx.handle}, {name: values})[1]
        except ContextExpiredError:
            if not self.reencode_expired:
                raise
            fresh = self.encode(ctx.observation)
            ctx.handle = fresh.handle
            return self._call(route, {"handle": ctx.handle}, {name: values})[1]

    def decode(self, ctx: PolicyContext, noise: torch.Tensor) -> torch.Tensor:
        """Actions ``(B*K, H, A)`` for noise ``(B*K, H, D)`` float32, decoded on the server."""
        check_noise(self, noise, ctx.batch_size)
        actions = self._with_handle("decode", ctx, "noise", noise.detach().cpu().numpy())["actions"]
        return torch.from_numpy(actions).to(noise.device)

    def features(self, ctx: PolicyContext) -> torch.Tensor:
        """The ``(B, F)`` features the server sent back with the encode."""
        if not isinstance(ctx, RemoteContext) or ctx.feature_rows is None:
            raise NotImplementedError(f"{self.name} provides no features (feature_dim = 0)")
        return ctx.feature_rows

    def invert(self, ctx: PolicyContext, actions: torch.Tensor | np.ndarray) -> torch.Tensor:
        """The noise ``(B, H, D)`` the server's policy decodes to ``actions`` ``(B, H, A)``."""
        values = np.asarray(actions.detach().cpu() if isinstance(actions, torch.Tensor) else actions, dtype=np.float32)
        if values.shape[0] != ctx.batch_size:
            raise ValueError(f"{self.name}.invert expects one chunk per context row; got {values.shape[0]} for {ctx.batch_size}")
        return torch.from_numpy(self._with_handle("invert", ctx, "actions", values)["noise"])
