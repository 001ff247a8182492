"""Client and AsyncClient: request building and error mapping, over `httpx.MockTransport`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ains_client import (
    AinsError,
    AsyncClient,
    AuthError,
    Client,
    Conflict,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
    ValidationError,
    WaitTimeout,
)

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A transport handler answering from a list of responses and recording requests."""

    def __init__(self, *responses: httpx.Response) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.responses) > 1:
            return self.responses.pop(0)
        return self.responses[0]

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def client_for(handler: Handler, **kw: Any) -> Client:
    return Client("http://ains.test", transport=httpx.MockTransport(handler), **kw)


def task(status: str = "PENDING", **extra: Any) -> dict[str, Any]:
    return {"task_id": "task_1", "status": status, **extra}


def test_submit_sends_given_fields_and_the_idempotency_key() -> None:
    rec = Recorder(httpx.Response(201, json=task()))
    with client_for(rec, api_key="secret") as client:
        answer = client.tasks.submit(
            "c1", "translate", "translation:v1", {"text": "hi"}, priority=9,
            depends_on=("task_0",), deadline=datetime(2030, 1, 1, tzinfo=UTC),
            idempotency_key="idem-1",
        )  # fmt: skip
    assert answer == task()
    assert (rec.last.method, rec.last.url.path) == ("POST", "/aitp/tasks")
    assert rec.last.headers["idempotency-key"] == "idem-1"
    assert rec.last.headers["authorization"] == "Bearer secret"
    assert rec.body() == {
        "client_id": "c1",
        "task_type": "translate",
        "capability_required": "translation:v1",
        "input_data": {"text": "hi"},
        "priority": 9,
        "depends_on": ["task_0"],
        "deadline": "2030-01-01T00:00:00+00:00",
    }


def test_url_and_key_default_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINS_URL", "http://env.test:9000/")
    monkeypatch.setenv("AINS_API_KEY", "env-key")
    rec = Recorder(httpx.Response(200, json=task()))
    with Client(transport=httpx.MockTransport(rec)) as client:
        client.tasks.get("task_1")
    assert str(rec.last.url) == "http://env.test:9000/aitp/tasks/task_1"
    assert rec.last.headers["authorization"] == "Bearer env-key"


def test_without_a_key_no_authorization_header_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AINS_API_KEY", raising=False)
    rec = Recorder(httpx.Response(200, json=task()))
    with client_for(rec) as client:
        client.tasks.result("task_1")
    assert rec.last.url.path == "/aitp/tasks/task_1/result"
    assert "authorization" not in rec.last.headers


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ValidationError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFound),
        (409, Conflict),
        (422, ValidationError),
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
        (418, AinsError),
    ],
)
def test_error_statuses_map_to_exceptions(status: int, error: type[AinsError]) -> None:
    problem = {
        "type": "about:blank",
        "title": "Problem",
        "status": status,
        "detail": "priority: must be between 1 and 10",
        "errors": [{"field": "priority", "reason": "must be between 1 and 10"}],
    }
    rec = Recorder(httpx.Response(status, json=problem, headers={"Retry-After": "3"}))
    with client_for(rec) as client, pytest.raises(error) as caught:
        client.tasks.get("task_1")
    exc = caught.value
    assert type(exc) is error
    assert (exc.status, exc.title, exc.detail) == (status, "Problem", problem["detail"])
    assert exc.errors == problem["errors"]
    assert str(status) in str(exc)
    if status == 429:
        assert isinstance(exc, RateLimited) and exc.retry_after == 3.0


def test_a_non_json_error_body_still_raises_the_right_error() -> None:
    rec = Recorder(httpx.Response(502, text="<html>bad gateway</html>"))
    with client_for(rec) as client, pytest.raises(ServerError) as caught:
        client.tasks.get("task_1")
    assert caught.value.status == 502
    assert "bad gateway" in (caught.value.detail or "")


def test_transport_failures_raise_network_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with client_for(refuse) as client, pytest.raises(NetworkError) as caught:
        client.tasks.get("task_1")
    assert caught.value.status is None


