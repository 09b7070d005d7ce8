"""The policy-server client against an HTTP peer that is not (yet) a policy server.

While Ray Serve deploys an application, its HTTP proxy already listens and answers 404 or 503 in
plain text. The client must take that as "not ready", retry, and end in
:class:`PolicyServerUnavailable`, never in a wire-format error. The peer here is a plain
``http.server`` on 127.0.0.1 that plays the proxy for the first requests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from latent_mdp.serve import PolicyServerUnavailable, RemoteNoisePolicy
from latent_mdp.serve.wire import pack

INFO = {"name": "flow", "chunk_size": 8, "noise_dim": 2, "action_dim": 2, "feature_dim": 0}


class _Proxy(BaseHTTPRequestHandler):
    """Answers ``not_ready`` requests as Ray's proxy does before the app is up, then as the app."""

    not_ready = 0
    seen: list[str] = []

    def do_POST(self) -> None:  # noqa: N802  (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).seen.append(self.path)
        if len(type(self).seen) <= type(self).not_ready:
            status, body = 404, b"Path '/info' not found. Ping http://.../-/routes for available routes."
        else:
            status, body = 200, pack(INFO)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[tuple[str, type[_Proxy]]]:
    handler = type("Proxy", (_Proxy,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_a_proxy_without_the_application_is_unavailable_after_the_retries(proxy) -> None:
    address, handler = proxy
    handler.not_ready = 10
    with pytest.raises(PolicyServerUnavailable, match="HTTP 404.*tried 3 times"):
        RemoteNoisePolicy(address, retries=2, retry_wait_s=0.01)
    assert handler.seen == ["/info"] * 3


def test_the_client_retries_until_the_application_answers(proxy) -> None:
    address, handler = proxy
    handler.not_ready = 2
    policy = RemoteNoisePolicy(address, retries=2, retry_wait_s=0.01)
    assert (policy.chunk_size, policy.noise_dim, policy.action_dim) == (8, 2, 2)
    assert handler.seen == ["/info"] * 3
