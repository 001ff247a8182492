"""Agents parked in a long-poll claim, woken when work may be waiting for them.

Routing happens when an agent claims (see `ExecutionService.claim`), so a wake-up is only a
hint: "claim again". New work of a capability wakes the best agent parked for it in this
process (highest trust, then lighter load); that agent's claim takes its share and wakes the
other agents that have one. Other replicas hear the same hints through the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from ains.events.bus import Bus

RankKey = tuple[float, float, str]


@dataclass
class Parked:
    event: asyncio.Event
    capabilities: tuple[str, ...]
    rank: RankKey


class AgentWaiters:
    def __init__(self, bus: Bus) -> None:
        self._events: dict[str, asyncio.Event] = {}
        self._parked: dict[str, Parked] = {}
        self._waiting: dict[str, int] = {}
        bus.subscribe("agent", self.wake)
        bus.subscribe("route", self.wake_for)

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

    def wake_for(self, capability: str) -> None:
        """Work of `capability` became claimable: wake the best agent parked for it (every
        parked agent for "*", the hint sent after a lost connection to the database)."""
        if capability == "*":
            for parked in self._parked.values():
                parked.event.set()
            return
        best = min(
            (p for p in self._parked.values() if capability in p.capabilities),
            key=lambda p: p.rank,
            default=None,
        )
        if best is not None:
            best.event.set()

    def wake_all(self) -> None:
        """Wake every parked claim (the server is draining: they answer at once)."""
        for ev in self._events.values():
            ev.set()

    def parked(self) -> int:
        return len(self._parked)

    async def wait(
        self,
        agent_id: str,
        ev: asyncio.Event,
        timeout: float,
        capabilities: tuple[str, ...] = (),
        rank: RankKey = (0.0, 0.0, ""),
    ) -> bool:
        self._waiting[agent_id] = self._waiting.get(agent_id, 0) + 1
        self._parked[agent_id] = Parked(ev, capabilities, rank)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ev.wait(), timeout)
            return ev.is_set()
        finally:
            self._waiting[agent_id] -= 1
            if not self._waiting[agent_id]:
                del self._waiting[agent_id]
                self._events.pop(agent_id, None)
                self._parked.pop(agent_id, None)
