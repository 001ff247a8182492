"""A2A task states and ours, both ways, and how a message's parts become input_data."""

from __future__ import annotations

import pytest
from a2a.types.a2a_pb2 import Message, Part, SendMessageRequest, TaskState
from a2a.utils.errors import InvalidParamsError, UnsupportedOperationError

from ains.a2a import convert
from ains.a2a.states import TO_A2A, from_a2a, to_a2a
from ains.tasks.states import TaskStatus


def test_every_status_of_ours_has_an_a2a_state_and_reads_back_to_itself() -> None:
    assert set(TO_A2A) == set(TaskStatus)
    for status in TaskStatus:
        assert status in from_a2a(to_a2a(status))


@pytest.mark.parametrize(
    ("state", "ours"),
    [
        (TaskState.TASK_STATE_SUBMITTED, {"BLOCKED", "PENDING", "ASSIGNED"}),
        (TaskState.TASK_STATE_WORKING, {"RUNNING", "RETRY_SCHEDULED"}),
        (TaskState.TASK_STATE_COMPLETED, {"COMPLETED"}),
        (TaskState.TASK_STATE_FAILED, {"FAILED", "TIMED_OUT"}),
        (TaskState.TASK_STATE_CANCELED, {"CANCELLED"}),
        (TaskState.TASK_STATE_INPUT_REQUIRED, set()),
        (TaskState.TASK_STATE_AUTH_REQUIRED, set()),
        (TaskState.TASK_STATE_REJECTED, set()),
    ],
)
def test_an_a2a_state_stands_for_these_statuses(state: TaskState, ours: set[str]) -> None:
    assert set(from_a2a(state)) == ours


def _data(value: dict[str, object]) -> Part:
    part = Part()
    part.data.struct_value.update(value)
    return part


def test_parts_become_input_data() -> None:
    assert convert.input_data([_data({"a": 1})]) == {"a": 1}
    assert convert.input_data([Part(text="x"), Part(text="y")]) == {"text": "x\ny"}
    assert convert.input_data([Part(text="x"), _data({"b": True})]) == {
        "parts": [{"text": "x"}, {"data": {"b": True}}]
    }
    with pytest.raises(InvalidParamsError, match="url"):
        convert.input_data([Part(url="https://example.com/f.pdf")])


def test_the_skill_is_the_capability_and_more_metadata_is_passed_on() -> None:
    message = Message(message_id="m", context_id="ctx", parts=[Part(text="hi")])
    message.metadata.update({"skill": "echo:v1", "priority": 8})
    request = SendMessageRequest(message=message)
    request.metadata.update({"task_type": "greeting"})
    item = convert.submission(request)
    assert (item.capability_required, item.task_type, item.priority) == ("echo:v1", "greeting", 8)
    assert item.metadata == {"a2a_context_id": "ctx", "a2a_message_id": "m"}


def test_a_message_without_a_skill_or_with_a_task_id_or_bad_metadata_is_refused() -> None:
    with pytest.raises(InvalidParamsError, match="skill"):
        convert.submission(SendMessageRequest(message=Message(message_id="m")))
    follow_up = Message(message_id="m", task_id="task_1")
    with pytest.raises(UnsupportedOperationError):
        convert.submission(SendMessageRequest(message=follow_up))
    bad = Message(message_id="m")
    bad.metadata.update({"skill": "echo:v1", "priority": 99})
    with pytest.raises(InvalidParamsError, match="metadata"):
        convert.submission(SendMessageRequest(message=bad))
