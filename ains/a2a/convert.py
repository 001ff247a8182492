"""Our task views as A2A tasks, and an A2A message as a task submission."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from a2a.types.a2a_pb2 import (
    Artifact,
    Message,
    Part,
    Role,
    SendMessageRequest,
    Task,
    TaskArtifactUpdateEvent,
    TaskStatus,
    TaskStatusUpdateEvent,
)
from a2a.utils.errors import InvalidParamsError, UnsupportedOperationError
from google.protobuf import json_format, struct_pb2

from ains.a2a.states import to_a2a
from ains.models import tasks
from ains.tasks.schemas import TaskIn

RESULT_ARTIFACT_ID = "result"
CONTEXT_KEY = "a2a_context_id"
MESSAGE_KEY = "a2a_message_id"


def to_value(data: Any) -> struct_pb2.Value:
    return json_format.ParseDict(_jsonable(data), struct_pb2.Value())


def _jsonable(data: Any) -> Any:
    if isinstance(data, datetime):
        return data.isoformat()
    if isinstance(data, dict):
        return {str(k): _jsonable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_jsonable(v) for v in data]
    return data


def _plain(message: Any) -> Any:
    return json_format.MessageToDict(message)


def context_of(view: dict[str, Any]) -> str:
    metadata = view.get("metadata") or {}
    context = metadata.get(CONTEXT_KEY) if isinstance(metadata, dict) else None
    return str(context or view["task_id"])


def in_context(context_id: str) -> sa.ColumnElement[bool]:
    """The tasks of an A2A context: those its messages made, or a task that is its own."""
    context = tasks.c.metadata[CONTEXT_KEY].as_string()
    return sa.or_(context == context_id, sa.and_(context.is_(None), tasks.c.task_id == context_id))


def status_of(view: dict[str, Any]) -> TaskStatus:
    status = TaskStatus(state=to_a2a(view["status"]), timestamp=view["updated_at"])
    if view["status"] in ("FAILED", "TIMED_OUT") and view.get("last_error"):
        status.message.CopyFrom(
            Message(
                message_id=f"{view['task_id']}-error",
                task_id=view["task_id"],
                context_id=context_of(view),
                role=Role.ROLE_AGENT,
                parts=[Part(text=str(view["last_error"]))],
            )
        )
    return status


def result_artifact(view: dict[str, Any]) -> Artifact | None:
    if view["status"] != "COMPLETED" or view.get("result_data") is None:
        return None
    return Artifact(
        artifact_id=RESULT_ARTIFACT_ID,
        name="result",
        parts=[Part(data=to_value(view["result_data"]))],
    )


def to_task(view: dict[str, Any], include_artifacts: bool = True) -> Task:
    task = Task(id=view["task_id"], context_id=context_of(view), status=status_of(view))
    artifact = result_artifact(view) if include_artifacts else None
    if artifact is not None:
        task.artifacts.append(artifact)
    task.metadata.update(
        _jsonable(
            {
                "ains_status": view["status"],
                "capability": view["capability_required"],
                "task_type": view["task_type"],
                "assigned_agent_id": view.get("assigned_agent_id"),
                "priority": view["priority"],
            }
        )
    )
    return task


def status_update(view: dict[str, Any]) -> TaskStatusUpdateEvent:
    return TaskStatusUpdateEvent(
        task_id=view["task_id"], context_id=context_of(view), status=status_of(view)
    )


def artifact_update(view: dict[str, Any], artifact: Artifact) -> TaskArtifactUpdateEvent:
    return TaskArtifactUpdateEvent(
        task_id=view["task_id"],
        context_id=context_of(view),
        artifact=artifact,
        last_chunk=True,
    )


def submission(request: SendMessageRequest) -> TaskIn:
    """The task an A2A message asks for: the skill is the capability."""
    message = request.message
    if message.task_id:
        raise UnsupportedOperationError(
            "message.taskId: an AINS task takes one message; send a new message for new work"
        )
    options = {**_plain(message.metadata), **_plain(request.metadata)}
    skill = options.get("skill")
    if not isinstance(skill, str) or not skill:
        raise InvalidParamsError("metadata.skill: required, the capability (skill id) to route by")
    fields: dict[str, Any] = {
        "capability_required": skill,
        "task_type": options.get("task_type") or skill,
        "input_data": input_data(list(message.parts)),
        "metadata": {
            CONTEXT_KEY: message.context_id or str(uuid.uuid4()),
            MESSAGE_KEY: message.message_id,
        },
    }
    for key in ("priority", "timeout_seconds", "max_retries", "visibility"):
        if key in options:
            fields[key] = options[key]
    try:
        return TaskIn.model_validate(fields)
    except ValueError as exc:
        raise InvalidParamsError(f"metadata: {exc}") from exc


def input_data(parts: list[Part]) -> Any:
    """One data part is the input itself; text parts are joined under ``text``; a mix is kept
    as a list of ``{"text"}`` and ``{"data"}`` items. File parts are refused."""
    items: list[dict[str, Any]] = []
    for part in parts:
        kind = part.WhichOneof("content")
        if kind == "text":
            items.append({"text": part.text})
        elif kind == "data":
            items.append({"data": _plain(part.data)})
        else:
            raise InvalidParamsError(f"message.parts: {kind} parts are not supported")
    if len(items) == 1 and "data" in items[0]:
        return items[0]["data"]
    if items and all("text" in item for item in items):
        return {"text": "\n".join(item["text"] for item in items)}
    return {"parts": items}
