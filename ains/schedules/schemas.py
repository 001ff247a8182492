"""Request bodies for schedules. Inputs are snake_case; the seeds' underscore-less spellings are
accepted as aliases, as for tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field

from ains.tasks.schemas import TaskToMakeLater
from ains.types import Timestamp

MissedRunPolicy = Literal["skip", "run_once"]
OverlapPolicy = Literal["allow", "skip"]
SCHEDULE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
# the keys of `task_options`: how each fired task is submitted, beyond the main fields
TASK_OPTIONS = ("retry_policy", "max_retries", "timeout_seconds", "visibility", "metadata")


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name, name.replace("_", ""))


class _ScheduleFields(TaskToMakeLater):
    """The task each run makes, and when it runs."""

    cron_expression: str | None = Field(
        None, min_length=1, max_length=200, validation_alias=_alias("cron_expression")
    )
    interval_seconds: int | None = Field(
        None, ge=1, le=366 * 86400, validation_alias=_alias("interval_seconds")
    )
    run_at: Timestamp | None = Field(None, validation_alias=_alias("run_at"))
    timezone: str | None = Field(None, min_length=1, max_length=64)
    description: str | None = Field(None, max_length=2000)
    missed_run_policy: MissedRunPolicy | None = Field(
        None, validation_alias=_alias("missed_run_policy")
    )
    overlap_policy: OverlapPolicy | None = Field(None, validation_alias=_alias("overlap_policy"))


class ScheduleIn(_ScheduleFields):
    """POST /aitp/tasks/schedule. Exactly one of cron_expression, interval_seconds, run_at;
    task_type and capability_required come from the body or the template."""

    schedule_id: str | None = Field(
        None, pattern=SCHEDULE_ID, validation_alias=_alias("schedule_id")
    )
    client_id: str | None = Field(
        None, min_length=1, max_length=200, validation_alias=_alias("client_id")
    )
    template_id: str | None = Field(
        None, min_length=1, max_length=64, validation_alias=_alias("template_id")
    )


class ScheduleUpdate(_ScheduleFields):
    """PUT /aitp/tasks/schedule/{id}: the fields sent replace the stored ones (others are kept).
    Sending one timing field (cron_expression, interval_seconds or run_at) replaces the timing."""


def task_options(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: fields[k] for k in TASK_OPTIONS if fields.get(k) is not None}


def dump(model: BaseModel) -> dict[str, Any]:
    """Only the fields the client sent, JSON-ready (retry_policy as a dict)."""
    return model.model_dump(mode="json", exclude_unset=True) | {
        k: getattr(model, k) for k in ("run_at",) if k in model.model_fields_set
    }


# --- answers ----------------------------------------------------------------------------------


class ScheduleOut(BaseModel):
    schedule_id: str
    client_id: str
    task_type: str | None
    capability_required: str | None
    input_data: Any
    priority: int | None
    cron_expression: str | None
    interval_seconds: float | None
    run_at: datetime | None
    timezone: str
    template_id: str | None
    status: str
    next_run_at: datetime | None
    last_run_at: datetime | None
    total_runs: int
    failed_runs: int
    description: str | None
    missed_run_policy: str
    overlap_policy: str
    task_options: dict[str, Any]
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class SchedulePage(BaseModel):
    items: list[ScheduleOut]
    next_cursor: str | None


class ExecutionOut(BaseModel):
    execution_id: str
    schedule_id: str
    task_id: str | None
    due_at: datetime | None
    executed_at: datetime | None
    trigger: str
    status: str
    task_status: str | None
    result_data: Any
    error_message: Any
    duration_seconds: float | None


class ExecutionPage(BaseModel):
    schedule_id: str
    items: list[ExecutionOut]
    next_cursor: str | None


class SchedulePreviewOut(BaseModel):
    schedule_id: str
    status: str
    next_runs: list[datetime]


class TimingPreviewOut(BaseModel):
    cron_expression: str | None
    interval_seconds: float | None
    run_at: datetime | None
    timezone: str
    next_runs: list[datetime]
