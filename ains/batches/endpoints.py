"""HTTP: /aitp/tasks/batch… — registered before the tasks router, whose /aitp/tasks/{task_id}
would otherwise swallow these paths."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from ains.audit import trail
from ains.batches.schemas import (
    BatchCancelledOut,
    BatchIn,
    BatchResultsOut,
    BatchStatusOut,
    BatchSubmittedOut,
    TasksStatusOut,
)
from ains.exceptions import Unprocessable
from ains.http import CurrentPrincipal, ServicesDep, ValidatedRoute
from ains.openapi import returns
from ains.tasks.schemas import CancelIn

router = APIRouter(route_class=ValidatedRoute, tags=["batches"])


@router.post(
    "/aitp/tasks/batch",
    status_code=201,
    responses=returns(BatchSubmittedOut, 201, conflict=True, replays=True),
)
async def submit_batch(
    body: BatchIn, services: ServicesDep, principal: CurrentPrincipal, response: Response
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        submitted = await services.batches.submit(tx, principal, body)
        if not submitted.replayed:
            batch = submitted.batch
            await trail.record(
                tx.conn,
                principal,
                "batch.submit",
                now=services.clock(),
                target_type="batch",
                target_id=batch["batch_id"],
                detail=trail.listed(batch["task_ids"]),
            )
    if submitted.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return submitted.batch


@router.get("/aitp/tasks/batch/status", responses=returns(TasksStatusOut))
async def batch_status_by_ids(
    services: ServicesDep,
    principal: CurrentPrincipal,
    task_ids: str | None = None,
    taskids: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> dict[str, Any]:
    raw = task_ids if task_ids is not None else taskids
    ids = [t.strip() for t in (raw or "").split(",") if t.strip()]
    if not ids:
        raise Unprocessable.field("task_ids", "give task ids as ?task_ids=a,b,c")
    async with services.db.read() as conn:
        return await services.batches.status_by_ids(conn, principal, ids)


@router.get("/aitp/tasks/batch/{batch_id}", responses=returns(BatchStatusOut))
async def batch_status(
    batch_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.batches.status(conn, principal, batch_id)


@router.get("/aitp/tasks/batch/{batch_id}/results", responses=returns(BatchResultsOut))
async def batch_results(
    batch_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.batches.results(conn, principal, batch_id)


@router.delete("/aitp/tasks/batch/{batch_id}", responses=returns(BatchCancelledOut))
async def cancel_batch(
    batch_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    reason: str | None = None,
    body: Annotated[CancelIn | None, Body()] = None,
) -> dict[str, Any]:
    why = (body.reason if body else None) or reason
    async with services.db.transaction() as tx:
        cancelled = await services.batches.cancel(tx, principal, batch_id, why)
        await trail.record(
            tx.conn,
            principal,
            "batch.cancel",
            now=services.clock(),
            target_type="batch",
            target_id=batch_id,
        )
    return cancelled
