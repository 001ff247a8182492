"""Prunes old rows by age (ains/maintenance) every AINS_RETENTION_INTERVAL_SECONDS: sleeps
until the next prune is due, or until poked on the bus's "retention" channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ains.events.bus import Bus
from ains.maintenance.service import MaintenanceService

log = logging.getLogger(__name__)
FIRST_PRUNE_AFTER = 60.0  # seconds after start: a server restarted often still prunes


class RetentionLoop:
    def __init__(self, service: MaintenanceService, bus: Bus, interval: float) -> None:
        self.service = service
        self.interval = interval
        self._wake = asyncio.Event()
        bus.subscribe("retention", self.poke)

    def poke(self, _message: str = "") -> None:
        self._wake.set()

    async def run(self) -> None:
        if self.interval <= 0:
            return
        delay = min(self.interval, FIRST_PRUNE_AFTER)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            delay = self.interval
            try:
                result = await self.service.prune()
            except asyncio.CancelledError:
                raise
            except Exception:  # the next interval tries again; nothing half-deleted stays
                log.exception("retention prune failed")
                continue
            if any(result.counts.values()):
                log.info("retention pruned %s", result.counts)
