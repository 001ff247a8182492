"""In-memory guards against floods of failed authentication: a per-address limit on failures,
and the aggregation of repeated denials into a few audit rows. Pure: the caller passes the time
(monotonic seconds) and writes whatever `DenialLog` says is due."""

from __future__ import annotations

import math
from dataclasses import dataclass

# Bounds the memory an attacker spraying source addresses can take; old entries go first.
MAX_ENTRIES = 50_000

DenialKey = tuple[str, str, str, int, str]  # (source, role, principal id, status, reason)


class FailureLimiter:
    """At most `limit` failed authentications per source address per fixed `window`."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._windows: dict[str, tuple[float, int]] = {}

    def _current(self, address: str, now: float) -> tuple[float, int]:
        start, count = self._windows.get(address, (now, 0))
        if now - start >= self.window:
            return now, 0
        return start, count

    def add(self, address: str, now: float) -> None:
        start, count = self._current(address, now)
        if address not in self._windows and len(self._windows) >= MAX_ENTRIES:
            self._prune(now)
        self._windows[address] = (start, count + 1)

    def retry_after(self, address: str, now: float) -> int | None:
        """Seconds until `address` may fail again, or None when it is under the limit."""
        start, count = self._current(address, now)
        if count <= self.limit:
            return None
        return max(1, math.ceil(start + self.window - now))

    def _prune(self, now: float) -> None:
        for address, (start, _) in list(self._windows.items()):
            if now - start >= self.window:
                del self._windows[address]
        while len(self._windows) >= MAX_ENTRIES:
            del self._windows[next(iter(self._windows))]


@dataclass
class Aggregate:
    """Denials of one key past the first in one window: `count` of them, the last `action`."""

    key: DenialKey
    started: float
    count: int = 0
    action: str = ""


class DenialLog:
    """The first denial of a (source, role, principal, status, reason) in a window is audited at
    once; the rest of the window is counted and audited as one row when the window ends (or
    when the audit log is read)."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._open: dict[DenialKey, Aggregate] = {}

    def note(self, key: DenialKey, action: str, now: float) -> bool:
        """Count one denial; True when it opens a window (audit it now)."""
        entry = self._open.get(key)
        if entry is not None and now - entry.started < self.window:
            entry.count += 1
            entry.action = action
            return False
        if len(self._open) >= MAX_ENTRIES:
            self._open.pop(next(iter(self._open)))
        self._open[key] = Aggregate(key, now)
        return True

    def due(self, now: float, *, everything: bool = False) -> list[Aggregate]:
        """Close the ended windows (every window with `everything`); those with counted
        denials are returned, to be audited as one row each."""
        closed = [e for e in self._open.values() if everything or now - e.started >= self.window]
        for entry in closed:
            del self._open[entry.key]
        return [e for e in closed if e.count]
