"""The live line `ains agent` keeps on the terminal: totals and per-second rates."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text

from ains_agent._stats import AgentStats

__all__ = ["RateLine"]


class RateLine:
    """A renderable that, refreshed about once a second, shows claimed/completed/failed with
    their rate over the last refresh."""

    def __init__(self, stats: AgentStats, clock: Callable[[], float] = time.monotonic) -> None:
        self._stats = stats
        self._clock = clock
        self._last = (clock(), stats.claimed, stats.completed, stats.failed)
        self._rates = (0.0, 0.0, 0.0)

    def line(self) -> str:
        """The line as plain text, rates updated when at least a second has passed."""
        now = self._clock()
        then, claimed, completed, failed = self._last
        s = self._stats
        if now - then >= 1.0:
            span = now - then
            self._rates = (
                (s.claimed - claimed) / span,
                (s.completed - completed) / span,
                (s.failed - failed) / span,
            )
            self._last = (now, s.claimed, s.completed, s.failed)
        rc, rd, rf = self._rates
        return (
            f"claimed {s.claimed} ({rc:.1f}/s) · completed {s.completed} ({rd:.1f}/s) · "
            f"failed {s.failed} ({rf:.1f}/s)"
        )

    def __rich__(self) -> Text:
        return Text(self.line())
