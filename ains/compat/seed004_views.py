"""Our answers turned into seed 004's shapes: `{"success": true, "data": …}` with camelCase
fields (see docs/seed004.md). Errors stay problem+json, like everywhere else."""

from __future__ import annotations

from typing import Any

from ains.priorities import priority_name

# seed 004's field ← our task view's field
TASK_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "task_id"),
    ("agentId", "capability_required"),
    ("assignedAgentId", "assigned_agent_id"),
    ("taskType", "task_type"),
    ("status", "status"),
    ("input", "input_data"),
    ("output", "result_data"),
    ("error", "last_error"),
    ("errorType", "error_type"),
    ("retryCount", "retry_count"),
    ("maxRetries", "max_retries"),
    ("nextRetryAt", "next_retry_at"),
    ("timeoutSeconds", "timeout_seconds"),
    ("deadline", "deadline"),
    ("cost", "cost"),
    ("qualityScore", "quality_score"),
    ("executionTimeMs", "execution_ms"),
    ("clientId", "client_id"),
    ("batchId", "batch_id"),
    ("dependsOn", "depends_on"),
    ("metadata", "metadata"),
    ("cancelledBy", "cancelled_by"),
    ("cancellationReason", "cancellation_reason"),
    ("createdAt", "created_at"),
    ("updatedAt", "updated_at"),
    ("startedAt", "started_at"),
    ("completedAt", "completed_at"),
    ("cancelledAt", "cancelled_at"),
)

SUMMARY_FIELDS: tuple[tuple[str, str], ...] = (
    ("period", "period"),
    ("start", "start"),
    ("end", "end"),
    ("totalTasks", "total_tasks"),
    ("completed", "completed"),
    ("failed", "failed"),
    ("cancelled", "cancelled"),
    ("timedOut", "timed_out"),
    ("pending", "pending"),
    ("successRate", "success_rate"),
    ("avgExecutionTimeMs", "avg_execution_time_ms"),
    ("p50ExecutionTimeMs", "p50_execution_time_ms"),
    ("p95ExecutionTimeMs", "p95_execution_time_ms"),
    ("totalCost", "total_cost"),
    ("avgQualityScore", "avg_quality_score"),
)


def ok(data: Any, **extra: Any) -> dict[str, Any]:
    return {"success": True, "data": data, **extra}


def task(view: dict[str, Any]) -> dict[str, Any]:
    out = {theirs: view.get(ours) for theirs, ours in TASK_FIELDS}
    out["priority"] = priority_name(view["priority"])
    out["priorityLevel"] = view["priority"]
    return out


def queue_status(stats: dict[str, Any]) -> dict[str, Any]:
    by_name = {"URGENT": 0, "HIGH": 0, "NORMAL": 0, "LOW": 0}
    for level, depth in stats["by_priority"].items():
        by_name[priority_name(int(level))] += depth
    return {
        "pending": stats["depth"],
        "processing": stats["in_flight"],
        "blocked": stats["blocked"],
        "retryScheduled": stats["retry_scheduled"],
        "deadLettered": stats["dead_lettered"],
        "byPriority": by_name,
        "byCapability": stats["by_capability"],
        "oldestQueuedAt": stats["oldest_queued_at"],
        "oldestWaitSeconds": stats["oldest_wait_seconds"],
    }


def summary(figures: dict[str, Any]) -> dict[str, Any]:
    out = {theirs: figures.get(ours) for theirs, ours in SUMMARY_FIELDS}
    out["topAgents"] = [
        {"agentId": a["agent_id"], "completed": a["completed"], "successRate": a["success_rate"]}
        for a in figures.get("top_agents", [])
    ]
    return out


def batch(submitted: dict[str, Any]) -> dict[str, Any]:
    return {
        "batchId": submitted["batch_id"],
        "clientId": submitted["client_id"],
        "created": submitted["created"],
        "failed": submitted["failed"],
        "taskIds": submitted["task_ids"],
        "results": [
            {"index": r.get("index"), "ok": r.get("ok"), "taskId": r.get("task_id")}
            | ({"errors": r["errors"]} if r.get("errors") else {})
            for r in submitted["results"]
        ],
    }


def cleanup(view: dict[str, Any]) -> dict[str, Any]:
    return {
        "dryRun": view["dry_run"],
        "deletedCount": view["total"],
        "tasksDeleted": view["counts"].get("tasks", 0),
        "counts": view["counts"],
    }


def sweep(swept: dict[str, int]) -> dict[str, Any]:
    return {
        "timedOutCount": swept["total"],
        "timedOut": swept["timed_out"],
        "leasesExpired": swept["leases_expired"],
    }
