"""HTTP: /aitp/queue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ains.http import CurrentPrincipal, ServicesDep, ValidatedRoute
from ains.openapi import returns
from ains.queue.schemas import QueueStatsOut

router = APIRouter(route_class=ValidatedRoute, tags=["queue"])


@router.get("/aitp/queue/stats", responses=returns(QueueStatsOut))
async def queue_stats(services: ServicesDep, principal: CurrentPrincipal) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.queue.stats(conn, principal)
