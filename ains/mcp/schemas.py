"""The arguments of the MCP tools: the REST bodies and query parameters they mirror (a task as
POST /aitp/tasks takes it, a batch as POST /aitp/tasks/batch does), validated by the same
models, so a tool refuses what REST refuses and names the same field."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ains.batches.schemas import BatchIn
from ains.tasks.schemas import TaskIn
from ains.types import Timestamp

# a wait longer than this is answered with the task as it is then, to be asked again
MAX_WAIT_SECONDS = 600.0
TASK_ID = Field(min_length=1, max_length=64, description="the task's id (`task_id`)")


class SubmitTaskArgs(TaskIn):
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="as REST's Idempotency-Key header: a repeat returns the original task",
    )


class TaskIdArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_id: str = TASK_ID


class WaitArgs(TaskIdArgs):
    timeout_seconds: float = Field(
        30.0,
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="how long to wait for a terminal status before answering the task as it is",
    )


class CancelArgs(TaskIdArgs):
    reason: str | None = Field(None, max_length=2000, description="recorded in its history")


class ListArgs(BaseModel):
    """GET /aitp/tasks's query parameters."""

    model_config = ConfigDict(extra="forbid")
    status: str | None = Field(
        None, max_length=500, description="one status or several, comma-separated: PENDING,RUNNING"
    )
    client_id: str | None = Field(None, max_length=200)
    agent_id: str | None = Field(None, max_length=200)
    task_type: str | None = Field(None, max_length=200)
    capability: str | None = Field(None, max_length=200)
    batch_id: str | None = Field(None, max_length=200)
    created_after: Timestamp | None = None
    created_before: Timestamp | None = None
    cursor: str | None = Field(
        None, max_length=500, description="`next_cursor` of the previous page"
    )
    limit: int | None = Field(None, description="tasks per page (default 50)")


# what a model reads about a field of TaskIn, which REST documents in prose (docs/protocol.md)
TASK_FIELDS = {
    "task_type": "what kind of work this is (free text, for reports and filters)",
    "capability_required": "the capability an agent must offer: the task is routed by it",
    "input_data": "the task's input, any JSON, handed to the agent",
    "priority": "1 (lowest) to 10 (highest), or LOW, NORMAL, HIGH, URGENT; default 5",
    "client_id": "whose task it is (default: the caller's own id; only admins act for others)",
    "task_id": "choose the task's id (default: a new one)",
    "depends_on": "ids of tasks that must complete first",
    "timeout_seconds": "per-attempt time limit in seconds",
    "deadline": "when the task must be done (ISO 8601 with a timezone)",
    "visibility": "private (default: its client and admins), team, or public",
    "ref": "inside a batch only: a name other tasks of the batch may list in depends_on",
}


def _described(schema: dict[str, Any], descriptions: dict[str, str]) -> dict[str, Any]:
    for name, text in descriptions.items():
        field = schema["properties"].get(name)
        if field is not None:
            field.setdefault("description", text)
    return schema


def task_schema() -> dict[str, Any]:
    return _described(SubmitTaskArgs.model_json_schema(), TASK_FIELDS)


def batch_schema() -> dict[str, Any]:
    """BatchIn's schema with each of `tasks` described as a task (REST validates each task on
    its own, by index, so the model types them as plain objects)."""
    schema = BatchIn.model_json_schema()
    task = _described(TaskIn.model_json_schema(), TASK_FIELDS)
    schema["$defs"] = {**task.pop("$defs", {}), **schema.get("$defs", {})}
    task.pop("title", None)
    schema["properties"]["tasks"]["items"] = copy.deepcopy(task)
    schema["properties"]["tasks"]["description"] = "the tasks, each as submit_task takes one"
    return schema
