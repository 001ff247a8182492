"""Draining on SIGTERM: stop taking claims, answer parked long-polls and end streams at once,
so the in-flight requests finish within uvicorn's short grace and the process exits quietly.

uvicorn installs its own SIGTERM/SIGINT handlers (it stops listening, waits for connections to
finish, then cancels what is left). `install_drain_on_signals` chains ours in front of them: the
drain starts at the signal, before uvicorn's shutdown looks at the connections.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

log = logging.getLogger(__name__)

DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Drain:
    """Whether this process is draining, and what to do when it starts."""

    def __init__(self, callbacks: Iterable[Callable[[], None]] = ()) -> None:
        self.draining = False
        self._callbacks: list[Callable[[], None]] = list(callbacks)

    def on_drain(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def begin(self) -> None:
        if self.draining:
            return
        self.draining = True
        log.info("draining: no new claims, parked claims answered, streams ended")
        for callback in self._callbacks:
            try:
                callback()
            except Exception:  # one failing part must not keep the others from draining
                log.exception("drain callback failed")


def install_drain_on_signals(drain: Drain) -> None:
    """Chain ``drain.begin`` in front of the current SIGTERM and SIGINT handlers (uvicorn's,
    which it restores itself when it stops). Only the main thread may set handlers."""
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in DRAIN_SIGNALS:
        previous = signal.getsignal(sig)
        signal.signal(sig, _chained(loop, drain, previous))


def _chained(loop: asyncio.AbstractEventLoop, drain: Drain, previous: Any) -> Any:
    def handler(sig: int, frame: FrameType | None) -> None:
        # a signal handler runs between two bytecodes of the loop's thread: hand over safely
        loop.call_soon_threadsafe(drain.begin)
        if callable(previous):
            previous(sig, frame)

    return handler
