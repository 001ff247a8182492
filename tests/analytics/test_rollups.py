"""The rolled-up analytics agree with a brute-force count of the tasks table, on both
databases: for windows that start and end mid-hour, inside one hour, or are open; with deltas
not folded yet, after folding, and after finished tasks are requeued, reassigned, changed or
deleted behind the server's back (the triggers see every write, not just the server's)."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ains.analytics.rollup import fold
from ains.db.engine import Database, create_engine
from ains.models import task_rollup_deltas, task_rollups, tasks
from tests.support.database import task_row
from tests.support.flows import claim, register_agent, submit
from tests.support.server import ServerProcess, running_server, wait_for

FINISHED = ("COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")
STATUSES = [*FINISHED, "COMPLETED", "COMPLETED", "PENDING", "RUNNING", "RETRY_SCHEDULED"]
INDIA = timezone(timedelta(hours=5, minutes=30))


@dataclass(frozen=True)
class Task:
    task_id: str
    client: str
    task_type: str
    agent: str | None
    status: str
    execution_ms: float | None
    cost: float | None
    quality: float | None
    created_at: datetime


def _age(rng: random.Random) -> float:
    """Seconds before the test's now, 0 to 10 days, never within 5 minutes of 7 days: the
    server's last_7_days starts at its own now, a little later than the test's."""
    while abs((age := rng.uniform(0, 10 * 86400)) - 7 * 86400) < 300:
        pass
    return age


def generate(count: int, now: datetime, seed: int = 11) -> list[Task]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        status = rng.choice(STATUSES)
        completed = status == "COMPLETED"
        out.append(
            Task(
                task_id=f"task_rollup_{i:05d}",
                client=f"c{rng.randrange(3)}",
                task_type=f"type-{rng.randrange(4)}",
                agent=None if rng.random() < 0.1 else f"agent-{rng.randrange(5)}",
                status=status,
                execution_ms=round(rng.uniform(1, 5000), 3) if completed else None,
                cost=None if rng.random() < 0.2 else round(rng.random(), 4),
                quality=round(rng.random(), 3) if completed and rng.random() < 0.8 else None,
                created_at=now - timedelta(seconds=_age(rng)),
            )
        )
    return out


def _record(task: Task) -> dict[str, Any]:
    return task_row(
        task.task_id,
        client_id=task.client,
        task_type=task.task_type,
        capability_required="rollup-fixture",
        status=task.status,
        assigned_agent_id=task.agent,
        cost=task.cost,
        quality_score=task.quality,
        execution_ms=task.execution_ms,
        created_at=task.created_at,
        updated_at=task.created_at,
    )


async def _run(url: str, *statements: Any) -> Any:
    engine = create_engine(url)
    try:
        result = None
        async with engine.begin() as conn:
            for statement in statements:
                result = await conn.execute(*statement)
        return result
    finally:
        await engine.dispose()


def execute(url: str, *statements: Any) -> None:
    asyncio.run(_run(url, *statements))


def delta_count(url: str) -> int:
    async def count() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return int(await conn.scalar(sa.select(sa.func.count()).select_from(
                    task_rollup_deltas)) or 0)  # fmt: skip
        finally:
            await engine.dispose()

    return asyncio.run(count())


def fold_now(url: str) -> None:
    async def run() -> None:
        db = Database(create_engine(url))
        try:
            await fold(db)
        finally:
            await db.dispose()

    asyncio.run(run())


# -- the truth, by brute force -------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = ordered[math.floor(position)], ordered[math.ceil(position)]
    return low + (position - math.floor(position)) * (high - low)


def figures(group: list[Task]) -> dict[str, Any]:
    count = {s: sum(t.status == s for t in group) for s in FINISHED}
    finished = sum(count.values())
    executions = [t.execution_ms for t in group if t.status == "COMPLETED" and t.execution_ms]
    costs = [t.cost for t in group if t.cost is not None]
    qualities = [t.quality for t in group if t.quality is not None]
    return {
        "total_tasks": len(group),
        "completed": count["COMPLETED"],
        "failed": count["FAILED"],
        "cancelled": count["CANCELLED"],
        "timed_out": count["TIMED_OUT"],
        "pending": len(group) - finished,
        "success_rate": round(100 * count["COMPLETED"] / finished, 2) if finished else None,
        "avg_execution_time_ms": sum(executions) / len(executions) if executions else None,
        "total_cost": sum(costs),
        "avg_quality_score": sum(qualities) / len(qualities) if qualities else None,
    }


def assert_figures(actual: dict[str, Any], expected: dict[str, Any], where: str) -> None:
    for name, value in expected.items():
        if value is None or isinstance(value, int):
            assert actual[name] == value, (where, name, actual[name], value)
        else:
            assert actual[name] == pytest.approx(value, abs=2e-3), (where, name)


def in_window(data: list[Task], start: datetime | None, end: datetime | None) -> list[Task]:
    return [
        t
        for t in data
        if (start is None or t.created_at >= start) and (end is None or t.created_at < end)
    ]


def floor(moment: datetime, bucket: str) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if bucket == "day" else moment


def grouped(data: list[Task], key: Any) -> dict[Any, list[Task]]:
    groups: dict[Any, list[Task]] = {}
    for task in data:
        groups.setdefault(key(task), []).append(task)
    return groups


def ranked(groups: dict[Any, list[Task]]) -> list[Any]:
    return sorted(groups, key=lambda k: (-sum(t.status == "COMPLETED" for t in groups[k]), str(k)))


# -- checking every endpoint against the truth -----------------------------------------------

Window = tuple[str, dict[str, str], datetime | None, datetime | None]


def windows(now: datetime) -> list[Window]:
    """The windows every report is checked over, relative to the test's own now (not the
    module's import time: a long suite may run this test an hour after collecting it)."""
    return [
        ("all", {"period": "all"}, None, None),
        ("last_7_days", {"period": "last_7_days"}, now - timedelta(days=7), None),
        # mid-hour bounds: whole hours from rollups, the two partial hours from the tasks table
        (
            "mid-hour range",
            {},
            now - timedelta(days=6, minutes=17, seconds=3),
            now - timedelta(days=1, minutes=41),
        ),
        (
            "inside one hour",
            {},
            floor(now, "hour") - timedelta(hours=30, minutes=-5),
            floor(now, "hour") - timedelta(hours=30, minutes=-50),
        ),
        ("open start", {}, None, now - timedelta(days=2, minutes=13)),
        # hours and days are UTC ones whatever offset the bounds are written in
        (
            "+05:30 bounds",
            {},
            (now - timedelta(days=4)).astimezone(INDIA),
            (now - timedelta(hours=5)).astimezone(INDIA),
        ),
        ("whole hours", {}, floor(now, "hour") - timedelta(days=3), floor(now, "hour")),
    ]


