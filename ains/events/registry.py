"""The open streams of this process, by principal and by API key: the per-principal cap
(``AINS_MAX_STREAMS_PER_PRINCIPAL``) and the ending of streams whose key is revoked."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from ains.exceptions import TooManyRequests
from ains.security.principals import Principal

QUEUE_LIMIT = 10_000
Item = tuple[dict[str, Any], dict[str, Any] | None]


class Subscriber:
    """One open stream: its principal and the queue of events the hub hands it."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.queue: asyncio.Queue[Item | None] = asyncio.Queue(QUEUE_LIMIT)
        self.revoked = False
        # whether the stream's filter lets an event type through (set by the hub's reader)
        self.wants: Callable[[str], bool] = _everything

    def offer(self, item: Item | None) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:  # too slow: end the stream, the client resumes by cursor
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    def revoke(self) -> None:
        """End the stream: its credentials are no longer valid."""
        self.revoked = True
        self.offer(None)


def _everything(_kind: str) -> bool:
    return True


class StreamRegistry:
    def __init__(self, max_per_principal: int) -> None:
        self.max_per_principal = max_per_principal
        self._by_principal: dict[str, set[Subscriber]] = defaultdict(set)
        self._by_key: dict[str, set[Subscriber]] = defaultdict(set)

    def open(self, principal: Principal) -> Subscriber:
        mine = self._by_principal[principal.actor]
        if len(mine) >= self.max_per_principal:
            raise TooManyRequests(
                f"{principal.actor} already has {len(mine)} open streams, the most allowed "
                "(AINS_MAX_STREAMS_PER_PRINCIPAL); close one first",
                extra={"limit": self.max_per_principal},
            )
        sub = Subscriber(principal)
        mine.add(sub)
        if principal.key_id:
            self._by_key[principal.key_id].add(sub)
        return sub

    def close(self, sub: Subscriber) -> None:
        _discard(self._by_principal, sub.principal.actor, sub)
        if sub.principal.key_id:
            _discard(self._by_key, sub.principal.key_id, sub)

    def key_ids(self) -> set[str]:
        """The API keys that have open streams."""
        return set(self._by_key)

    def end_all(self) -> None:
        """End every open stream (the server is draining); clients resume by cursor."""
        for subs in list(self._by_principal.values()):
            for sub in list(subs):
                sub.offer(None)

    def revoke_key(self, key_id: str) -> None:
        for sub in list(self._by_key.pop(key_id, ())):
            sub.revoke()


def _discard(index: dict[str, set[Subscriber]], name: str, sub: Subscriber) -> None:
    subs = index.get(name)
    if subs is None:
        return
    subs.discard(sub)
    if not subs:
        del index[name]
