"""Analytics over the tasks table, computed at request time from its rollups and the tasks
not rolled up (no cache: figures are exact for the table at the moment of the request). See
ains/analytics/schemas.py for the definitions, docs/analytics.md for how they are read."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ains import json_output
from ains.analytics import repository as repo
from ains.analytics.schemas import (
    DEFAULT_PERIOD,
    PERIOD_LENGTHS,
    TOP_AGENTS,
    Bucket,
    ExportFormat,
    Period,
    Report,
    Scope,
    Stats,
    Window,
)
from ains.clock import Clock
from ains.db.engine import Database
from ains.exceptions import Unprocessable
from ains.json_output import utc_text
from ains.security.principals import Principal

RAW_PAGE = 5000


def resolve_window(
    period: Period | None, start: datetime | None, end: datetime | None, now: datetime
) -> Window:
    """A named period ending now, or a custom [start, end) range (open at a missing bound)."""
    if start is None and end is None:
        if period == "custom":
            raise Unprocessable.field("period", "custom needs start and/or end")
        name: Period = period or DEFAULT_PERIOD
        length = PERIOD_LENGTHS[name]
        return Window(name, None if length is None else now - length, None)
    if period not in (None, "custom"):
        raise Unprocessable.field("period", "give either a period or start/end, not both")
    for field, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise Unprocessable.field(field, "must include a timezone")
    if start is not None and end is not None and start >= end:
        raise Unprocessable.field("end", "must be after start")
    return Window("custom", start, end)


def scope_of(principal: Principal) -> Scope:
    if principal.is_admin:
        return Scope()
    if principal.role == "agent":
        return Scope(agent_id=principal.principal_id)
    return Scope(client_id=principal.principal_id)


def _fold(rows: Iterable[Any], key: Callable[[Any], Any] = lambda row: row.key) -> dict[Any, Stats]:
    """Groups by key; a group whose tasks all left it (rolled-up counts netting to 0) goes."""
    groups: dict[Any, Stats] = {}
    for row in rows:
        groups.setdefault(key(row), Stats()).add(row)
    return {key: stats for key, stats in groups.items() if stats.total}


BY_AGENT = repo.Grouping("agent")
BY_TYPE = repo.Grouping("type")


def _ranked(groups: dict[Any, Stats], name: str, limit: int) -> list[dict[str, Any]]:
    """Groups by completed tasks (most first), then by key."""
    order = sorted(groups.items(), key=lambda kv: (-kv[1].count("COMPLETED"), str(kv[0])))
    return [{name: key, **stats.figures()} for key, stats in order[:limit]]


class AnalyticsService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def window(self, period: Period | None, start: datetime | None, end: datetime | None) -> Window:
        return resolve_window(period, start, end, self.clock())

    async def summary(
        self, conn: AsyncConnection, principal: Principal, window: Window
    ) -> dict[str, Any]:
        scope = scope_of(principal)
        # per (agent, status) rows fold into the per-agent and the overall figures
        stats = Stats()
        rows = await repo.aggregate(conn, window, scope, BY_AGENT)
        for row in rows:
            stats.add(row)
        agents = _fold(rows)
        agents.pop(None, None)  # never assigned
        where = repo.filters(window, scope)
        p50, p95 = await repo.percentiles(conn, where, (0.5, 0.95), stats.exec_n)
        top = [
            {
                "agent_id": a["agent_id"],
                "completed": a["completed"],
                "success_rate": a["success_rate"],
            }
            for a in _ranked(agents, "agent_id", TOP_AGENTS)
        ]
        figures = stats.figures()
        return {
            **window.view(),
            **figures,
            "p50_execution_time_ms": None if p50 is None else round(p50, 3),
            "p95_execution_time_ms": None if p95 is None else round(p95, 3),
            "top_agents": top,
        }

    async def agents(
        self, conn: AsyncConnection, principal: Principal, window: Window, limit: int
    ) -> dict[str, Any]:
        groups = _fold(await repo.aggregate(conn, window, scope_of(principal), BY_AGENT))
        groups.pop(None, None)
        return {**window.view(), "items": _ranked(groups, "agent_id", limit)}

    async def task_types(
        self, conn: AsyncConnection, principal: Principal, window: Window, limit: int
    ) -> dict[str, Any]:
        groups = _fold(await repo.aggregate(conn, window, scope_of(principal), BY_TYPE))
        return {**window.view(), "items": _ranked(groups, "task_type", limit)}

    async def trends(
        self, conn: AsyncConnection, principal: Principal, window: Window, bucket: Bucket
    ) -> dict[str, Any]:
        grouping = repo.Grouping("bucket", bucket)
        rows = await repo.aggregate(conn, window, scope_of(principal), grouping)
        groups = _fold(rows, key=lambda row: repo.as_utc(row.key))
        items = [
            {"bucket_start": utc_text(moment), **groups[moment].figures()}
            for moment in sorted(groups)
        ]
        return {**window.view(), "bucket": bucket, "items": items}

    # -- export --------------------------------------------------------------------------------

    async def report(
        self,
        principal: Principal,
        window: Window,
        report: Report,
        *,
        bucket: Bucket,
        limit: int,
    ) -> dict[str, Any]:
        """An aggregate report (small: one row per agent, task type or bucket)."""
        async with self.db.read(snapshot=True) as conn:
            if report == "summary":
                return await self.summary(conn, principal, window)
            if report == "agents":
                return await self.agents(conn, principal, window, limit)
            if report == "tasks":
                return await self.task_types(conn, principal, window, limit)
            return await self.trends(conn, principal, window, bucket)

    async def raw_rows(self, principal: Principal, window: Window) -> AsyncIterator[dict[str, Any]]:
        """Every task of the window, page by page (keyset on created_at, task_id)."""
        where = repo.filters(window, scope_of(principal))
        after: tuple[datetime, str] | None = None
        while True:
            async with self.db.read() as conn:
                rows = await repo.raw_page(conn, where, after, RAW_PAGE)
            for row in rows:
                yield dict(zip(repo.RAW_COLUMNS, row, strict=True))
            if len(rows) < RAW_PAGE:
                return
            after = (rows[-1].created_at, rows[-1].task_id)

    async def export(
        self,
        principal: Principal,
        window: Window,
        report: Report,
        fmt: ExportFormat,
        *,
        bucket: Bucket = "day",
        limit: int = 10_000,
    ) -> AsyncIterator[bytes]:
        """The report as CSV or JSON, produced piece by piece for a streaming response."""
        if report == "tasks_raw":
            rows = self.raw_rows(principal, window)
            header: dict[str, Any] = {**window.view(), "report": report}
            columns: list[str] = list(repo.RAW_COLUMNS)
        else:
            data = await self.report(principal, window, report, bucket=bucket, limit=limit)
            if report == "summary" and fmt == "json":
                yield json_output.dumps({"report": report, **data})
                return
            header = {k: v for k, v in data.items() if k != "items"} | {"report": report}
            items = [_summary_row(data)] if report == "summary" else data["items"]
            rows = _aiter(items)
            columns = list(items[0]) if items else []
        if fmt == "json":
            async for chunk in _json_stream(header, rows):
                yield chunk
        else:
            async for chunk in _csv_stream(columns, rows):
                yield chunk


def _summary_row(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary as one CSV row; top agents are the agents report's first rows."""
    return {k: v for k, v in summary.items() if k != "top_agents"}


async def _aiter(items: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for item in items:
        yield item


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value  # OWASP: a leading quote makes the cell text; numbers stay numbers
    return "" if value is None else value


async def _csv_stream(
    columns: list[str], rows: AsyncIterator[dict[str, Any]], flush_every: int = 1000
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    # RFC 4180 line ends: the csv module then also quotes cells holding a bare "\r", which a
    # reader would otherwise take for the end of the row
    writer = csv.writer(buffer, lineterminator="\r\n")
    if columns:
        writer.writerow(columns)
    pending = 0
    async for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
        pending += 1
        if pending >= flush_every:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode()


async def _json_stream(
    header: dict[str, Any], rows: AsyncIterator[dict[str, Any]], flush_every: int = 1000
) -> AsyncIterator[bytes]:
    opening = json_output.dumps(header)
    yield opening[:-1] + b',"items":['
    chunk: list[bytes] = []
    first = True
    async for row in rows:
        encoded = json_output.dumps(row)
        chunk.append(encoded if first else b"," + encoded)
        first = False
        if len(chunk) >= flush_every:
            yield b"".join(chunk)
            chunk = []
    yield b"".join(chunk) + b"]}"
