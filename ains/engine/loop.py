"""The one loop base of the background work: the deadline loop (and the schedules and queue
escalations that ride it), the webhook sender, the event-stream fan-out and its key re-check,
the analytics rollups and retention.

A loop runs a *pass* over and over. Each pass says how long the loop may sleep before the next
one: ``0`` runs the next pass at once, a number of seconds sleeps that long at most, ``None``
sleeps until woken. ``wake()`` — what a loop hands to ``Bus.subscribe`` — ends the sleep at
once; a wake that arrives during a pass makes the next pass start without sleeping, so no wake
is lost. A pass that raises is logged (with the loop's name) and the loop goes on, trying again
after ``retry_after`` seconds (``None``: at the next wake). ``settle`` seconds are waited after
each sleep so that wakes landing together share one pass. ``stop()`` ends the loop at once when
it sleeps, or as soon as the running pass returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Pass = Callable[[], Awaitable[float | None]]
RETRY_AFTER = 0.5  # seconds before a failed pass is tried again, unless a loop says otherwise


class Loop:
    def __init__(
        self,
        name: str,
        pass_: Pass,
        *,
        first_delay: float | None = 0.0,
        retry_after: float | Callable[[], float | None] | None = RETRY_AFTER,
        settle: float = 0.0,
        logger: logging.Logger = log,
    ) -> None:
        self.name = name
        self._pass = pass_
        self._first_delay = first_delay
        self._retry_after = retry_after
        self._settle = settle
        self._log = logger
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self, _message: str = "") -> None:
        """Run the next pass now (or right after the running one)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    @property
    def stopped(self) -> bool:
        return self._stopping.is_set()

    async def run(self) -> None:
        delay = self._first_delay
        while not self.stopped:
            if delay != 0:
                await self._sleep(delay)
                if self.stopped:
                    return
            self._wake.clear()
            delay = await self._run_pass()

    async def _run_pass(self) -> float | None:
        try:
            return await self._pass()
        except asyncio.CancelledError:
            raise
        except Exception:
            self._log.exception("%s pass failed; the loop goes on", self.name)
            retry = self._retry_after
            return retry() if callable(retry) else retry

    async def _sleep(self, delay: float | None) -> None:
        if delay is None:
            await self._wake.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, delay))
        if self._settle > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._settle)
