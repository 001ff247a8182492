"""Cancellations over the server's event stream (SSE `GET /aitp/events`).

The agent heartbeat learns of cancelled tasks every few seconds; this listener learns of them
as they happen. It follows `task.cancelled` and `task.timed_out` events (an agent's key sees the
tasks assigned to it), reconnects with backoff, resumes after the last event id it saw, and
hands each event to a callback. The heartbeat stays the fallback for anything missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ains_agent._backoff import Backoff

__all__ = ["CANCEL_EVENT_TYPES", "CancellationStream", "SSEMessage", "SSEParser"]

log = logging.getLogger("ains_agent")

CANCEL_EVENT_TYPES = ("task.cancelled", "task.timed_out")
STREAM_PATH = "/aitp/events"
# The server pushes `queue.stats` every 5 s: a silent minute means the connection is dead.
READ_TIMEOUT = 60.0


@dataclass(frozen=True)
class SSEMessage:
    """One dispatched Server-Sent Event."""

    event: str
    data: str
    id: str | None


class SSEParser:
    """Incremental `text/event-stream` parser (the WHATWG rules): feed it lines without their
    terminators; a blank line dispatches the event gathered so far."""

    def __init__(self) -> None:
        self.last_event_id: str | None = None
        self.retry_ms: int | None = None
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> SSEMessage | None:
        """Take one line; return the event it completes, if any."""
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment (keep-alive)
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self.last_event_id = value or None
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None  # unknown fields are ignored

    def _dispatch(self) -> SSEMessage | None:
        data, event = self._data, self._event
        self._data, self._event = [], ""
        if not data:
            return None
        return SSEMessage(event=event or "message", data="\n".join(data), id=self.last_event_id)


class StreamUnsupported(Exception):
    """The server has no event stream (404/405): stop listening, rely on heartbeats."""


class CancellationStream:
    """Follows the server's stream of cancellation events for one agent.

    `api_key` is called at each (re)connection, so a key learnt at registration is used.
    `on_event(message)` gets each event's decoded JSON.
    """

    def __init__(
        self,
        base_url: str,
        api_key: Callable[[], str | None],
        on_event: Callable[[dict[str, Any]], None],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff: Backoff | None = None,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self.base_url = base_url
        self.last_event_id: str | None = None
        self.connections = 0
        self._api_key = api_key
        self._on_event = on_event
        self._on_connected = on_connected
        self._backoff = backoff or Backoff(base=0.5, cap=30.0)
        self._http = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(10.0, read=READ_TIMEOUT),
        )

    async def run(self) -> None:
        """Listen until cancelled (or the server turns out to have no stream)."""
        try:
            while True:
                try:
                    await self._listen_once()
                    delay = self._backoff.next()
                    log.debug("event stream ended; reconnecting in %.1fs", delay)
                except StreamUnsupported as exc:
                    log.info("no event stream on the server (%s); heartbeats only", exc)
                    return
                except (httpx.HTTPError, ValueError) as exc:
                    delay = self._backoff.next()
                    log.info("event stream lost (%r); reconnecting in %.1fs", exc, delay)
                await asyncio.sleep(delay)
        finally:
            await self._http.aclose()

    async def _listen_once(self) -> None:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        key = self._api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        params = {"types": ",".join(CANCEL_EVENT_TYPES)}
        async with self._http.stream("GET", STREAM_PATH, params=params, headers=headers) as resp:
            if resp.status_code in (404, 405):
                raise StreamUnsupported(f"HTTP {resp.status_code}")
            if resp.status_code != 200:
                await resp.aread()
                raise httpx.HTTPStatusError(
                    f"event stream answered {resp.status_code}", request=resp.request, response=resp
                )
            self.connections += 1
            self._backoff.reset()
            resumed = f" (resuming after event {self.last_event_id})" if self.last_event_id else ""
            log.info("following cancellations on the event stream%s", resumed)
            if self._on_connected is not None:
                self._on_connected()
            async for message in self._messages(resp.aiter_lines()):
                self._handle(message)

    async def _messages(self, lines: AsyncIterator[str]) -> AsyncIterator[SSEMessage]:
        parser = SSEParser()
        parser.last_event_id = self.last_event_id
        async for line in lines:
            message = parser.feed(line)
            if message is not None:
                yield message
        # an event cut off before its blank line is discarded, as the SSE rules say

    def _handle(self, message: SSEMessage) -> None:
        if message.id is not None:
            self.last_event_id = message.id
        if message.event not in CANCEL_EVENT_TYPES:
            return  # queue.stats and the like
        try:
            body = json.loads(message.data)
        except ValueError:
            log.warning("unreadable %s event on the stream: %.200s", message.event, message.data)
            return
        if isinstance(body, dict):
            self._on_event(body)
