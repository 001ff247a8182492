"""The A2A front door with the official a2a-sdk client, against a real server and real sample
agents (`ains agent` processes), over both bindings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.types.a2a_pb2 import (
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskState,
)
from a2a.utils.constants import TransportProtocol
from a2a.utils.errors import A2AError
from google.protobuf.json_format import MessageToDict

from tests.support.server import ServerProcess, online_echo_agent

BINDINGS = [TransportProtocol.JSONRPC.value, TransportProtocol.HTTP_JSON.value]


@pytest.fixture(scope="module")
def echo_cap(server: ServerProcess) -> Iterator[str]:
    """A capability served by a running sample agent (echo handler), shared by the module."""
    cap = f"a2a-echo-{uuid.uuid4().hex[:8]}:v1"
    with online_echo_agent(server, cap):
        yield cap


@pytest.fixture(params=BINDINGS)
async def client(server: ServerProcess, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(timeout=60) as http:
        config = ClientConfig(httpx_client=http, supported_protocol_bindings=[request.param])
        a2a = await ClientFactory(config).create_from_url(server.url)
        yield a2a


def message(skill: str | None, *parts: Part, **metadata: str) -> Message:
    msg = Message(message_id=uuid.uuid4().hex, role=Role.ROLE_USER, parts=list(parts))
    if skill is not None:
        msg.metadata.update({"skill": skill, **metadata})
    return msg


def data(value: dict[str, object]) -> Part:
    part = Part()
    part.data.struct_value.update(value)
    return part


def result_of(task: Task) -> object:
    assert task.artifacts, f"no artifact on {task}"
    return MessageToDict(task.artifacts[0].parts[0].data)


async def collect(stream: AsyncIterator[StreamResponse]) -> list[StreamResponse]:
    return [event async for event in stream]


def test_the_network_card_names_both_bindings_and_a_skill_per_online_capability(
    server: ServerProcess, echo_cap: str
) -> None:
    with server.client() as api:
        card = api.get("/.well-known/agent-card.json").json()
        agents = api.get("/ains/agents", params={"capability": echo_cap}).json()["items"]
        agent_card = api.get(f"/a2a/agents/{agents[0]['agent_id']}/agent-card.json").json()
        missing = api.get("/a2a/agents/no-such-agent/agent-card.json")
    assert card["name"] == "DukeNet AINS"
    bindings = {i["protocolBinding"]: i["url"] for i in card["supportedInterfaces"]}
    assert bindings == {
        "JSONRPC": f"{server.url}/a2a/jsonrpc",
        "HTTP+JSON": f"{server.url}/a2a/rest",
    }
    assert card["capabilities"]["streaming"] is True
    assert echo_cap in {s["id"] for s in card["skills"]}
    assert [s["id"] for s in agent_card["skills"]] == [echo_cap]
    assert missing.status_code == 404


async def test_send_message_waits_for_the_routed_task_and_returns_its_result(
    client: Client, echo_cap: str
) -> None:
    request = SendMessageRequest(message=message(echo_cap, data({"n": 7})))
    request.configuration.CopyFrom(SendMessageConfiguration(return_immediately=False))
    client._config.streaming = False  # the blocking SendMessage, not the stream
    events = await collect(client.send_message(request))
    task = events[-1].task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert result_of(task) == {"echo": {"n": 7}}
    assert task.metadata["capability"] == echo_cap
    fetched = await client.get_task(GetTaskRequest(id=task.id))
    assert fetched.status.state == TaskState.TASK_STATE_COMPLETED
    assert result_of(fetched) == {"echo": {"n": 7}}


async def test_streaming_send_yields_the_task_its_updates_the_artifact_and_the_end(
    client: Client, echo_cap: str
) -> None:
    text = Part(text="hello")
    events = await collect(client.send_message(SendMessageRequest(message=message(echo_cap, text))))
    kinds = [e.WhichOneof("payload") for e in events]
    assert kinds[0] == "task"
    assert kinds[-2:] == ["artifact_update", "status_update"]
    assert MessageToDict(events[-2].artifact_update.artifact.parts[0].data) == {
        "echo": {"text": "hello"}
    }
    assert events[-1].status_update.status.state == TaskState.TASK_STATE_COMPLETED
    states = [e.status_update.status.state for e in events if e.HasField("status_update")]
    assert states == sorted(states)  # submitted → working → completed, never back


async def test_a_task_without_an_agent_is_listed_cancelled_and_subscribed_to(
    client: Client, uid: str
) -> None:
    cap = f"a2a-nobody-{uid}:v1"
    request = SendMessageRequest(message=message(cap, Part(text="wait")))
    request.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
    client._config.streaming = False
    task = (await collect(client.send_message(request)))[-1].task
    assert task.status.state == TaskState.TASK_STATE_SUBMITTED
    listed = await client.list_tasks(
        ListTasksRequest(status=TaskState.TASK_STATE_SUBMITTED, page_size=100)
    )
    assert task.id in {t.id for t in listed.tasks}
    client._config.streaming = True
    subscription = client.subscribe(SubscribeToTaskRequest(id=task.id))
    first = await anext(subscription)
    assert first.task.status.state == TaskState.TASK_STATE_SUBMITTED
    cancelled = await client.cancel_task(CancelTaskRequest(id=task.id))
    assert cancelled.status.state == TaskState.TASK_STATE_CANCELED
    rest = await collect(subscription)
    assert rest[-1].status_update.status.state == TaskState.TASK_STATE_CANCELED
    with pytest.raises(A2AError):
        await client.cancel_task(CancelTaskRequest(id=task.id))
    done = await client.list_tasks(ListTasksRequest(status=TaskState.TASK_STATE_CANCELED))
    assert task.id in {t.id for t in done.tasks}


async def test_list_tasks_filters_by_context_and_status_time_and_counts_them_all(
    client: Client, uid: str
) -> None:
    cap, context = f"a2a-ctx-{uid}:v1", f"ctx-{uid}"
    before = datetime.now(UTC) - timedelta(seconds=1)
    client._config.streaming = False
    ids = []
    for text, ctx in (("a", context), ("b", context), ("c", f"other-{uid}")):
        msg = message(cap, Part(text=text))
        msg.context_id = ctx
        request = SendMessageRequest(message=msg)
        request.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
        ids.append((await collect(client.send_message(request)))[-1].task.id)
    first = await client.list_tasks(ListTasksRequest(context_id=context, page_size=1))
    assert (first.total_size, len(first.tasks)) == (2, 1) and first.next_page_token
    second = await client.list_tasks(
        ListTasksRequest(context_id=context, page_size=1, page_token=first.next_page_token)
    )
    assert {t.id for t in [*first.tasks, *second.tasks]} == set(ids[:2])
    assert {t.context_id for t in [*first.tasks, *second.tasks]} == {context}
    since = ListTasksRequest(context_id=context)
    since.status_timestamp_after.FromDatetime(before)
    assert (await client.list_tasks(since)).total_size == 2
    since.status_timestamp_after.FromDatetime(datetime.now(UTC) + timedelta(hours=1))
    later = await client.list_tasks(since)
    assert (later.total_size, list(later.tasks)) == (0, [])


async def test_a_message_without_a_skill_or_for_an_unknown_task_is_refused(
    client: Client,
) -> None:
    client._config.streaming = False
    with pytest.raises(A2AError, match="skill"):
        await collect(client.send_message(SendMessageRequest(message=message(None))))
    with pytest.raises(A2AError):
        await client.get_task(GetTaskRequest(id="no-such-task"))


def test_older_clients_use_the_0_3_method_names_on_the_same_endpoint(
    server: ServerProcess, echo_cap: str
) -> None:
    def call(api: httpx.Client, method: str, params: dict[str, object]) -> dict[str, object]:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        answer: dict[str, object] = api.post("/a2a/jsonrpc", json=body).json()
        return answer

    message = {
        "messageId": uuid.uuid4().hex,
        "role": "user",
        "kind": "message",
        "parts": [{"kind": "data", "data": {"k": "v"}}],
        "metadata": {"skill": echo_cap},
    }
    with server.client() as api:
        sent = call(api, "message/send", {"message": message})["result"]
        assert isinstance(sent, dict)
        assert sent["status"]["state"] == "completed"
        assert sent["artifacts"][0]["parts"][0]["data"] == {"echo": {"k": "v"}}
        got = call(api, "tasks/get", {"id": sent["id"]})["result"]
        assert isinstance(got, dict)
        assert got["status"]["state"] == "completed"
        refused = call(api, "tasks/cancel", {"id": sent["id"]})
        assert "error" in refused
        unknown = call(api, "tasks/get", {"id": "no-such-task"})
        assert "error" in unknown


@pytest.mark.parametrize("path", ["/a2a/jsonrpc", "/a2a/rest/message:send"])
def test_a_body_the_databases_would_refuse_is_a_422_as_on_rest(
    server: ServerProcess, path: str
) -> None:
    text = '{"kind": "text", "text": "nul \\u0000 here"}'
    body = (
        '{"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {"message": '
        '{"messageId": "m", "role": "user", "metadata": {"skill": "x:v1"}, "parts": ['
        + text
        + "]}}}"
    )
    with server.client() as api:
        r = api.post(path, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
