"""Seed 004's request bodies (camelCase) and how each maps onto ours (see docs/seed004.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ains.exceptions import FieldError, Unprocessable
from ains.priorities import Priority
from ains.retries.policy import RetryPolicy
from ains.tasks.schemas import TaskIn
from ains.types import Timestamp

MAX_BATCH = 100
# our field → the seed 004 field it comes from, for error messages
_THEIR_NAME = {
    "task_type": "taskType",
    "capability_required": "agentId",
    "input_data": "input",
    "max_retries": "maxRetries",
    "retry_policy": "retryPolicy",
    "timeout_seconds": "timeoutMs",
    "depends_on": "dependsOn",
    "client_id": "clientId",
}  # seed 004: "Batch task creation (up to 100 tasks)"


class AiTaskIn(BaseModel):
    """POST /api/ai/tasks and each item of POST /api/ai/tasks/batch."""

    model_config = ConfigDict(extra="forbid")

    # the AI agent the task is for: it routes like our capability_required
    agentId: str | None = Field(None, min_length=1, max_length=200)
    capabilityRequired: str | None = Field(None, min_length=1, max_length=200)
    taskType: str = Field(min_length=1, max_length=200)
    input: Any = None
    inputData: Any = None
    priority: Priority = 5
    maxRetries: int | None = Field(None, ge=0, le=100)
    retryPolicy: RetryPolicy | None = None
    timeoutMs: int | None = Field(None, gt=0, le=7 * 86400 * 1000)
    deadline: Timestamp | None = None
    dependsOn: list[str] = Field(default_factory=list, max_length=100)
    clientId: str | None = Field(None, min_length=1, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _routable(self) -> AiTaskIn:
        if self.agentId is None and self.capabilityRequired is None:
            raise ValueError("give agentId (or capabilityRequired): who is to run the task")
        if self.input is not None and self.inputData is not None:
            raise ValueError("give input or inputData, not both")
        return self

    def task_body(self) -> dict[str, Any]:
        """Our TaskIn's fields, in our spelling."""
        body: dict[str, Any] = {
            "task_type": self.taskType,
            "capability_required": self.capabilityRequired or self.agentId,
            "input_data": self.inputData if self.input is None else self.input,
            "priority": self.priority,
            "depends_on": self.dependsOn,
            "metadata": self.metadata,
        }
        if body["input_data"] is None:
            body["input_data"] = {}
        optional = {
            "max_retries": self.maxRetries,
            "retry_policy": self.retryPolicy.model_dump() if self.retryPolicy else None,
            "timeout_seconds": None if self.timeoutMs is None else self.timeoutMs / 1000,
            "deadline": self.deadline,
            "client_id": self.clientId,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    def task_in(self) -> TaskIn:
        """Our submission; a value our rules refuse is a 422 naming seed 004's field."""
        try:
            return TaskIn.model_validate(self.task_body())
        except ValidationError as exc:
            errors = []
            for err in exc.errors():
                ours = str(err["loc"][0]) if err["loc"] else "body"
                errors.append(FieldError(_THEIR_NAME.get(ours, ours), err["msg"]))
            raise Unprocessable(
                "; ".join(f"{e.field}: {e.reason}" for e in errors), errors=errors
            ) from exc


class AiBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tasks: list[AiTaskIn] = Field(min_length=1, max_length=MAX_BATCH)
    clientId: str | None = Field(None, min_length=1, max_length=200)


class AiCancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000)


class AiCleanupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    daysToKeep: float | None = Field(None, gt=0, le=36_500)
    dryRun: bool = False
