"""The console's pages (GET): each shows only what the signed-in principal may see, read through
the same services as the REST API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from ains.analytics.schemas import ExportFormat, Period, Report
from ains.dlq.schemas import DlqFilters
from ains.events.endpoints import sse_response
from ains.events.stream import StreamFilter
from ains.exceptions import NotFound, Unprocessable
from ains.http import ValidatedRoute
from ains.security.principals import can_change_task
from ains.services import Services
from ains.tasks.states import RETRYABLE, TERMINAL, TaskStatus
from ains.ui.rendering import query_without, render, services_of
from ains.ui.session import SECURITY_HEADERS, Visitor, visitor

router = APIRouter(route_class=ValidatedRoute, include_in_schema=False)
VisitorDep = Annotated[Visitor, Depends(visitor)]
PAGE = 50
TASK_FILTERS = ("status", "client_id", "agent_id", "task_type", "capability", "batch_id")


# --- overview ----------------------------------------------------------------------------------


async def _overview(services: Services, who: Visitor) -> dict[str, Any]:
    principal = who.principal
    analytics = services.analytics
    window = analytics.window("last_24_hours", None, None)
    async with services.db.read() as conn:
        stats = await services.queue.stats(conn, principal)
        agents = await services.agents.list_agents(
            conn, capability=None, online=None, limit=services.settings.max_page_size, cursor=None
        )
        hooks = await services.webhooks.list_for(conn, principal, 1000)
        summary = await analytics.summary(conn, principal, window)
    enabled = sum(1 for h in hooks["items"] if h["enabled"])
    return {
        "stats": stats,
        "depth_series": {str(p): n for p, n in stats["by_priority"].items()},
        "agents_online": sum(1 for a in agents["items"] if a["online"]),
        "agents_total": len(agents["items"]),
        "webhooks": {"enabled": enabled, "disabled": len(hooks["items"]) - enabled},
        "summary": summary,
        "throughput": summary["completed"] / 24,
    }


@router.get("/ui")
async def overview(request: Request, who: VisitorDep) -> Response:
    context = await _overview(services_of(request), who)
    return render(request, "overview.html", who, {"title": "Overview", **context})


@router.get("/ui/overview/cards")
async def overview_cards(request: Request, who: VisitorDep) -> Response:
    context = await _overview(services_of(request), who)
    return render(request, "overview_cards.html", who, context)


# --- tasks -------------------------------------------------------------------------------------


def _moment(field: str, value: str | None) -> datetime | None:
    """A `datetime-local` input (read as UTC) or an ISO 8601 time."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Unprocessable.field(field, "must be a date and time (ISO 8601)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def task_page(
    services: Services, who: Visitor, params: dict[str, str]
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the tasks the principal may see, filtered as the tasks page's form says."""
    if params.get("task_id"):
        async with services.db.read() as conn:
            try:
                task = await services.tasks.details(conn, who.principal, params["task_id"])
            except NotFound:
                return [], None
        return [task], None
    filters: dict[str, Any] = {k: params.get(k) for k in TASK_FILTERS}
    filters["created_after"] = _moment("created_after", params.get("created_after"))
    filters["created_before"] = _moment("created_before", params.get("created_before"))
    async with services.db.read() as conn:
        page = await services.tasks.list(
            conn, who.principal, filters=filters, cursor=params.get("cursor"), limit=PAGE
        )
    return page["items"], page["next_cursor"]


def _task_params(request: Request) -> dict[str, str]:
    names = ("task_id", "cursor", "created_after", "created_before", *TASK_FILTERS)
    return {k: v for k in names if (v := request.query_params.get(k, "").strip())}


@router.get("/ui/tasks")
async def tasks(request: Request, who: VisitorDep) -> Response:
    params = _task_params(request)
    items, next_cursor = await task_page(services_of(request), who, params)
    context = {
        "title": "Tasks",
        "tasks": items,
        "f": params,
        "statuses": [s.value for s in TaskStatus],
        "query": {k: v for k, v in params.items() if k != "cursor"},
        "query_string": query_without(params),
        # the first page follows the stream; a later page stays still while being read
        "live": "cursor" not in params,
        "next_cursor": next_cursor,
        "next_query": query_without(params, "cursor", cursor=next_cursor or ""),
    }
    return render(request, "tasks.html", who, context)


@router.get("/ui/tasks/rows")
async def task_rows(request: Request, who: VisitorDep) -> Response:
    items, _next = await task_page(services_of(request), who, _task_params(request))
    return render(request, "task_rows.html", who, {"tasks": items})


async def task_context(services: Services, who: Visitor, task_id: str) -> dict[str, Any]:
    async with services.db.read() as conn:
        task = await services.tasks.details(conn, who.principal, task_id)
        recorded = (await services.tasks.routing(conn, who.principal, task_id))["routings"]
    routings = [e for e in task["history"] if e["event"] == "task.assigned"]
    last = routings[-1] if routings else None
    return {
        "title": f"Task {task_id}",
        "t": task,
        "may_change": can_change_task(who.principal, task),
        "terminal": task["status"] in TERMINAL,
        "retryable": task["status"] in RETRYABLE,
        "routing": last and {**last, "agent": _routed_agent(task, last)},
        "routing_count": len(routings),
        # the candidates of the last routing, as recorded then
        "candidates": recorded[-1]["candidates"] if recorded else [],
        "last_tier": recorded[-1]["tier"] if recorded else None,
    }


def _routed_agent(task: dict[str, Any], routing: dict[str, Any]) -> str:
    by_attempt = {a["attempt_id"]: a["agent_id"] for a in task["attempts"]}
    return str(by_attempt.get(routing.get("attempt_id")) or task["assigned_agent_id"] or "?")


@router.get("/ui/tasks/{task_id}")
async def task_detail(
    request: Request, task_id: str, who: VisitorDep, reveal: bool = False
) -> Response:
    context = await task_context(services_of(request), who, task_id)
    return render(request, "task.html", who, {**context, "reveal": reveal})


@router.get("/ui/tasks/{task_id}/panel")
async def task_panel(
    request: Request, task_id: str, who: VisitorDep, reveal: bool = False
) -> Response:
    context = await task_context(services_of(request), who, task_id)
    return render(request, "task_panel.html", who, {**context, "reveal": reveal})


# --- agents, DLQ, analytics ----------------------------------------------------------------------


@router.get("/ui/agents")
async def agents(request: Request, who: VisitorDep, cursor: str | None = None) -> Response:
    services = services_of(request)
    async with services.db.read() as conn:
        page = await services.agents.list_agents(
            conn, capability=None, online=None, limit=PAGE, cursor=cursor
        )
        trust = {
            a["agent_id"]: trust_series(
                await services.agents.trust_history(conn, who.principal, a["agent_id"], 30)
            )
            for a in page["items"]
        }
    context = {
        "title": "Agents",
        "agents": page["items"],
        "trust": trust,
        "admin": who.principal.is_admin,
        "next_cursor": page.get("next_cursor"),
    }
    return render(request, "agents.html", who, context)


def trust_series(history: list[dict[str, Any]]) -> list[float]:
    """An agent's trust over its records, oldest first, from the score before the first one."""
    if not history:
        return []
    oldest = history[-1]
    return [oldest["trust_score"] - oldest["delta"]] + [r["trust_score"] for r in history[::-1]]


FilterQ = Annotated[str | None, Query(max_length=200)]


@router.get("/ui/dlq")
async def dlq(
    request: Request,
    who: VisitorDep,
    capability: FilterQ = None,
    task_type: FilterQ = None,
    client_id: FilterQ = None,
    error_type: FilterQ = None,
    cursor: str | None = None,
) -> Response:
    services = services_of(request)
    params = {
        "capability": capability or "",
        "task_type": task_type or "",
        "client_id": client_id or "",
        "error_type": error_type or "",
    }
    filters = DlqFilters(**{k: v or None for k, v in params.items()})
    service = services.dlq
    async with services.db.read() as conn:
        page = await service.list(conn, who.principal, filters, cursor=cursor, limit=PAGE)
    context = {
        "title": "Dead-letter queue",
        "items": page["items"],
        "f": params,
        "next_cursor": page.get("next_cursor"),
        "next_query": query_without(params, cursor=page.get("next_cursor") or ""),
    }
    return render(request, "dlq.html", who, context)


@router.get("/ui/analytics")
async def analytics(request: Request, who: VisitorDep, period: Period = "last_7_days") -> Response:
    services = services_of(request)
    service = services.analytics
    window = service.window(period, None, None)
    async with services.db.read(snapshot=True) as conn:
        summary = await service.summary(conn, who.principal, window)
        trends = await service.trends(conn, who.principal, window, "day")
        types = await service.task_types(conn, who.principal, window, 20)
    context = {
        "title": "Analytics",
        "period": period,
        "periods": ["last_24_hours", "last_7_days", "last_30_days", "all"],
        "summary": summary,
        "trend_series": {
            "labels": [i["bucket_start"][:10] for i in trends["items"]],
            "completed": [i["completed"] for i in trends["items"]],
            "failed": [i["failed"] for i in trends["items"]],
        },
        "types": types["items"],
        "reports": ["summary", "agents", "tasks", "trends"],
    }
    return render(request, "analytics.html", who, context)


@router.get("/ui/analytics/export")
async def analytics_export(
    request: Request,
    who: VisitorDep,
    report: Report = "summary",
    format: ExportFormat = "csv",
    period: Period = "last_7_days",
) -> StreamingResponse:
    services = services_of(request)
    service = services.analytics
    window = service.window(period, None, None)
    body = service.export(who.principal, window, report, format)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    disposition = f'attachment; filename="ains-{report}-{period}.{format}"'
    headers = {**SECURITY_HEADERS, "Content-Disposition": disposition}
    return StreamingResponse(body, media_type=media, headers=headers)


# --- the live feed -------------------------------------------------------------------------------


@router.get("/ui/events")
async def events(request: Request, who: VisitorDep) -> StreamingResponse:
    """The signed-in principal's event stream (the API's `/aitp/events`, authenticated by the
    console's cookie, which a browser's EventSource sends and cannot replace by a header)."""
    empty = StreamFilter(frozenset(), None, None, frozenset(), frozenset())
    return sse_response(services_of(request), who.principal, empty, None, named=False)
