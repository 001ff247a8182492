"""Agents parked in a long-poll claim, woken the moment work is routed to them."""

from __future__ import annotations

import asyncio
import contextlib

from ains.events.bus import Bus


class AgentWaiters:
    def __init__(self, bus: Bus) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._waiting: dict[str, int] = {}
        bus.subscribe("agent", self.wake)

    def prepare(self, agent_id: str) -> asyncio.Event:
        """Get the agent's wake-up event, cleared — call before looking for work, so a wake-up
        that arrives between the look and the wait is not lost."""
        ev = self._events.setdefault(agent_id, asyncio.Event())
        ev.clear()
        return ev

    def wake(self, agent_id: str) -> None:
        ev = self._events.get(agent_id)
        if ev is not None:
            ev.set()

    async def wait(self, agent_id: str, ev: asyncio.Event, timeout: float) -> bool:
        self._waiting[agent_id] = self._waiting.get(agent_id, 0) + 1
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ev.wait(), timeout)
            return ev.is_set()
        finally:
            self._waiting[agent_id] -= 1
            if not self._waiting[agent_id]:
                del self._waiting[agent_id]
                self._events.pop(agent_id, None)
