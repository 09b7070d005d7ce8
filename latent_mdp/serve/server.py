"""Any :class:`~latent_mdp.NoisePolicy` behind Ray Serve: one frozen policy, many clients, batched calls.

    latent-mdp serve latent_mdp/assets/pusht_flow --port 8000

or, from Python, :func:`serve_policy`. The deployment, :class:`PolicyServer`, answers POST
requests whose bodies are :mod:`latent_mdp.serve.wire` messages:

* ``/info``: the policy's shapes (``chunk_size``, ``noise_dim``, ``action_dim``, ``feature_dim``, ...),
  and ``batching``: how many encode and decode requests the server answered, in how many policy calls;
* ``/encode``: a batch of observations ``(B, ...)``; returns a context handle, and the features
  ``(B, F)`` when the policy has them. The context itself stays here (:mod:`latent_mdp.serve.contexts`);
* ``/decode``: a handle and noise ``(B*K, H, D)`` float32; returns actions ``(B*K, H, A)``;
* ``/invert``: a handle and action chunks ``(B, H, A)``; returns the noise ``(B, H, D)``.

Concurrent ``encode`` and ``decode`` requests are each gathered by ``@serve.batch`` (up to
``max_batch_size`` requests, waiting at most ``batch_wait_ms`` for more) and answered by one
policy call (:mod:`latent_mdp.serve.batching`). Errors come back with a status the client maps
to an exception (:mod:`latent_mdp.serve.errors`): 400 for bad input (``ValueError``), 410 for a
handle the server no longer holds, 500 for anything else.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from ray import serve
from starlette.requests import Request
from starlette.responses import Response

from latent_mdp.policies.checkpoint_files import checkpoint_type
from latent_mdp.serve.batching import decode_many, encode_many
from latent_mdp.serve.contexts import ContextStore
from latent_mdp.serve.errors import ContextExpiredError
from latent_mdp.serve.wire import observation_from_arrays, pack, unpack

__all__ = ["PolicyServer", "ServerConfig", "serve_policy"]

MEDIA_TYPE = "application/x-latent-mdp"


@dataclass(frozen=True)
class ServerConfig:
    """How a policy server loads its policy and batches its requests.

    Attributes:
        policy_path: the checkpoint directory (a flow MLP, or any LeRobot type the adapters load).
        task: the language instruction of a VLA checkpoint (default: the checkpoint's own).
        device: where the policy runs (``"cpu"``, ``"cuda"``).
        max_batch_size: the most requests one policy call answers.
        batch_wait_ms: how long a request waits for others to join its batch.
        context_ttl_s: seconds a context is kept after its last use.
        max_contexts: the most contexts kept at once (each may hold a VLM's KV cache).
        torch_threads: torch's intra-op threads in the server.
    """

    policy_path: str
    task: str | None = None
    device: str = "cpu"
    max_batch_size: int = 32
    batch_wait_ms: float = 1.0
    context_ttl_s: float = 120.0
    max_contexts: int = 1024
    torch_threads: int = 1

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or self.batch_wait_ms < 0:
            raise ValueError(f"max_batch_size must be >= 1 and batch_wait_ms >= 0; got {self.max_batch_size} and {self.batch_wait_ms}")
        if self.context_ttl_s <= 0 or self.max_contexts < 1:
            raise ValueError(f"context_ttl_s must be > 0 and max_contexts >= 1; got {self.context_ttl_s} and {self.max_contexts}")

    def check_checkpoint(self) -> None:
        """Raise now, in the caller's process, what loading would raise in the server's: a missing or unreadable checkpoint.

        Raises:
            FileNotFoundError: ``policy_path`` is not a directory.
            ValueError: its config names no policy type, or a flow MLP is asked to run off the CPU.
        """
        path = Path(self.policy_path).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(f"policy_path {self.policy_path!r} is not a checkpoint directory")
        if checkpoint_type(path) == "flow_mlp" and self.device != "cpu":
            raise ValueError(f"{path} is a flow MLP, which runs on the CPU only; got device {self.device!r}")


def _reply(header: dict[str, Any], arrays: dict[str, np.ndarray] | None = None, status: int = 200) -> Response:
    return Response(pack(header, arrays), status_code=status, media_type=MEDIA_TYPE)


def _error(status: int, error: BaseException) -> Response:
    return _reply({"error": type(error).__name__, "message": str(error)}, status=status)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float32).numpy()


class PolicyServer:
    """The Ray Serve deployment class: one policy, its context store, and the batched calls.

    Args:
        config: a :class:`ServerConfig` as a dict (Ray passes plain data to replicas).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        from latent_mdp.envs.generic import load_policy

        self.config = ServerConfig(**config)
        torch.set_num_threads(self.config.torch_threads)
        self.policy = load_policy(self.config.policy_path, self.config.task, self.config.device)
        self.store = ContextStore(self.config.context_ttl_s, self.config.max_contexts)
        self.batching = {"encode_requests": 0, "encode_calls": 0, "decode_requests": 0, "decode_calls": 0}
        for batched in (self._encode_batch, self._decode_batch):
            batched.set_max_batch_size(self.config.max_batch_size)
            batched.set_batch_wait_timeout_s(self.config.batch_wait_ms / 1000)

    def info(self) -> dict[str, Any]:
        """The policy's shapes and the server's settings, for a client to mirror."""
        policy = self.policy
        return {
            "name": policy.name,
            "chunk_size": policy.chunk_size,
            "noise_dim": policy.noise_dim,
            "action_dim": policy.action_dim,
            "feature_dim": policy.feature_dim,
            "recommended_action_horizon": getattr(policy, "recommended_action_horizon", None),
            "obs_dim": getattr(getattr(policy, "config", None), "obs_dim", None),
            "server": asdict(self.config),
            "batching": dict(self.batching),
        }

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.001)
    async def _encode_batch(self, observations: list[Any]) -> list[Any]:
        self._count("encode", len(observations))
        return encode_many(self.policy, observations)

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.001)
    async def _decode_batch(self, requests: list[tuple[Any, torch.Tensor]]) -> list[Any]:
        self._count("decode", len(requests))
        return decode_many(self.policy, requests)

    def _count(self, kind: str, requests: int) -> None:
        """Count one batched ``kind`` call answering ``requests`` requests (``/info`` reports the totals)."""
        self.batching[f"{kind}_requests"] += requests
        self.batching[f"{kind}_calls"] += 1

    async def _encode(self, arrays: dict[str, np.ndarray]) -> Response:
        ctx = await self._encode_batch(observation_from_arrays(arrays))
        if isinstance(ctx, Exception):
            raise ctx
        features = {"features": _numpy(self.policy.features(ctx))} if self.policy.feature_dim else {}
        return _reply({"handle": self.store.put(ctx), "batch_size": ctx.batch_size}, features)

    def _noise(self, arrays: dict[str, np.ndarray], name: str) -> torch.Tensor:
        if name not in arrays:
            raise ValueError(f"the request holds no {name!r} array")
        return torch.from_numpy(arrays[name]).to(self.policy.device)

    async def _decode(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Response:
        ctx = self.store.get(str(header.get("handle")))
        actions = await self._decode_batch((ctx, self._noise(arrays, "noise")))
        if isinstance(actions, Exception):
            raise actions
        return _reply({}, {"actions": _numpy(actions)})

    def _invert(self, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> Response:
        ctx = self.store.get(str(header.get("handle")))
        with torch.no_grad():
            noise = self.policy.invert(ctx, self._noise(arrays, "actions").to(torch.float32))
        return _reply({}, {"noise": _numpy(noise)})

    async def __call__(self, request: Request) -> Response:
        route = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        try:
            header, arrays = unpack(await request.body())
            if route == "info":
                return _reply(self.info())
            if route == "encode":
                return await self._encode(arrays)
            if route == "decode":
                return await self._decode(header, arrays)
            if route == "invert":
                return self._invert(header, arrays)
            return _error(404, LookupError(f"no route {route!r}: the policy server answers info, encode, decode and invert"))
        except ContextExpiredError as error:
            return _error(410, error)
        except (ValueError, NotImplementedError) as error:
            return _error(400, error)
        except Exception as error:  # noqa: BLE001  (reported to the client, which raises it; the server goes on)
            return _error(500, error)


def serve_policy(config: ServerConfig, *, host: str = "127.0.0.1", port: int = 8000, blocking: bool = True) -> str:
    """Start Ray (locally), deploy :class:`PolicyServer` for ``config``, and return its address.

    With ``blocking`` it serves until SIGINT or SIGTERM, then shuts Serve and Ray down.
    """
    config.check_checkpoint()
    import ray
    from ray.serve.config import HTTPOptions
    from ray.serve.schema import LoggingConfig

    # a busy machine starts Serve's HTTP proxy slower than Ray's 5 s readiness check allows
    os.environ.setdefault("RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S", "60")
    # Ray starts its workers at nice 15; every env worker waits on this server, so it must not
    # yield the CPU to them when they share a machine
    os.environ.setdefault("RAY_worker_niceness", "0")
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    serve.start(http_options=HTTPOptions(host=host, port=port), logging_config=LoggingConfig(enable_access_log=False, log_level="WARNING"))
    gpus = 1 if config.device.startswith("cuda") else 0
    deployment = serve.deployment(PolicyServer, name="policy").options(
        ray_actor_options={"num_cpus": 0, "num_gpus": gpus},
        # every client's request must reach the batch queue at once for batching to happen
        max_ongoing_requests=max(64, 4 * config.max_batch_size),
    )
    serve.run(deployment.bind(asdict(config)), name="latent-mdp", route_prefix="/", logging_config=LoggingConfig(enable_access_log=False))
    address = f"http://{host}:{port}"
    if not blocking:
        return address
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"serving {config.policy_path} at {address} (Ctrl-C stops)", flush=True)
    try:
        while not stop.is_set():
            time.sleep(0.2)
    finally:
        serve.shutdown()
        ray.shutdown()
    return address
