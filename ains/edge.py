"""The server's edge: the HTTP/1.1 protocol uvicorn runs for every connection, with read
timeouts and a connection cap, and the file-descriptor limit they protect.

uvicorn only times out idle keep-alive connections; a client that opens a socket and dribbles
its headers (or body) a byte at a time holds a file descriptor for as long as it likes, and
enough of them starve the database of descriptors. Here every connection must finish its
request headers within ``AINS_HEADER_TIMEOUT`` seconds and its body within
``AINS_BODY_TIMEOUT`` (answered 408 and closed otherwise), and a process holds at most
``AINS_MAX_CONNECTIONS`` connections: a new one beyond the cap evicts the connection that has
waited longest for a request (an idle or half-sent one), or is refused with 503 when every
connection is busy with a request.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import resource
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from ains.config import Settings

log = logging.getLogger("ains.edge")

# Linux' default ceiling for RLIMIT_NOFILE (fs.nr_open) when the hard limit is unlimited
NR_OPEN_DEFAULT = 1_048_576


@dataclass(frozen=True)
class EdgeLimits:
    header_timeout: float
    body_timeout: float
    max_connections: int


def raise_fd_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit; returns the soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = NR_OPEN_DEFAULT if hard == resource.RLIM_INFINITY else hard
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft if soft != resource.RLIM_INFINITY else target
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        log.warning("could not raise the open-file limit from %d to %d", soft, target)
        return soft
    return target


def connection_cap(configured: int, fd_limit: int) -> int:
    """Connections allowed: at most half the descriptors, the rest stay with the database,
    logs and engine loops."""
    return max(1, min(configured, fd_limit // 2))


@functools.cache
def limits() -> EdgeLimits:
    """Loaded once per process (uvicorn builds a protocol per connection, also in workers)."""
    settings = Settings()
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fd_limit = NR_OPEN_DEFAULT if soft == resource.RLIM_INFINITY else soft
    cap = connection_cap(settings.max_connections, fd_limit)
    if cap < settings.max_connections:
        log.warning(
            "AINS_MAX_CONNECTIONS=%d lowered to %d: the open-file limit is %d",
            settings.max_connections,
            cap,
            fd_limit,
        )
    return EdgeLimits(settings.header_timeout, settings.body_timeout, cap)


def _problem_response(status: int, reason: bytes, detail: str) -> bytes:
    body = orjson.dumps(
        {"type": "about:blank", "title": reason.decode(), "status": status, "detail": detail}
    )
    head = (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/problem+json\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n" % (status, reason, len(body))
    )
    return head + body


def _waiting(server_state: ServerState) -> dict[EdgeProtocol, None]:
    """This server's connections waiting for a request, oldest first (a dict keeps order)."""
    found: dict[EdgeProtocol, None] | None = getattr(server_state, "ains_waiting", None)
    if found is None:
        found = {}
        server_state.ains_waiting = found  # type: ignore[attr-defined]
    return found


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header/body read timeouts and a connection cap."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits()
        self._timer: asyncio.TimerHandle | None = None
        self._phase: str | None = None  # "headers" | "body" while a request is being read
        self._waiting = _waiting(server_state)
        self._refused = False

    # --- connection ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections and not self._evict_one():
            self._refused = True
            transport.write(
                _problem_response(
                    503,
                    b"Service Unavailable",
                    "too many connections (AINS_MAX_CONNECTIONS); retry shortly",
                )
            )
            transport.close()
            return
        super().connection_made(transport)
        self._waiting[self] = None
        self._arm(self.limits.header_timeout, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self._cancel_timer()
        self._waiting.pop(self, None)
        super().connection_lost(exc)

    def _evict_one(self) -> bool:
        """Close the connection that has waited longest for a request, if any."""
        while self._waiting:
            oldest = next(iter(self._waiting))
            del self._waiting[oldest]
            if not oldest.transport.is_closing():
                oldest._cancel_timer()
                oldest.transport.close()
                return True
        return False

    # --- timers --------------------------------------------------------------------------

    def _arm(self, seconds: float, phase: str) -> None:
        self._cancel_timer()
        self._timer = self.loop.call_later(seconds, self._timed_out, phase)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self, phase: str) -> None:
        self._timer = None
        if self.transport.is_closing() or self._phase not in (phase, None):
            return
        if phase == "body" and self.flow.read_paused:
            # we stopped reading (the application has not consumed the body yet): not the
            # client's fault
            self._arm(self.limits.body_timeout, phase)
            return
        self._waiting.pop(self, None)
        if self._may_answer(phase):
            seconds = self.limits.header_timeout if phase == "headers" else self.limits.body_timeout
            setting = "AINS_HEADER_TIMEOUT" if phase == "headers" else "AINS_BODY_TIMEOUT"
            self.transport.write(
                _problem_response(
                    408,
                    b"Request Timeout",
                    f"request {phase} not received within {seconds:g} seconds ({setting})",
                )
            )
        self.transport.close()

    def _may_answer(self, phase: str) -> bool:
        """Whether a 408 would not cut into a response (while the headers of a request are
        read, ``cycle`` is still the previous request's)."""
        if self.cycle is None:
            return True
        if phase == "headers":
            return self.cycle.response_complete
        return not self.cycle.response_started

    # --- parser callbacks ----------------------------------------------------------------
    # A request that arrives whole in one read arms no timer: the clock starts only when a
    # read ends in the middle of a request's headers or body.

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._timer is None and self._phase is not None and not self.transport.is_closing():
            seconds = self.limits.header_timeout
            if self._phase == "body":
                seconds = self.limits.body_timeout
            self._arm(seconds, self._phase)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = "headers"

    def on_headers_complete(self) -> None:
        self._cancel_timer()
        self._waiting.pop(self, None)
        super().on_headers_complete()
        upgrade = self.parser.should_upgrade() and self._should_upgrade()
        self._phase = None if upgrade else "body"

    def on_message_complete(self) -> None:
        self._cancel_timer()
        self._phase = None
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        self._cancel_timer()
        self._phase = None
        self._waiting.pop(self, None)
        super().handle_websocket_upgrade()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self.pipeline:
            self._waiting.pop(self, None)
            self._waiting[self] = None  # idle keep-alive: evictable, uvicorn times it out
