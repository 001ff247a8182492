"""Turning task rows into the JSON a client sees."""

from __future__ import annotations

from typing import Any

from ains.security.crypto import KeyRing
from ains.tasks.sealing import unseal_row

# sealed in an encrypted task's row, like its input and result
SEALED_FIELDS = ("last_error", "progress", "metadata", "cancellation_reason")

PUBLIC_FIELDS = (
    "task_id",
    "client_id",
    "team",
    "task_type",
    "capability_required",
    "priority",
    "status",
    "assigned_agent_id",
    "attempt_id",
    "retry_count",
    "max_retries",
    "retry_policy",
    "next_retry_at",
    "last_error",
    "error_type",
    "timeout_seconds",
    "deadline",
    "visibility",
    "allowed_viewers",
    "metadata",
    "depends_on",
    "batch_id",
    "schedule_id",
    "template_id",
    "cost",
    "quality_score",
    "execution_ms",
    "progress",
    "lease_expires_at",
    "cancel_requested",
    "cancelled_by",
    "cancelled_at",
    "cancellation_reason",
    "dead_lettered",
    "created_at",
    "updated_at",
    "queued_at",
    "started_at",
    "completed_at",
)


def decrypt_field(row: Any, plain: str, cipher: str, keyring: KeyRing | None) -> Any:
    if not row.encrypted:
        return getattr(row, plain)
    token = getattr(row, cipher)
    if token is None:
        return None
    if keyring is None:
        return {"encrypted": True, "readable": False}
    return keyring.decrypt_json(token, row.task_id.encode())


def task_view(row: Any, keyring: KeyRing | None) -> dict[str, Any]:
    m = row._mapping
    view = {name: m[name] for name in PUBLIC_FIELDS}
    view["encrypt"] = bool(row.encrypted)
    view["input_data"] = decrypt_field(row, "input_data", "input_encrypted", keyring)
    view["result_data"] = decrypt_field(row, "result_data", "result_encrypted", keyring)
    for name in SEALED_FIELDS:
        view[name] = unseal_row(keyring, row, name)
    return view


def claimed_view(
    row: Any, keyring: KeyRing | None, dependency_results: dict[str, Any]
) -> dict[str, Any]:
    return {
        "task_id": row.task_id,
        "attempt_id": row.attempt_id,
        "task_type": row.task_type,
        "capability_required": row.capability_required,
        "input_data": decrypt_field(row, "input_data", "input_encrypted", keyring),
        "priority": row.priority,
        "lease_expires_at": row.lease_expires_at,
        "timeout_seconds": row.timeout_seconds,
        "timeout_at": row.timeout_at,
        "deadline": row.deadline,
        "retry_count": row.retry_count,
        "client_id": row.client_id,
        "metadata": unseal_row(keyring, row, "metadata"),
        "dependency_results": dependency_results,
    }
