"""A ``latent-mdp serve`` process on loopback: started, waited for, killed, restarted.

The tests and ``benchmarks/serve_scaling.py`` run their servers this way:

    >>> server = ServerProcess("latent_mdp/assets/pusht_flow", Path("serve.log")).start()  # doctest: +SKIP
    >>> policy = RemoteNoisePolicy(server.address)                                           # doctest: +SKIP
    >>> server.kill()                                                                        # doctest: +SKIP

The server runs in its own session, so killing its process group takes Ray's processes with it,
as a crashed server machine would. Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from latent_mdp.serve import RemoteNoisePolicy
from latent_mdp.serve.errors import PolicyServerError

__all__ = ["ServerProcess", "free_port"]

START_TIMEOUT_S = 420.0
"""Ray and Serve start in tens of seconds on an idle 2-core machine, several minutes on a busy one."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``latent-mdp serve POLICY_PATH --port PORT ARGS...`` in a subprocess on 127.0.0.1, its output appended to ``log``."""

    def __init__(self, policy_path: Path | str, log: Path, *args: str) -> None:
        self.policy_path, self.log, self.args = str(policy_path), log, args
        self.port = free_port()
        self.address = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        """Start the server and wait until it answers ``info``."""
        command = [sys.executable, "-m", "latent_mdp.sb3.cli", "serve", self.policy_path, "--port", str(self.port), *self.args]
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                RemoteNoisePolicy(self.address, retries=0, timeout_s=10).close()
                return self
            except PolicyServerError:
                time.sleep(1.0)
        self.kill()
        raise TimeoutError(f"the server did not answer within {START_TIMEOUT_S:g} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the server's whole process group, as a crash would, and wait for it."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        self.process = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the port is free once every process holding it is gone
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.5)
