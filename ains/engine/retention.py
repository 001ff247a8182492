"""Prunes old rows by age (ains/maintenance) every AINS_RETENTION_INTERVAL_SECONDS: sleeps
until the next prune is due, or until woken on the bus's "retention" channel."""

from __future__ import annotations

import logging

from ains.engine.loop import Loop
from ains.events.bus import Bus
from ains.maintenance.service import MaintenanceService

log = logging.getLogger(__name__)
FIRST_PRUNE_AFTER = 60.0  # seconds after start: a server restarted often still prunes


class RetentionLoop:
    def __init__(self, service: MaintenanceService, bus: Bus, interval: float) -> None:
        self.service = service
        self.interval = interval
        # a failed prune is tried again the next interval; nothing half-deleted stays
        self.loop = Loop(
            "retention",
            self._pass,
            first_delay=min(interval, FIRST_PRUNE_AFTER),
            retry_after=interval,
            logger=log,
        )
        bus.subscribe("retention", self.loop.wake)

    async def _pass(self) -> float:
        result = await self.service.prune()
        if any(result.counts.values()):
            log.info("retention pruned %s", result.counts)
        return self.interval

    async def run(self) -> None:
        if self.interval <= 0:
            return
        await self.loop.run()
