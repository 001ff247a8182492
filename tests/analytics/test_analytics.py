"""Analytics are exact for a known data set, on both databases: every endpoint, every period,
a custom range, exports that agree with the summary, and a client seeing only its own tasks.

The ten tasks below are written straight into the database of a dedicated server; the expected
figures in the tests were worked out by hand from this table."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ains.db.engine import create_engine
from ains.models import tasks
from tests.support.database import task_row
from tests.support.server import ServerProcess, running_server

NOW = datetime.now(UTC).replace(microsecond=0)
H1, D3, D20, D60 = (NOW - timedelta(hours=1), NOW - timedelta(days=3),
                    NOW - timedelta(days=20), NOW - timedelta(days=60))  # fmt: skip


@dataclass(frozen=True)
class Row:
    client: str
    task_type: str
    agent: str | None
    status: str
    execution_ms: float | None
    cost: float | None
    quality: float | None
    created_at: datetime


DATA = [
    Row("c1", "summarize", "agent_a", "COMPLETED", 100, 0.5, 0.9, H1),  # 1
    Row("c1", "summarize", "agent_a", "COMPLETED", 200, 0.25, 0.8, H1),  # 2
    Row("c1", "translate", "agent_b", "FAILED", None, 0.1, None, H1),  # 3
    Row("c2", "translate", "agent_b", "COMPLETED", 400, 1.0, 0.7, D3),  # 4
    Row("c2", "summarize", None, "PENDING", None, None, None, D3),  # 5
    Row("c2", "summarize", "agent_a", "CANCELLED", None, None, None, D3),  # 6
    Row("c1", "translate", "agent_b", "TIMED_OUT", None, 0.05, None, D20),  # 7
    Row("c1", "summarize", "agent_a", "COMPLETED", 1000, 2.0, 1.0, D20),  # 8
    Row("c2", "summarize", "agent_b", "RUNNING", None, None, None, D20),  # 9
    Row("c1", "summarize", "agent_a", "COMPLETED", 50, 0.125, 0.5, D60),  # 10
]


def _record(i: int, row: Row) -> dict[str, Any]:
    return task_row(
        f"task_analytics_{i:02d}",
        client_id=row.client,
        task_type=row.task_type,
        capability_required="analytics-fixture",
        status=row.status,
        assigned_agent_id=row.agent,
        cost=row.cost,
        quality_score=row.quality,
        execution_ms=row.execution_ms,
        created_at=row.created_at,
        updated_at=row.created_at,
        completed_at=row.created_at + timedelta(seconds=1) if row.cost is not None else None,
    )


async def _insert(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(tasks.insert(), [_record(i, r) for i, r in enumerate(DATA, 1)])
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def analytics_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with running_server(backend, tmp_path_factory.mktemp("analytics")) as server:
        asyncio.run(_insert(server.database_url))
        yield server


@pytest.fixture
def admin(analytics_server: ServerProcess) -> Iterator[httpx.Client]:
    with analytics_server.client() as client:
        yield client


def get(api: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    r = api.get(f"/aitp/analytics/{path}", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


SUMMARIES = {
    "last_24_hours": dict(total_tasks=3, completed=2, failed=1, cancelled=0, timed_out=0,
                          pending=0, success_rate=66.67, avg_execution_time_ms=150.0,
                          p50_execution_time_ms=150.0, p95_execution_time_ms=195.0,
                          total_cost=0.85, avg_quality_score=0.85),
    "last_7_days": dict(total_tasks=6, completed=3, failed=1, cancelled=1, timed_out=0,
                        pending=1, success_rate=60.0, avg_execution_time_ms=233.333,
                        p50_execution_time_ms=200.0, p95_execution_time_ms=380.0,
                        total_cost=1.85, avg_quality_score=0.8),
    "last_30_days": dict(total_tasks=9, completed=4, failed=1, cancelled=1, timed_out=1,
                         pending=2, success_rate=57.14, avg_execution_time_ms=425.0,
                         p50_execution_time_ms=300.0, p95_execution_time_ms=910.0,
                         total_cost=3.9, avg_quality_score=0.85),
    "all": dict(total_tasks=10, completed=5, failed=1, cancelled=1, timed_out=1, pending=2,
                success_rate=62.5, avg_execution_time_ms=350.0, p50_execution_time_ms=200.0,
                p95_execution_time_ms=880.0, total_cost=4.025, avg_quality_score=0.78),
}  # fmt: skip
TOP_AGENTS = {
    "last_24_hours": [("agent_a", 2, 100.0), ("agent_b", 0, 0.0)],
    "last_7_days": [("agent_a", 2, 66.67), ("agent_b", 1, 50.0)],
    "last_30_days": [("agent_a", 3, 75.0), ("agent_b", 1, 33.33)],
    "all": [("agent_a", 4, 80.0), ("agent_b", 1, 33.33)],
}


def _close(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, abs=1e-9), (key, actual[key], value)


@pytest.mark.parametrize("period", list(SUMMARIES))
def test_summary_is_exact_for_every_period(admin: httpx.Client, period: str) -> None:
    summary = get(admin, "summary", period=period)
    assert summary["period"] == period
    _close(summary, SUMMARIES[period])
    top = [(a["agent_id"], a["completed"], a["success_rate"]) for a in summary["top_agents"]]
    assert top == TOP_AGENTS[period]


def test_default_period_is_last_7_days_and_aliases_answer_the_same(admin: httpx.Client) -> None:
    summary = get(admin, "summary")
    assert summary["period"] == "last_7_days"
    _close(summary, SUMMARIES["last_7_days"])
    alias = admin.get("/ains/analytics/summary", params={"period": "all"})
    assert alias.status_code == 200
    _close(alias.json(), SUMMARIES["all"])


def test_custom_range_is_half_open_on_created_at(admin: httpx.Client) -> None:
    start, end = (NOW - timedelta(days=4)).isoformat(), (NOW - timedelta(days=2)).isoformat()
    summary = get(admin, "summary", start=start, end=end)
    assert summary["period"] == "custom"
    _close(summary, dict(total_tasks=3, completed=1, failed=0, cancelled=1, pending=1,
                         success_rate=50.0, avg_execution_time_ms=400.0,
                         p50_execution_time_ms=400.0, p95_execution_time_ms=400.0,
                         total_cost=1.0, avg_quality_score=0.7))  # fmt: skip
    # a range ending exactly at the tasks' creation time leaves them out; starting there keeps them
    assert get(admin, "summary", start=start, end=D3.isoformat())["total_tasks"] == 0
    assert get(admin, "summary", start=D3.isoformat(), end=end)["total_tasks"] == 3
    only_start = get(admin, "summary", start=(NOW - timedelta(days=25)).isoformat())
    assert only_start["total_tasks"] == 9


def test_empty_range_has_no_rates(admin: httpx.Client) -> None:
    summary = get(admin, "summary", start="2001-01-01T00:00:00Z", end="2001-01-02T00:00:00Z")
    assert summary["total_tasks"] == 0 and summary["success_rate"] is None
    assert summary["p50_execution_time_ms"] is None and summary["total_cost"] == 0
    assert summary["top_agents"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"period": "last_year"},
        {"start": "2024-01-01T00:00:00"},  # no timezone
        {"start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
        {"start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
        {"period": "last_7_days", "start": "2024-01-01T00:00:00Z"},
        {"period": "custom"},
        {"start": "yesterday"},
    ],
)
def test_bad_periods_and_ranges_are_422(admin: httpx.Client, params: dict[str, str]) -> None:
    for path in ("summary", "agents", "tasks", "trends", "export"):
        r = admin.get(f"/aitp/analytics/{path}", params=params)
        assert r.status_code == 422, (path, params, r.text)
        assert r.headers["content-type"] == "application/problem+json"


def test_per_agent_table(admin: httpx.Client) -> None:
    items = get(admin, "agents", period="all")["items"]
    assert [i["agent_id"] for i in items] == ["agent_a", "agent_b"]
    _close(items[0], dict(total_tasks=5, completed=4, failed=0, cancelled=1, timed_out=0,
                          pending=0, success_rate=80.0, avg_execution_time_ms=337.5,
                          total_cost=2.875, avg_quality_score=0.8))  # fmt: skip
    _close(items[1], dict(total_tasks=4, completed=1, failed=1, cancelled=0, timed_out=1,
                          pending=1, success_rate=33.33, avg_execution_time_ms=400.0,
                          total_cost=1.15, avg_quality_score=0.7))  # fmt: skip
    day = get(admin, "agents", period="last_24_hours")["items"]
    assert [(i["agent_id"], i["total_tasks"], i["completed"]) for i in day] == [
        ("agent_a", 2, 2),
        ("agent_b", 1, 0),
    ]


def test_per_task_type_table(admin: httpx.Client) -> None:
    items = get(admin, "tasks", period="all")["items"]
    assert [i["task_type"] for i in items] == ["summarize", "translate"]
    _close(items[0], dict(total_tasks=7, completed=4, cancelled=1, pending=2, success_rate=80.0,
                          avg_execution_time_ms=337.5, total_cost=2.875,
                          avg_quality_score=0.8))  # fmt: skip
    _close(items[1], dict(total_tasks=3, completed=1, failed=1, timed_out=1, pending=0,
                          success_rate=33.33, avg_execution_time_ms=400.0, total_cost=1.15,
                          avg_quality_score=0.7))  # fmt: skip
    week = get(admin, "tasks", period="last_7_days")["items"]
    assert [(i["task_type"], i["total_tasks"]) for i in week] == [
        ("summarize", 4),
        ("translate", 2),
    ]


def _floor(moment: datetime, bucket: str) -> str:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    start = moment.replace(hour=0) if bucket == "day" else moment
    return start.isoformat().replace("+00:00", "Z")  # every time the API writes is UTC, Z


@pytest.mark.parametrize("bucket", ["hour", "day"])
def test_trends_count_each_status_per_bucket(admin: httpx.Client, bucket: str) -> None:
    trends = get(admin, "trends", period="all", bucket=bucket)
    assert trends["bucket"] == bucket
    # four creation moments, one bucket each (whatever the size, they are days apart)
    expected = [_floor(m, bucket) for m in (D60, D20, D3, H1)]
    assert [i["bucket_start"] for i in trends["items"]] == expected
    latest = trends["items"][-1]  # tasks 1–3
    _close(latest, dict(total_tasks=3, completed=2, failed=1, avg_execution_time_ms=150.0,
                        total_cost=0.85, success_rate=66.67))  # fmt: skip
    assert sum(i["total_tasks"] for i in trends["items"]) == 10
    assert sum(i["completed"] for i in trends["items"]) == 5
    week = get(admin, "trends", period="last_7_days", bucket=bucket)["items"]
    assert [i["total_tasks"] for i in week] == [3, 3]


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_and_json_summary_exports_agree_with_the_summary(admin: httpx.Client) -> None:
    summary = get(admin, "summary", period="all")
    as_json = admin.get("/aitp/analytics/export", params={"format": "json", "period": "all"})
    assert as_json.status_code == 200 and as_json.headers["content-type"] == "application/json"
    assert "attachment" in as_json.headers["content-disposition"]
    assert as_json.json() == {"report": "summary", **summary}
    as_csv = admin.get("/ains/analytics/export", params={"format": "csv", "period": "all"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    (row,) = _csv(as_csv.text)
    for key in ("total_tasks", "completed", "failed", "cancelled", "timed_out", "pending"):
        assert int(row[key]) == summary[key], key
    for key in ("success_rate", "avg_execution_time_ms", "p50_execution_time_ms",
                "p95_execution_time_ms", "total_cost", "avg_quality_score"):  # fmt: skip
        assert float(row[key]) == pytest.approx(summary[key]), key


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_raw_task_export_agrees_with_the_summary(admin: httpx.Client, fmt: str) -> None:
    summary = get(admin, "summary", period="last_30_days")
    params = {"format": fmt, "report": "tasks_raw", "period": "last_30_days"}
    with admin.stream("GET", "/aitp/analytics/export", params=params) as r:
        assert r.status_code == 200
        body = b"".join(r.iter_bytes()).decode()
    rows = _csv(body) if fmt == "csv" else json.loads(body)["items"]
    assert len(rows) == summary["total_tasks"] == 9
    statuses = [r["status"] for r in rows]
    assert statuses.count("COMPLETED") == summary["completed"]
    assert statuses.count("TIMED_OUT") == summary["timed_out"]
    cost = sum(float(r["cost"]) for r in rows if r["cost"] not in ("", None))
    assert cost == pytest.approx(summary["total_cost"])
    created = [r["created_at"] for r in rows]
    assert created == sorted(created)  # keyset order


@pytest.mark.parametrize("report", ["agents", "tasks", "trends"])
def test_table_exports_parse_in_both_formats(admin: httpx.Client, report: str) -> None:
    params = {"report": report, "period": "all"}
    table = get(
        admin, {"agents": "agents", "tasks": "tasks", "trends": "trends"}[report], period="all"
    )
    as_json = admin.get("/aitp/analytics/export", params={**params, "format": "json"}).json()
    assert as_json["items"] == table["items"]
    rows = _csv(admin.get("/aitp/analytics/export", params={**params, "format": "csv"}).text)
    assert [int(r["total_tasks"]) for r in rows] == [i["total_tasks"] for i in table["items"]]
    assert sum(float(r["total_cost"]) for r in rows) == pytest.approx(4.025)


def test_a_client_sees_only_its_own_tasks(
    admin: httpx.Client, analytics_server: ServerProcess
) -> None:
    r = admin.post("/ains/keys", json={"role": "client", "principal_id": "c1", "name": "c1"})
    assert r.status_code == 201, r.text
    with analytics_server.client(r.json()["api_key"]) as c1:
        summary = get(c1, "summary", period="all")
        _close(summary, dict(total_tasks=6, completed=4, failed=1, timed_out=1, pending=0,
                             success_rate=66.67, avg_execution_time_ms=337.5,
                             p50_execution_time_ms=150.0, total_cost=3.025,
                             avg_quality_score=0.8))  # fmt: skip
        types = get(c1, "tasks", period="all")["items"]
        assert {(t["task_type"], t["total_tasks"]) for t in types} == {
            ("summarize", 4),
            ("translate", 2),
        }
        raw = c1.get("/aitp/analytics/export", params={"report": "tasks_raw", "period": "all"})
        assert {row["client_id"] for row in _csv(raw.text)} == {"c1"}


def test_figures_follow_the_table_at_request_time(admin: httpx.Client) -> None:
    before = get(admin, "summary", period="last_24_hours")
    body = {"client_id": "c3", "task_type": "late", "capability_required": "nobody-has-it"}
    assert admin.post("/aitp/tasks", json=body).status_code == 201
    after = get(admin, "summary", period="last_24_hours")
    assert after["total_tasks"] == before["total_tasks"] + 1
    assert after["pending"] == before["pending"] + 1
    # later tests use period=all figures; undo by cancelling is not needed: c3 is its own client
    types = {t["task_type"] for t in get(admin, "tasks", period="last_24_hours")["items"]}
    assert "late" in types
