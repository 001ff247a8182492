"""Real-time streams: SSE /aitp/events and WebSocket /ws/tasks against a real server."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import jsonschema
from websockets.sync.client import connect

from tests.support.event_checks import (
    check_batch_completed,
    check_schedule_fired,
    finish_a_batch,
    fire_a_schedule,
)
from tests.support.flows import claim, register_agent
from tests.support.server import ServerProcess

LIFECYCLE = ["task.created", "task.assigned", "task.started", "task.completed"]


def client_key(api: httpx.Client, principal_id: str) -> str:
    r = api.post(
        "/ains/keys", json={"role": "client", "principal_id": principal_id, "name": principal_id}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


@contextmanager
def sse(
    server: ServerProcess, key: str | None, **params: Any
) -> Iterator[queue.Queue[dict[str, Any]]]:
    """Messages of an SSE subscription, read by a thread; returns once the stream is live."""
    out: queue.Queue[dict[str, Any]] = queue.Queue()
    stop = threading.Event()
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    def read() -> None:
        try:
            _read()
        except (httpx.HTTPError, AssertionError):
            if not stop.is_set():
                out.put({"type": "stream.error"})

    def _read() -> None:
        with (
            httpx.Client(base_url=server.url, timeout=None) as client,
            client.stream("GET", "/aitp/events", params=params, headers=headers) as response,
        ):
            assert response.status_code == 200
            event_id, event = None, None
            for line in response.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("id: "):
                    event_id = int(line[4:])
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    message = json.loads(line[6:])
                    message["_sse_id"], message["_sse_event"] = event_id, event
                    event_id, event = None, None
                    out.put(message)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    first = out.get(timeout=10)
    assert first["type"] == "queue.stats"  # the subscription is attached
    try:
        yield out
    finally:
        stop.set()


def collect(
    q: queue.Queue[dict[str, Any]], until: Any, timeout: float = 10
) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            message = q.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if message["type"] != "queue.stats":
            got.append(message)
        if until(got):
            return got
    raise AssertionError(f"stream did not deliver in time: {[m['type'] for m in got]}")


def run_task(api: httpx.Client, key: str, client_id: str, capability: str) -> str:
    body = {
        "client_id": client_id,
        "task_type": "t",
        "capability_required": capability,
        "input_data": {},
    }
    with httpx.Client(
        base_url=str(api.base_url), headers={"Authorization": f"Bearer {key}"}
    ) as owner:
        r = owner.post("/aitp/tasks", json=body)
    assert r.status_code == 201, r.text
    task_id = str(r.json()["task_id"])
    agent = register_agent(api, capability)
    [task] = claim(api, agent["agent_id"], wait=5)
    body = {"attempt_id": task["attempt_id"]}
    assert api.post(f"/aitp/tasks/{task_id}/start", json=body).status_code == 200
    assert (
        api.post(f"/aitp/tasks/{task_id}/complete", json={**body, "result_data": 1}).status_code
        == 200
    )
    return task_id


def test_sse_delivers_a_task_lifecycle_in_order_and_hides_other_clients_tasks(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    key_a, key_b = client_key(api, f"a-{uid}"), client_key(api, f"b-{uid}")
    with sse(server, key_a) as stream:
        started = time.monotonic()
        other = run_task(api, key_b, f"b-{uid}", f"sse-b-{uid}:v1")
        mine = run_task(api, key_a, f"a-{uid}", f"sse-a-{uid}:v1")
        got = collect(stream, lambda g: "task.completed" in [m["type"] for m in g])
        elapsed = time.monotonic() - started
    assert all(m["task_id"] != other for m in got), "another client's private task leaked"
    assert [m["type"] for m in got if m["task_id"] == mine] == LIFECYCLE
    # each frame is what /openapi.json says: `event` names the type, `data` the JSON event
    content = api.get("/openapi.json").json()["paths"]["/aitp/events"]["get"]["responses"]
    frame = content["200"]["content"]["text/event-stream"]["schema"]
    for message in got:
        event = {k: v for k, v in message.items() if not k.startswith("_sse")}
        jsonschema.validate({"event": message["_sse_event"], "data": json.dumps(event)}, frame)
        jsonschema.validate(event, frame["properties"]["data"]["contentSchema"])
        assert message["_sse_event"] == message["type"]
    ids = [m["event_id"] for m in got]
    assert ids == sorted(ids) and ids == [m["_sse_id"] for m in got]
    assert elapsed < 5


def test_sse_resumes_after_an_event_id_and_filters(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    key = client_key(api, f"r-{uid}")
    with sse(server, key, types="task.created") as stream:
        task_id = run_task(api, key, f"r-{uid}", f"sse-r-{uid}:v1")
        [created] = collect(stream, lambda g: len(g) == 1)
    assert created["task_id"] == task_id
    with sse(server, key, after=created["event_id"], task_id=task_id) as stream:
        got = collect(stream, lambda g: len(g) == 3)
    assert [m["type"] for m in got] == LIFECYCLE[1:]


def test_websocket_delivers_task_updates_in_order(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    key = client_key(api, f"w-{uid}")
    ws_url = server.url.replace("http://", "ws://") + f"/ws/tasks?token={key}&types=task.*"
    with connect(ws_url, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "queue.stats"
        task_id = run_task(api, key, f"w-{uid}", f"ws-{uid}:v1")
        got: list[dict[str, Any]] = []
        while len(got) < 4:
            message = json.loads(ws.recv(timeout=10))
            if message["type"] != "queue.stats":
                got.append(message)
    assert [m["type"] for m in got] == LIFECYCLE
    assert {m["task_id"] for m in got} == {task_id}
    assert got[-1]["data"]["result_data"] == 1


def test_streams_refuse_a_wrong_key(server: ServerProcess) -> None:
    r = httpx.get(f"{server.url}/aitp/events", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    try:
        with connect(
            server.url.replace("http://", "ws://") + "/ws/tasks?token=nope", open_timeout=5
        ) as ws:
            ws.recv(timeout=5)
        raise AssertionError("the socket should have been refused")
    except Exception as exc:
        assert "nope" not in str(exc)


def test_sse_delivers_batch_completed_and_schedule_fired_with_their_payloads(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    with sse(server, None, types="batch.completed,schedule.fired") as stream:
        batch = finish_a_batch(api, uid)
        schedule_id, runs = fire_a_schedule(api, uid)

        def all_arrived(got: list[dict[str, Any]]) -> bool:
            mine = [m for m in got if m["data"].get("schedule_id") == schedule_id]
            batches = [m for m in got if m["data"].get("batch_id") == batch["batch_id"]]
            return len(mine) == len(runs) and len(batches) == 1

        got = collect(stream, all_arrived, timeout=15)
    assert {m["type"] for m in got} <= {"batch.completed", "schedule.fired"}
    check_batch_completed(got, batch)
    check_schedule_fired(got, schedule_id, runs)
