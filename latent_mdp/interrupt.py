"""Ctrl-C that always takes effect, at a point where a run can be saved.

Python raises ``KeyboardInterrupt`` wherever the interpreter is when SIGINT arrives. Inside a
C library's callback (gym-pusht's pymunk collision handlers) the exception can be printed and
swallowed, and the run goes on; elsewhere it can cut a transition in half. :class:`DeferredInterrupt`
turns the first Ctrl-C into a flag that the training loop checks between latent steps
(:meth:`DeferredInterrupt.check` raises ``KeyboardInterrupt`` there); a second Ctrl-C raises at once.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any

from tqdm.auto import tqdm

__all__ = ["DeferredInterrupt"]


class DeferredInterrupt:
    """A context manager holding SIGINT as a flag; :meth:`check` acts on it.

    Outside the main thread (where Python cannot install signal handlers) it does nothing and
    Ctrl-C behaves as usual.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        tqdm.write("interrupt: stopping after this latent step (press Ctrl-C again to stop at once)")

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed since entering."""
        if self.requested:
            raise KeyboardInterrupt

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False
