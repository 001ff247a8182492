"""HTTP: /aitp/dlq, the dead-letter queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from ains.audit import trail
from ains.dlq.schemas import BulkRequeueIn, DlqFilters, PurgedOut, RequeuedOut, RequeueIn
from ains.http import CurrentPrincipal, ServicesDep, ValidatedRoute, page_limit
from ains.openapi import returns
from ains.tasks.schemas import TaskOut, TaskPage
from ains.types import Timestamp

router = APIRouter(route_class=ValidatedRoute, tags=["dlq"])
FilterQ = Annotated[str | None, Query(max_length=200)]


def _filters(
    capability: FilterQ = None,
    task_type: FilterQ = None,
    client_id: FilterQ = None,
    error_type: FilterQ = None,
    since: Timestamp | None = None,
) -> DlqFilters:
    """The filter query parameters, checked by FastAPI (a 422 naming the parameter)."""
    return DlqFilters(
        capability=capability,
        task_type=task_type,
        client_id=client_id,
        error_type=error_type,
        since=since,
    )


FiltersDep = Annotated[DlqFilters, Depends(_filters)]


@router.get("/aitp/dlq", responses=returns(TaskPage))
async def list_dead_letters(
    services: ServicesDep,
    principal: CurrentPrincipal,
    filters: FiltersDep,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.dlq.list(
            conn, principal, filters, cursor=cursor, limit=page_limit(limit, services)
        )


@router.post("/aitp/dlq/requeue", responses=returns(RequeuedOut))
async def requeue_dead_letters(
    body: BulkRequeueIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        done = await services.dlq.requeue_many(tx, principal, body)
        await trail.record(
            tx.conn,
            principal,
            "dlq.requeue",
            now=services.clock(),
            target_type="dlq",
            target_id=None,
            detail=trail.listed(done["requeued"]),
        )
    return done


@router.post("/aitp/dlq/{task_id}/requeue", responses=returns(TaskOut, conflict=True))
async def requeue_dead_letter(
    task_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    body: Annotated[RequeueIn | None, Body()] = None,
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        done = await services.dlq.requeue(tx, principal, task_id, body.reason if body else None)
        await trail.record(
            tx.conn,
            principal,
            "dlq.requeue",
            now=services.clock(),
            target_type="task",
            target_id=task_id,
        )
    return done


@router.delete("/aitp/dlq", responses=returns(PurgedOut))
async def purge_dead_letters(
    services: ServicesDep, principal: CurrentPrincipal, filters: FiltersDep
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        return await services.dlq.purge(tx, principal, filters)
