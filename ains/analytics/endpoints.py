"""HTTP: /aitp/analytics (aliases under /ains/analytics): summary, per agent, per task type,
trends and streamed exports. Admins see every task, clients their own, agents those assigned
to them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from ains.analytics.schemas import (
    AgentsReportOut,
    Bucket,
    ExportFormat,
    ExportOut,
    Period,
    Report,
    SummaryOut,
    TaskTypesReportOut,
    TrendsOut,
    Window,
)
from ains.http import CurrentPrincipal, ServicesDep, ValidatedRoute
from ains.openapi import returns
from ains.types import Timestamp

router = APIRouter(route_class=ValidatedRoute, tags=["analytics"])
F = TypeVar("F", bound=Callable[..., Any])

PeriodQ = Annotated[
    Period | None,
    Query(description="last_24_hours, last_7_days (default), last_30_days, all, or custom"),
]
StartQ = Annotated[
    Timestamp | None, Query(description="custom range start (inclusive, ISO 8601 with timezone)")
]
EndQ = Annotated[
    Timestamp | None, Query(description="custom range end (exclusive, ISO 8601 with timezone)")
]
LimitQ = Annotated[int, Query(ge=1, le=10_000)]
EXPORT_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ExportOut,
        "description": "the report as CSV (format=csv, the default) or as JSON (format=json)",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


def _both(path: str, **kwargs: Any) -> Callable[[F], F]:
    """Registers a GET handler under /aitp/analytics and its /ains/analytics alias."""

    def register(handler: F) -> F:
        router.get(f"/aitp/analytics{path}", **kwargs)(handler)
        router.get(f"/ains/analytics{path}", **kwargs)(handler)
        return handler

    return register


def _window(
    services: ServicesDep, period: PeriodQ = None, start: StartQ = None, end: EndQ = None
) -> Window:
    """The `period` / `start` / `end` query parameters every analytics endpoint takes."""
    return services.analytics.window(period, start, end)


WindowDep = Annotated[Window, Depends(_window)]


@_both("/summary", responses=returns(SummaryOut))
async def analytics_summary(
    services: ServicesDep, principal: CurrentPrincipal, window: WindowDep
) -> dict[str, Any]:
    async with services.db.read(snapshot=True) as conn:
        return await services.analytics.summary(conn, principal, window)


@_both("/agents", responses=returns(AgentsReportOut))
async def analytics_agents(
    services: ServicesDep, principal: CurrentPrincipal, window: WindowDep, limit: LimitQ = 1000
) -> dict[str, Any]:
    async with services.db.read(snapshot=True) as conn:
        return await services.analytics.agents(conn, principal, window, limit)


@_both("/tasks", responses=returns(TaskTypesReportOut))
async def analytics_task_types(
    services: ServicesDep, principal: CurrentPrincipal, window: WindowDep, limit: LimitQ = 1000
) -> dict[str, Any]:
    async with services.db.read(snapshot=True) as conn:
        return await services.analytics.task_types(conn, principal, window, limit)


@_both("/trends", responses=returns(TrendsOut))
async def analytics_trends(
    services: ServicesDep, principal: CurrentPrincipal, window: WindowDep, bucket: Bucket = "day"
) -> dict[str, Any]:
    async with services.db.read(snapshot=True) as conn:
        return await services.analytics.trends(conn, principal, window, bucket)


@_both("/export", response_class=StreamingResponse, responses=EXPORT_ANSWER)
async def analytics_export(
    services: ServicesDep,
    principal: CurrentPrincipal,
    window: WindowDep,
    format: ExportFormat = "csv",
    report: Report = "summary",
    bucket: Bucket = "day",
    limit: LimitQ = 10_000,
) -> StreamingResponse:
    analytics = services.analytics
    body = analytics.export(principal, window, report, format, bucket=bucket, limit=limit)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    filename = f"ains-{report}-{window.period}.{format}"
    return StreamingResponse(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
