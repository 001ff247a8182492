"""HTTP: /aitp/tasks/schedule (seed 002).

Creating answers 201 with the schedule itself at the top level (the SPEC's wire rule: creating
answers with the resource). Seed 002 shows ``{"status": "success", "data": {...}}``; that
envelope is not used because the schedule has a ``status`` field of its own (ACTIVE/PAUSED/
COMPLETED) and errors are problem+json. The seed's curl commands work unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from ains.audit import trail
from ains.http import CurrentPrincipal, ServicesDep, ValidatedRoute, page_limit
from ains.openapi import returns
from ains.schedules.schemas import (
    ExecutionOut,
    ExecutionPage,
    ScheduleIn,
    ScheduleOut,
    SchedulePage,
    SchedulePreviewOut,
    ScheduleUpdate,
    TimingPreviewOut,
)
from ains.types import Timestamp

router = APIRouter(route_class=ValidatedRoute, prefix="/aitp/tasks/schedule", tags=["schedules"])
Count = Annotated[int, Query(ge=1, le=100)]


@router.post("", status_code=201, responses=returns(ScheduleOut, 201, conflict=True))
async def create_schedule(
    body: ScheduleIn, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        created = await services.schedules.create(tx, principal, body)
        await trail.record(
            tx.conn,
            principal,
            "schedule.create",
            now=services.clock(),
            target_type="schedule",
            target_id=created["schedule_id"],
        )
    return created


@router.get("", responses=returns(SchedulePage))
async def list_schedules(
    services: ServicesDep,
    principal: CurrentPrincipal,
    status: str | None = None,
    client_id: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.schedules.list(
            conn,
            principal,
            status=status,
            client_id=client_id,
            cursor=cursor,
            limit=page_limit(limit, services),
        )


@router.get("/preview", responses=returns(TimingPreviewOut))
async def preview_timing(
    services: ServicesDep,
    _principal: CurrentPrincipal,
    cron_expression: str | None = None,
    interval_seconds: Annotated[int | None, Query(ge=1, le=366 * 86400)] = None,
    run_at: Timestamp | None = None,
    timezone: str = "UTC",
    count: Count = 5,
) -> dict[str, Any]:
    """The next due times of a timing, before creating a schedule with it."""
    fields = {
        "cron_expression": cron_expression,
        "interval_seconds": interval_seconds,
        "run_at": run_at,
        "timezone": timezone,
    }
    return services.schedules.preview_timing(fields, count)


@router.get("/{schedule_id}", responses=returns(ScheduleOut))
async def get_schedule(
    schedule_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.schedules.get(conn, principal, schedule_id)


@router.put("/{schedule_id}", responses=returns(ScheduleOut))
async def update_schedule(
    schedule_id: str, body: ScheduleUpdate, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        changed = await services.schedules.update(tx, principal, schedule_id, body)
        await trail.record(
            tx.conn,
            principal,
            "schedule.update",
            now=services.clock(),
            target_type="schedule",
            target_id=schedule_id,
        )
    return changed


@router.delete("/{schedule_id}", status_code=204)
async def delete_schedule(
    schedule_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> Response:
    async with services.db.transaction() as tx:
        await services.schedules.delete(tx, principal, schedule_id)
        await trail.record(
            tx.conn,
            principal,
            "schedule.delete",
            now=services.clock(),
            target_type="schedule",
            target_id=schedule_id,
        )
    return Response(status_code=204)


@router.get("/{schedule_id}/executions", responses=returns(ExecutionPage))
async def list_executions(
    schedule_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.schedules.executions(
            conn, principal, schedule_id, cursor=cursor, limit=page_limit(limit, services)
        )


@router.get("/{schedule_id}/preview", responses=returns(SchedulePreviewOut))
async def preview_schedule(
    schedule_id: str, services: ServicesDep, principal: CurrentPrincipal, count: Count = 5
) -> dict[str, Any]:
    async with services.db.read() as conn:
        return await services.schedules.preview(conn, principal, schedule_id, count)


@router.post(
    "/{schedule_id}/execute", status_code=201, responses=returns(ExecutionOut, 201, conflict=True)
)
async def execute_schedule(
    schedule_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        ran = await services.schedules.execute_now(tx, principal, schedule_id)
        await trail.record(
            tx.conn,
            principal,
            "schedule.run_now",
            now=services.clock(),
            target_type="schedule",
            target_id=schedule_id,
        )
    return ran


@router.post("/{schedule_id}/pause", responses=returns(ScheduleOut, conflict=True))
async def pause_schedule(
    schedule_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        paused = await services.schedules.pause(tx, principal, schedule_id)
        await trail.record(
            tx.conn,
            principal,
            "schedule.pause",
            now=services.clock(),
            target_type="schedule",
            target_id=schedule_id,
        )
    return paused


@router.post("/{schedule_id}/resume", responses=returns(ScheduleOut, conflict=True))
async def resume_schedule(
    schedule_id: str, services: ServicesDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    async with services.db.transaction() as tx:
        resumed = await services.schedules.resume(tx, principal, schedule_id)
        await trail.record(
            tx.conn,
            principal,
            "schedule.resume",
            now=services.clock(),
            target_type="schedule",
            target_id=schedule_id,
        )
    return resumed
