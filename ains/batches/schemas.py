"""Request bodies for batches. Tasks stay raw dicts here so each one is validated on its own and
an invalid task is reported by its index instead of failing the whole request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name, name.replace("_", ""))


class BatchOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    atomic: bool = False  # one invalid task → nothing is created
    fail_fast: bool = Field(False, validation_alias=_alias("fail_fast"))  # stop at the first


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    batch_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", validation_alias=_alias("batch_id")
    )
    client_id: str | None = Field(
        None, min_length=1, max_length=200, validation_alias=_alias("client_id")
    )
    tasks: list[dict[str, Any]] = Field(min_length=1)
    batch_options: BatchOptions = Field(
        default_factory=BatchOptions, validation_alias=_alias("batch_options")
    )


# --- answers ----------------------------------------------------------------------------------


class BatchItemResult(BaseModel):
    """One submitted task of a batch: created (`task_id`, `status`) or refused (`errors`)."""

    index: int
    ok: bool
    task_id: str | None = None
    status: str | None = None
    ref: str | None = None
    error: str | None = None
    errors: list[dict[str, str]] | None = None


class BatchOptionsOut(BaseModel):
    atomic: bool | None
    fail_fast: bool | None


class BatchSubmittedOut(BaseModel):
    batch_id: str
    client_id: str
    status: str
    total_tasks: int
    submitted: int
    created: int
    failed: int
    options: BatchOptionsOut
    task_ids: list[str]
    results: list[BatchItemResult]
    created_at: datetime


class BatchCounts(BaseModel):
    """Counts of a batch's tasks: by status, and summed."""

    counts: dict[str, int]
    total: int
    completed: int
    failed: int
    cancelled: int
    in_progress: int
    terminal: int


class BatchStatusOut(BatchCounts):
    batch_id: str
    client_id: str
    status: str
    total_tasks: int
    options: BatchOptionsOut
    created_at: datetime
    completed_at: datetime | None


class BatchTaskResult(BaseModel):
    index: int | None
    task_id: str
    ref: str | None
    status: str
    result_data: Any
    last_error: Any
    error_type: str | None
    cost: float | None
    quality_score: float | None
    completed_at: datetime | None


class BatchResultsOut(BaseModel):
    batch_id: str
    status: str
    completed_at: datetime | None
    results: list[BatchTaskResult]


class TaskStatusItem(BaseModel):
    task_id: str
    found: bool
    status: str | None
    error: str | None = None
    batch_id: str | None = None
    priority: int | None = None
    assigned_agent_id: str | None = None
    retry_count: int | None = None
    completed_at: datetime | None = None
    last_error: Any = None


class TasksStatusOut(BatchCounts):
    status: str
    not_found: int
    tasks: list[TaskStatusItem]


class BatchCancelledOut(BatchCounts):
    batch_id: str
    client_id: str
    cancelled: int
    status: str