def test_list_sends_filters_and_reads_the_page() -> None:
    page = {"items": [task()], "next_cursor": "c2"}
    rec = Recorder(httpx.Response(200, json=page))
    with client_for(rec) as client:
        result = client.tasks.list(status=["PENDING", "RUNNING"], capability="x:v1", limit=10)
    assert result.items == [task()] and result.next_cursor == "c2"
    params = dict(rec.last.url.params)
    assert params == {"status": "PENDING,RUNNING", "capability": "x:v1", "limit": "10"}


def test_iter_tasks_follows_cursors_until_the_last_page() -> None:
    rec = Recorder(
        httpx.Response(200, json={"items": [task(task_id="a")], "next_cursor": "p2"}),
        httpx.Response(200, json={"items": [task(task_id="b")], "next_cursor": None}),
    )
    with client_for(rec) as client:
        ids = [t["task_id"] for t in client.tasks.iter_tasks(client_id="c1")]
    assert ids == ["a", "b"]
    assert "cursor" not in rec.requests[0].url.params
    assert rec.requests[1].url.params["cursor"] == "p2"
    assert rec.requests[1].url.params["client_id"] == "c1"


def test_cancel_sends_the_reason() -> None:
    rec = Recorder(httpx.Response(200, json=task("CANCELLED")))
    with client_for(rec) as client:
        answer = client.tasks.cancel("task_1", reason="not needed")
    assert answer["status"] == "CANCELLED"
    assert rec.last.method == "DELETE" and rec.body() == {"reason": "not needed"}


def test_wait_polls_until_a_terminal_state() -> None:
    rec = Recorder(
        httpx.Response(200, json=task("PENDING")),
        httpx.Response(200, json=task("RUNNING")),
        httpx.Response(200, json=task("COMPLETED", result_data={"x": 1})),
    )
    with client_for(rec) as client:
        done = client.tasks.wait("task_1", timeout=5, poll_interval=0.001)
    assert done["result_data"] == {"x": 1}
    assert len(rec.requests) == 3


def test_wait_gives_up_after_the_timeout() -> None:
    rec = Recorder(httpx.Response(200, json=task("RUNNING")))
    with client_for(rec) as client, pytest.raises(WaitTimeout) as caught:
        client.tasks.wait("task_1", timeout=0.05, poll_interval=0.01)
    assert caught.value.last == task("RUNNING")
    assert isinstance(caught.value, TimeoutError)


def test_agent_calls_build_the_protocol_bodies() -> None:
    rec = Recorder(httpx.Response(200, json={"tasks": [task()]}))
    with client_for(rec, timeout=2) as client:
        tasks = client.agents.claim("agt_1", max_tasks=5, wait_seconds=10)
        assert tasks == [task()]
        assert rec.body() == {"max_tasks": 5, "wait_seconds": 10}
        client.agents.register("a", ["x:v1"], max_concurrency=2, agent_id="agt_1")
        assert rec.body() == {
            "name": "a", "capabilities": ["x:v1"], "max_concurrency": 2, "agent_id": "agt_1",
        }  # fmt: skip
        client.agents.heartbeat("agt_1", in_flight=["task_1"])
        assert (rec.last.url.path, rec.body()) == (
            "/ains/agents/agt_1/heartbeat", {"in_flight": ["task_1"]},
        )  # fmt: skip
        client.agents.start("task_1", "att_1")
        client.agents.task_heartbeat("task_1", "att_1", progress={"pct": 5})
        assert rec.body() == {"attempt_id": "att_1", "progress": {"pct": 5}}
        client.agents.complete("task_1", "att_1", {"r": 1}, cost=0.1)
        assert rec.body() == {"attempt_id": "att_1", "result_data": {"r": 1}, "cost": 0.1}
        client.agents.fail("task_1", "att_1", "boom", error_type="E", retryable=False)
        assert rec.body() == {
            "attempt_id": "att_1", "error": "boom", "retryable": False, "error_type": "E",
        }  # fmt: skip
        client.agents.patch("agt_1", reason="audit", trust_score=0.5)
        assert rec.last.method == "PATCH"
        assert rec.body() == {"trust_score": 0.5, "reason": "audit"}


def test_claim_timeout_covers_the_long_poll() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"tasks": []})

    with client_for(handler, timeout=5) as client:
        assert client.agents.claim("agt_1", wait_seconds=20) == []
    assert seen[0]["read"] == 25


