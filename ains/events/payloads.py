"""The JSON form of one event, shared by webhooks and the real-time streams. Pure.

``{"type", "timestamp", "data": {...}}`` as Standard Webhooks recommends, plus the seed's flat
``event``, ``task_id`` and ``status`` fields and the ``event_id`` (the stream cursor).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

# Task columns a payload may show (never the input, never ciphertext).
TASK_FIELDS = ("client_id", "task_type", "capability_required", "batch_id", "priority")


def event_payload(ev: Mapping[str, Any], task: Mapping[str, Any] | None) -> dict[str, Any]:
    """Build the message for the event row ``ev``; ``task`` is its task's row, if any."""
    event_type = str(ev["event_type"])
    occurred: datetime = ev["occurred_at"]
    data: dict[str, Any] = {}
    status = ev.get("to_status")
    if ev.get("task_id"):
        data["task_id"] = ev["task_id"]
        data["status"] = status
        data["previous_status"] = ev.get("from_status")
        if task is not None:
            data.update({f: task.get(f) for f in TASK_FIELDS})
            if event_type == "task.completed" and not task.get("encrypted"):
                data["result_data"] = task.get("result_data")
        if event_type in ("task.failed", "task.retrying", "task.dead_lettered", "task.timed_out"):
            data["error"] = ev.get("reason")
        elif ev.get("reason"):
            data["reason"] = ev.get("reason")
    for key in ("agent_id", "batch_id", "schedule_id", "attempt_id"):
        if ev.get(key) and key not in data:
            data[key] = ev[key]
    if ev.get("data"):
        data["details"] = ev["data"]
    timestamp = occurred.isoformat().replace("+00:00", "Z")
    return {
        "type": event_type,
        "timestamp": timestamp,
        "data": data,
        "event": event_type,
        "event_id": ev.get("event_id"),
        "task_id": ev.get("task_id"),
        "status": status,
    }
