"""What seed 004's routes answer, for `/openapi.json`: `{"success": true, "data": …}` with
the camelCase fields of `seed004_views` (the models document; the views build the answers)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from ains.compat.seed004_views import SUMMARY_FIELDS, TASK_FIELDS


def _fields_model(name: str, fields: tuple[tuple[str, str], ...], **extra: Any) -> type[BaseModel]:
    definitions: dict[str, Any] = {theirs: (Any, None) for theirs, _ in fields}
    definitions.update(extra)
    return create_model(name, **definitions)


AiTask = _fields_model("AiTask", TASK_FIELDS, priority=(str, ...), priorityLevel=(int, ...))
AiSummary = _fields_model("AiSummary", SUMMARY_FIELDS, topAgents=(list[dict[str, Any]], []))


class AiQueueStatus(BaseModel):
    pending: int
    processing: int
    blocked: int
    retryScheduled: int
    deadLettered: int
    byPriority: dict[str, int]
    byCapability: dict[str, int]
    oldestQueuedAt: str | None = None
    oldestWaitSeconds: float | None = None


class AiBatchResult(BaseModel):
    model_config = ConfigDict(extra="allow")
    index: int | None = None
    ok: bool | None = None
    taskId: str | None = None


class AiBatch(BaseModel):
    batchId: str
    clientId: str | None = None
    created: int
    failed: int
    taskIds: list[str]
    results: list[AiBatchResult]


class AiCleanup(BaseModel):
    dryRun: bool
    deletedCount: int
    tasksDeleted: int
    counts: dict[str, int]


class AiSweep(BaseModel):
    timedOutCount: int
    timedOut: int
    leasesExpired: int


class AiHealthAnswer(BaseModel):
    success: bool
    status: str
    database: str
    version: str
    timestamp: str


class AiPagination(BaseModel):
    limit: int
    nextCursor: str | None = None


def _answer(name: str, data: Any, **extra: Any) -> type[BaseModel]:
    return create_model(name, success=(bool, ...), data=(data, ...), **extra)


AiTaskAnswer = _answer("AiTaskAnswer", AiTask, message=(str | None, None))
AiTaskListAnswer = _answer(
    "AiTaskListAnswer",
    list[AiTask],  # type: ignore[valid-type]
    pagination=(AiPagination, ...),
)
AiQueueStatusAnswer = _answer("AiQueueStatusAnswer", AiQueueStatus)
AiSummaryAnswer = _answer("AiSummaryAnswer", AiSummary)
AiBatchAnswer = _answer("AiBatchAnswer", AiBatch)
AiCleanupAnswer = _answer("AiCleanupAnswer", AiCleanup)
AiSweepAnswer = _answer("AiSweepAnswer", AiSweep)
