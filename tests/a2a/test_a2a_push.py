"""A2A push-notification configs, delivered as our signed webhooks about one task, with the
official a2a-sdk client against a real server, a real sample agent and a real receiver."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from a2a.client import Client, ClientConfig, ClientFactory
from a2a.types.a2a_pb2 import (
    DeleteTaskPushNotificationConfigRequest,
    GetTaskPushNotificationConfigRequest,
    ListTaskPushNotificationConfigsRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.errors import A2AError
from standardwebhooks.webhooks import Webhook

from tests.support.receiver import receiver
from tests.support.server import AgentProcess, ServerProcess, running_server, wait_for


@pytest.fixture(scope="module")
def push_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that may call receivers on 127.0.0.1."""
    tmp: Path = tmp_path_factory.mktemp("a2a-push")
    with running_server(backend, tmp, AINS_WEBHOOK_ALLOWED_HOSTS='["127.0.0.1"]') as server:
        yield server


@pytest.fixture(params=["JSONRPC", "HTTP+JSON"])
async def client(
    push_server: ServerProcess, request: pytest.FixtureRequest
) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(timeout=60) as http:
        config = ClientConfig(
            httpx_client=http, supported_protocol_bindings=[request.param], streaming=False
        )
        yield await ClientFactory(config).create_from_url(push_server.url)


def _message(skill: str, text: str) -> SendMessageRequest:
    message = Message(message_id=uuid.uuid4().hex, role=Role.ROLE_USER, parts=[Part(text=text)])
    message.metadata.update({"skill": skill})
    request = SendMessageRequest(message=message)
    request.configuration.CopyFrom(SendMessageConfiguration(return_immediately=True))
    return request


async def test_a_push_config_delivers_that_tasks_events_signed_with_its_token(
    push_server: ServerProcess, client: Client, uid: str
) -> None:
    cap = f"a2a-push-{uid}:v1"
    token = "whsec_" + base64.b64encode(uuid.uuid4().bytes * 2).decode()
    with receiver() as rec:
        task = [e async for e in client.send_message(_message(cap, "pushed"))][-1].task
        other = [e async for e in client.send_message(_message(cap, "not pushed"))][-1].task
        created = await client.create_task_push_notification_config(
            TaskPushNotificationConfig(task_id=task.id, url=rec.url, token=token)
        )
        assert created.id and created.token == token
        listed = await client.list_task_push_notification_configs(
            ListTaskPushNotificationConfigsRequest(task_id=task.id)
        )
        assert [c.id for c in listed.configs] == [created.id]
        got = await client.get_task_push_notification_config(
            GetTaskPushNotificationConfigRequest(task_id=task.id, id=created.id)
        )
        assert got.url == rec.url and not got.token  # the token is answered once
        agent = AgentProcess(push_server.url, ["-c", cap, "--handler", "upper"]).start()
        try:
            wait_for(
                lambda: "task.completed" in rec.types(),
                timeout=90,
                message=f"task.completed pushed\n{agent.log()}",
            )
        finally:
            agent.stop()
        verifier = Webhook(token)
        for request in list(rec.requests):
            headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
            assert verifier.verify(request.body, headers) == request.json
        assert {e["data"]["task_id"] for e in rec.events()} == {task.id}
        completed = next(e for e in rec.events() if e["type"] == "task.completed")
        assert completed["data"]["result_data"] == {"text": "PUSHED"}
        assert other.id != task.id
        await client.delete_task_push_notification_config(
            DeleteTaskPushNotificationConfigRequest(task_id=task.id, id=created.id)
        )
        after = await client.list_task_push_notification_configs(
            ListTaskPushNotificationConfigsRequest(task_id=task.id)
        )
        assert not after.configs


async def test_a_config_without_a_token_is_given_one_and_an_unsafe_url_is_refused(
    client: Client, uid: str
) -> None:
    task = [e async for e in client.send_message(_message(f"nobody-{uid}:v1", "x"))][-1].task
    assert task.status.state == TaskState.TASK_STATE_SUBMITTED
    created = await client.create_task_push_notification_config(
        TaskPushNotificationConfig(task_id=task.id, url="http://127.0.0.1:9/hook")
    )
    assert created.token.startswith("whsec_")
    with pytest.raises(A2AError, match="url"):
        await client.create_task_push_notification_config(
            TaskPushNotificationConfig(task_id=task.id, url="http://169.254.169.254/latest")
        )
    with pytest.raises(A2AError):
        await client.create_task_push_notification_config(
            TaskPushNotificationConfig(task_id="no-such-task", url="http://127.0.0.1:9/hook")
        )


async def test_a_push_config_given_with_the_message_is_applied_to_the_new_task(
    client: Client, uid: str
) -> None:
    request = _message(f"nobody-{uid}:v1", "x")
    request.configuration.task_push_notification_config.url = "http://127.0.0.1:9/hook"
    task = [e async for e in client.send_message(request)][-1].task
    listed = await client.list_task_push_notification_configs(
        ListTaskPushNotificationConfigsRequest(task_id=task.id)
    )
    assert [c.url for c in listed.configs] == ["http://127.0.0.1:9/hook"]
    refused = _message(f"nobody-{uid}:v1", "y")
    refused.configuration.task_push_notification_config.url = "http://10.0.0.1/hook"
    with pytest.raises(A2AError, match="url"):
        [e async for e in client.send_message(refused)]