def test_bulk_reports_are_answered_item_by_item() -> None:
    results = [{"task_id": "a", "ok": True, "status": "COMPLETED"},
               {"task_id": "b", "ok": False, "error": {"status": 409}}]  # fmt: skip
    rec = Recorder(httpx.Response(200, json={"results": results}))
    with client_for(rec) as client:
        answer = client.agents.reports(
            "agt_1",
            [{"task_id": "a", "attempt_id": "1", "outcome": "complete", "result_data": 1},
             {"task_id": "b", "attempt_id": "2", "outcome": "fail", "error": "x"}],
        )  # fmt: skip
    assert answer == results
    assert rec.last.url.path == "/aitp/agents/agt_1/reports"
    assert [r["outcome"] for r in rec.body()["reports"]] == ["complete", "fail"]


def test_deletes_answer_none_and_lists_read_pages() -> None:
    rec = Recorder(
        httpx.Response(204),
        httpx.Response(204),
        httpx.Response(200, json={"items": [{"key_id": "k1"}], "next_cursor": None}),
        httpx.Response(201, json={"key_id": "k2", "api_key": "s"}),
        httpx.Response(200, json={"items": [{"agent_id": "agt_1"}], "next_cursor": None}),
        httpx.Response(200, json=[{"delta": 0.1}]),
    )
    with client_for(rec) as client:
        assert client.agents.deregister("agt_1") is None
        assert client.keys.revoke("k1") is None
        assert client.keys.list().items == [{"key_id": "k1"}]
        assert client.keys.create("client", "c1", "ci", team="t")["api_key"] == "s"
        assert rec.body() == {"role": "client", "principal_id": "c1", "name": "ci", "team": "t"}
        assert client.agents.list(limit=5).items == [{"agent_id": "agt_1"}]
        assert client.agents.trust("agt_1").items == [{"delta": 0.1}]
    assert [r.method for r in rec.requests[:2]] == ["DELETE", "DELETE"]


# -- AsyncClient -----------------------------------------------------------------------------


def async_client_for(handler: Handler) -> AsyncClient:
    return AsyncClient("http://ains.test", transport=httpx.MockTransport(handler))


async def test_async_submit_wait_and_iterate() -> None:
    rec = Recorder(
        httpx.Response(201, json=task()),
        httpx.Response(200, json=task("COMPLETED")),
        httpx.Response(200, json={"items": [task(task_id="a")], "next_cursor": "n"}),
        httpx.Response(200, json={"items": [task(task_id="b")], "next_cursor": None}),
    )
    async with async_client_for(rec) as client:
        submitted = await client.tasks.submit("c1", "t", "x:v1", None, idempotency_key="k")
        done = await client.tasks.wait(submitted["task_id"], timeout=5, poll_interval=0.001)
        ids = [t["task_id"] async for t in client.tasks.iter_tasks(status="COMPLETED")]
    assert rec.body(0)["input_data"] == {}
    assert rec.requests[0].headers["idempotency-key"] == "k"
    assert done["status"] == "COMPLETED"
    assert ids == ["a", "b"]


async def test_async_errors_and_agent_calls() -> None:
    rec = Recorder(
        httpx.Response(404, json={"title": "Not Found", "status": 404}),
        httpx.Response(200, json={"tasks": [task()]}),
        httpx.Response(200, json={"results": []}),
        httpx.Response(204),
    )
    async with async_client_for(rec) as client:
        with pytest.raises(NotFound):
            await client.tasks.get("missing")
        assert await client.agents.claim("agt_1", 2, 1) == [task()]
        assert await client.agents.reports("agt_1", []) == []
        assert await client.keys.revoke("k") is None


async def test_async_wait_times_out() -> None:
    rec = Recorder(httpx.Response(200, json=task("RUNNING")))
    async with async_client_for(rec) as client:
        with pytest.raises(WaitTimeout):
            await client.tasks.wait("task_1", timeout=0.03, poll_interval=0.01)


async def test_async_network_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with async_client_for(refuse) as client:
        with pytest.raises(NetworkError):
            await client.agents.heartbeat("agt_1")
