"""Business metrics, counted from the events a committed transaction wrote — so a change that
rolled back is never counted, and every path that changes a task is counted the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter

from ains.metrics import registry as m

_BY_TYPE: dict[str, Counter] = {
    "task.created": m.tasks_created_total,
    "task.completed": m.tasks_completed_total,
    "task.failed": m.tasks_failed_total,
    "task.retrying": m.tasks_retried_total,
    "task.cancelled": m.tasks_cancelled_total,
    "task.timed_out": m.tasks_timed_out_total,
    "task.dead_lettered": m.tasks_dead_lettered_total,
}


def observe_events(rows: Sequence[dict[str, Any]]) -> None:
    for row in rows:
        kind = row["event_type"]
        m.events_published_total.labels(type=kind).inc()
        data = row.get("data") or {}
        capability = str(data.get("capability_required") or data.get("capability") or "unknown")
        counter = _BY_TYPE.get(kind)
        if counter is not None:
            counter.labels(capability=capability).inc()
        if kind == "task.completed" and data.get("execution_ms") is not None:
            m.task_execution_seconds.labels(capability=capability).observe(
                data["execution_ms"] / 1000
            )
        elif kind == "task.assigned" and data.get("wait_ms") is not None:
            m.dispatch_latency_seconds.observe(data["wait_ms"] / 1000)
        elif kind == "agent.offline":
            m.agents_offline_total.inc()
