"""GraphQL input types. Each is checked by the REST body model it mirrors (`TaskIn`, `BatchIn`,
`ScheduleIn`), so both APIs accept and refuse the same values, and a refusal names the field
by its GraphQL path (`input.priority`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError
from strawberry.scalars import JSON

from ains.exceptions import FieldError, Unprocessable
from ains.types import storable_time

M = TypeVar("M", bound=BaseModel)


@strawberry.input(description="Filters of `tasks`, as GET /aitp/tasks takes them.")
class TaskFilter:
    status: list[str] | None = None
    client_id: str | None = None
    agent_id: str | None = None
    task_type: str | None = None
    capability: str | None = None
    batch_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    def as_filters(self) -> dict[str, Any]:
        return {
            "status": ",".join(self.status) if self.status else None,
            "client_id": self.client_id,
            "agent_id": self.agent_id,
            "task_type": self.task_type,
            "capability": self.capability,
            "batch_id": self.batch_id,
            "created_after": storable("filter.createdAfter", self.created_after),
            "created_before": storable("filter.createdBefore", self.created_before),
        }


@strawberry.input(description="A task to submit, as the body of POST /aitp/tasks.")
class TaskInput:
    task_type: str
    capability_required: str
    task_id: str | None = None
    client_id: str | None = None
    input_data: JSON | None = None
    priority: int | None = None
    depends_on: list[str] | None = None
    retry_policy: JSON | None = None
    max_retries: int | None = None
    timeout_seconds: float | None = None
    deadline: datetime | None = None
    visibility: str | None = None
    allowed_viewers: list[str] | None = None
    encrypt: bool | None = None
    metadata: JSON | None = None
    ref: str | None = None


@strawberry.input(description="A batch, as the body of POST /aitp/tasks/batch.")
class BatchInput:
    tasks: list[TaskInput]
    batch_id: str | None = None
    client_id: str | None = None
    atomic: bool = False
    fail_fast: bool = False


@strawberry.input(description="A schedule, as the body of POST /aitp/tasks/schedule.")
class ScheduleInput:
    task_type: str | None = None
    capability_required: str | None = None
    schedule_id: str | None = None
    client_id: str | None = None
    template_id: str | None = None
    input_data: JSON | None = None
    priority: int | None = None
    cron_expression: str | None = None
    interval_seconds: int | None = None
    run_at: datetime | None = None
    timezone: str | None = None
    description: str | None = None
    missed_run_policy: str | None = None
    overlap_policy: str | None = None
    retry_policy: JSON | None = None
    max_retries: int | None = None
    timeout_seconds: float | None = None
    visibility: str | None = None
    metadata: JSON | None = None


def storable(field: str, value: datetime | None) -> datetime | None:
    """`value` if a database can store it (aware, within range), else a 422 naming `field`."""
    if value is None:
        return None
    try:
        return storable_time(value)
    except ValueError as exc:
        raise Unprocessable.field(field, str(exc)) from None


def given(value: Any) -> dict[str, Any]:
    """The fields of an input object the client set (unset and null ones left out, so the REST
    model's defaults apply)."""
    return {
        name: getattr(value, name)
        for name in type(value).__annotations__
        if getattr(value, name) is not None
    }


def task_body(value: TaskInput) -> dict[str, Any]:
    return given(value)


def batch_body(value: BatchInput) -> dict[str, Any]:
    body = {k: v for k, v in given(value).items() if k not in ("atomic", "fail_fast", "tasks")}
    body["tasks"] = [task_body(t) for t in value.tasks]
    body["batch_options"] = {"atomic": value.atomic, "fail_fast": value.fail_fast}
    return body


def validate(model: type[M], body: dict[str, Any], argument: str) -> M:
    """`body` checked by `model`; a refusal is a 422 naming each field under `argument`."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        errors = [
            FieldError(_path(argument, err["loc"]), str(err.get("msg", "invalid")))
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e.field}: {e.reason}" for e in errors[:5])
        raise Unprocessable(detail, errors=errors) from None


def _path(argument: str, loc: tuple[Any, ...]) -> str:
    name = argument
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{_camel(str(part))}" if name else _camel(str(part))
    return name or argument


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)