def _params(params: dict[str, str], start: datetime | None, end: datetime | None) -> dict[str, str]:
    if params:
        return params
    out = {}
    if start is not None:
        out["start"] = start.isoformat()
    if end is not None:
        out["end"] = end.isoformat()
    return out


def get(api: httpx.Client, path: str, **params: str) -> dict[str, Any]:
    r = api.get(f"/aitp/analytics/{path}", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def check_everything(
    api: httpx.Client, data: list[Task], now: datetime, agent: str | None = None
) -> None:
    """Every report for every window, for the admin or (with `agent`) an agent's own view."""
    scoped = data if agent is None else [t for t in data if t.agent == agent]
    for label, params, start, end in windows(now):
        query = _params(params, start, end)
        truth = in_window(scoped, start, end)
        where = f"{label} agent={agent}"
        summary = get(api, "summary", **query)
        assert_figures(summary, figures(truth), where)
        executions = [t.execution_ms for t in truth if t.status == "COMPLETED" and t.execution_ms]
        for name, fraction in (("p50_execution_time_ms", 0.5), ("p95_execution_time_ms", 0.95)):
            expected = percentile(executions, fraction)
            assert summary[name] == (
                None if expected is None else pytest.approx(expected, abs=2e-3)
            )
        by_agent = grouped([t for t in truth if t.agent], lambda t: t.agent)
        assert [a["agent_id"] for a in summary["top_agents"]] == ranked(by_agent)[:10], where

        items = get(api, "agents", **query)["items"]
        assert [i["agent_id"] for i in items] == ranked(by_agent), where
        for item in items:
            assert_figures(item, figures(by_agent[item["agent_id"]]), f"{where} agents")

        by_type = grouped(truth, lambda t: t.task_type)
        items = get(api, "tasks", **query)["items"]
        assert [i["task_type"] for i in items] == ranked(by_type), where
        for item in items:
            assert_figures(item, figures(by_type[item["task_type"]]), f"{where} types")

        for bucket in ("hour", "day"):
            by_bucket = grouped(truth, lambda t, b=bucket: floor(t.created_at, b))  # type: ignore[misc]
            items = get(api, "trends", bucket=bucket, **query)["items"]
            assert [i["bucket_start"] for i in items] == [
                k.isoformat().replace("+00:00", "Z") for k in sorted(by_bucket)
            ], (where, bucket)
            for item in items:
                group = by_bucket[datetime.fromisoformat(item["bucket_start"])]
                assert_figures(item, figures(group), f"{where} {bucket}")


@pytest.fixture(scope="module")
def rollup_server(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    with running_server(backend, tmp_path_factory.mktemp("rollups")) as server:
        yield server


def test_rollups_agree_with_the_tasks_table_through_folds_and_changes(
    rollup_server: ServerProcess,
) -> None:
    url = rollup_server.database_url
    now = datetime.now(UTC)
    data = generate(1500, now)
    execute(url, (tasks.insert(), [_record(t) for t in data]))
    assert delta_count(url) > 0  # written straight to the table: nothing has folded them
    with rollup_server.client() as api:
        check_everything(api, data, now)

        fold_now(url)
        assert delta_count(url) == 0
        check_everything(api, data, now)

        # behind the server's back: requeue, reassign, re-figure, refinish, delete
        rng = random.Random(5)
        finished = [t for t in data if t.status in FINISHED]
        requeued = rng.sample(finished, 60)
        reassigned = rng.sample([t for t in finished if t not in requeued], 60)
        deleted = rng.sample([t for t in finished if t not in requeued + reassigned], 40)
        changes = {t.task_id: replace(t, status="PENDING") for t in requeued}
        changes |= {
            t.task_id: replace(t, agent="agent-9", cost=1.5, task_type="type-9") for t in reassigned
        }
        T = tasks.c
        execute(
            url,
            (sa.update(tasks).where(T.task_id.in_([t.task_id for t in requeued]))
             .values(status="PENDING"),),
            (sa.update(tasks).where(T.task_id.in_([t.task_id for t in reassigned]))
             .values(assigned_agent_id="agent-9", cost=1.5, task_type="type-9"),),
            (sa.delete(tasks).where(T.task_id.in_([t.task_id for t in deleted])),),
            # a change that does not touch the figures writes no delta
            (sa.update(tasks).where(T.task_id == finished[-1].task_id)
             .values(updated_at=now),),
        )  # fmt: skip
        gone = {t.task_id for t in deleted}
        data = [changes.get(t.task_id, t) for t in data if t.task_id not in gone]
        check_everything(api, data, now)
        assert delta_count(url) == 60 + 60 * 2 + 40  # a requeue only takes away

        fold_now(url)
        check_everything(api, data, now)

        r = api.post("/ains/keys", json={"role": "agent", "principal_id": "agent-2", "name": "a2"})
        assert r.status_code == 201, r.text
        with rollup_server.client(r.json()["api_key"]) as agent_api:
            check_everything(agent_api, data, now, agent="agent-2")


def test_the_server_folds_what_its_agents_finish(rollup_server: ServerProcess, uid: str) -> None:
    url = rollup_server.database_url
    capability = f"rollup-{uid}:v1"
    with rollup_server.client() as api:
        before = get(api, "summary", period="last_24_hours")
        agent = register_agent(api, capability)
        done = []
        for _ in range(3):
            task = submit(api, capability, task_type=f"fold-{uid}")
            [claimed] = claim(api, agent["agent_id"], wait=5)
            r = api.post(
                f"/aitp/tasks/{task['task_id']}/complete",
                json={"attempt_id": claimed["attempt_id"], "result_data": {}, "cost": 0.5},
            )
            assert r.status_code == 200, r.text
            done.append(task["task_id"])
        wait_for(lambda: delta_count(url) == 0, timeout=30, message="the server to fold deltas")
        after = get(api, "summary", period="last_24_hours")
        assert after["completed"] == before["completed"] + 3
        assert after["total_cost"] == pytest.approx(before["total_cost"] + 1.5)

    async def rolled(conn_url: str) -> int:
        engine = create_engine(conn_url)
        try:
            async with engine.connect() as conn:
                R = task_rollups.c
                stmt = sa.select(sa.func.sum(R.n)).where(
                    R.dim == "type", R.key == f"fold-{uid}", R.status == "COMPLETED"
                )
                return int(await conn.scalar(stmt) or 0)
        finally:
            await engine.dispose()

    assert asyncio.run(rolled(url)) == 3
