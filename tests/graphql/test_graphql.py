"""/graphql against a real server process, over HTTP (httpx) and WebSocket (`websockets`,
graphql-transport-ws), on SQLite and PostgreSQL. The operations are the examples of
docs/graphql.md."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.graphql.client import data, example, only_error, post, subscriptions
from tests.support.flows import claim, register_agent
from tests.support.hostile import DEEP
from tests.support.server import ServerProcess, running_server


@pytest.fixture(scope="module")
def gql_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(
        backend, tmp_path_factory.mktemp("graphql"), AINS_GRAPHQL_COUNT_STATEMENTS="true"
    ) as server:
        yield server


@pytest.fixture
def admin(gql_server: ServerProcess) -> Iterator[httpx.Client]:
    """The local admin of a server in protected mode (no admin key is ever made here)."""
    with gql_server.client() as client:
        yield client


def client_key(admin: httpx.Client, principal_id: str) -> str:
    body = {"role": "client", "principal_id": principal_id, "name": principal_id}
    r = admin.post("/ains/keys", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


def create_task(client: httpx.Client, **fields: Any) -> dict[str, Any]:
    created = data(client, example("createTask"), {"input": fields})["createTask"]
    return dict(created)


def unprocessable_field(body: dict[str, Any]) -> str:
    error = only_error(body)
    assert error["extensions"]["code"] == "UNPROCESSABLE_CONTENT", error
    assert error["extensions"]["status"] == 422, error
    return str(error["extensions"]["errors"][0]["field"])


# tests/security/test_fuzz.py's hostile input
HOSTILE_VALUES = [
    '"\\u0000"', '"a\\u0000b"', '"\\ud800"', DEEP, "NaN", "Infinity", "1e999", "1e308",
    "5e-324", "100000000000000000000000000000", "18446744073709551615", "-1", "0", "1.5",
    '""', f'"{"x" * 20_000}"', "[]", "{}", "null", "true", '"9999-12-31T23:59:59-14:00"',
    '"0001-01-01T00:00:00+14:00"', '"2030-01-01T00:00:00"', '{"\\u0000":[]}', '["\\u0000"]',
]  # fmt: skip
HOSTILE_BODIES = [
    b"null", b"[]", b'"text"', b"123", b"{}", b'{"":1}', DEEP.encode(), b"NaN", b"{",
    b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000,
]  # fmt: skip


# --- queries -----------------------------------------------------------------------------------


def test_queries_read_tasks_pages_queue_and_statistics(
    gql_server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    me = f"gq-{uid}"
    cap = f"cap-{uid}"
    with gql_server.client(client_key(admin, me)) as client:
        made = [
            create_task(client, taskType="report", capabilityRequired=cap, priority=p)
            for p in (3, 5, 7)
        ]
        assert [t["status"] for t in made] == ["PENDING"] * 3
        assert [t["priority"] for t in made] == [3, 5, 7]

        task = data(client, example("task"), {"id": made[0]["taskId"]})["task"]
        assert task["taskId"] == made[0]["taskId"]
        assert task["clientId"] == me
        assert task["attempts"] == []
        assert [h["event"] for h in task["history"]] == ["task.created"]
        assert task["history"][0]["toStatus"] == "PENDING"

        query = example("tasks")
        first = data(client, query, {"filter": {"capability": cap}, "first": 2})["tasks"]
        assert len(first["edges"]) == 2
        assert first["pageInfo"]["hasNextPage"] is True
        rest = data(
            client,
            query,
            {"filter": {"capability": cap}, "first": 2, "after": first["pageInfo"]["endCursor"]},
        )["tasks"]
        assert len(rest["edges"]) == 1
        assert rest["pageInfo"]["hasNextPage"] is False
        ids = [e["node"]["taskId"] for e in first["edges"] + rest["edges"]]
        assert ids == sorted((t["taskId"] for t in made), reverse=True)

        def count(filter: dict[str, Any]) -> int:
            page = data(client, query, {"filter": {"capability": cap, **filter}, "first": 50})
            return len(page["tasks"]["edges"])

        assert count({"status": ["PENDING"], "clientId": me, "taskType": "report"}) == 3
        assert count({"status": ["COMPLETED"]}) == 0
        assert count({"taskType": "other"}) == 0
        assert count({"createdAfter": "2000-01-01T00:00:00Z"}) == 3
        assert count({"createdBefore": "2000-01-01T00:00:00Z"}) == 0
        assert count({"agentId": "nobody"}) == 0

        queue = data(client, example("queueStatus"))["queueStatus"]
        assert queue["depth"] == 3  # a client's view: its own PENDING tasks
        assert {"key": cap, "count": 3} in queue["byCapability"]
        assert {"key": "7", "count": 1} in queue["byPriority"]

        stats = data(client, example("statistics"), {"period": "all"})["statistics"]
        assert stats["period"] == "all"
        assert stats["totalTasks"] == 3
        assert stats["completed"] == 0
        assert stats["successRate"] is None
        assert stats["topAgents"] == []


# --- mutations ---------------------------------------------------------------------------------


def test_mutations_change_tasks_batches_and_schedules_through_the_rest_services(
    gql_server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    cap = f"cap-{uid}"
    with gql_server.client(client_key(admin, f"gm-{uid}")) as client:
        batch_input = {
            "tasks": [
                {"taskType": "a", "capabilityRequired": cap, "ref": "first"},
                {"taskType": "b", "capabilityRequired": cap, "dependsOn": ["first"]},
            ],
            "atomic": True,
        }
        batch = data(client, example("createBatch"), {"input": batch_input})["createBatch"]
        assert batch["created"] == 2
        assert batch["failed"] == 0
        assert [r["ok"] for r in batch["results"]] == [True, True]
        assert batch["results"][0]["ref"] == "first"
        first_id, second_id = batch["taskIds"]
        mixed = {
            "batchId": f"b-{uid}",
            "tasks": [
                {"taskType": "ok", "capabilityRequired": cap},
                {"taskType": "bad", "capabilityRequired": cap, "priority": 0},
            ],
        }
        partial = data(client, example("createBatch"), {"input": mixed})["createBatch"]
        assert (partial["created"], partial["failed"]) == (1, 1)
        refused = partial["results"][1]
        assert refused["ok"] is False
        assert any("priority" in e["field"] for e in refused["errors"]), refused
        again = data(client, example("createBatch"), {"input": mixed})["createBatch"]
        assert again["taskIds"] == partial["taskIds"]  # replayed by its batch id
        second = data(client, example("task"), {"id": second_id})["task"]
        assert second["dependencies"] == [{"taskId": first_id, "status": "PENDING"}]

        changed = data(client, example("setTaskPriority"), {"id": first_id, "priority": 9})
        assert changed["setTaskPriority"] == {"taskId": first_id, "priority": 9}
        changed = data(client, example("setTaskTimeout"), {"id": first_id, "seconds": 600.0})
        assert changed["setTaskTimeout"] == {"taskId": first_id, "timeoutSeconds": 600.0}
        rest = client.get(f"/aitp/tasks/{first_id}").json()
        assert (rest["priority"], rest["timeout_seconds"]) == (9, 600.0)

        cancelled = data(client, example("cancelTask"), {"id": first_id, "reason": "changed mind"})
        assert cancelled["cancelTask"]["status"] == "CANCELLED"
        assert cancelled["cancelTask"]["cancellationReason"] == "changed mind"
        retried = data(client, example("retryTask"), {"id": first_id})["retryTask"]
        assert retried["status"] == "PENDING"

        schedule_input = {
            "taskType": "nightly",
            "capabilityRequired": cap,
            "cronExpression": "0 3 * * *",
            "timezone": "Europe/Paris",
        }
        schedule = data(client, example("createSchedule"), {"input": schedule_input})
        schedule = schedule["createSchedule"]
        assert schedule["status"] == "ACTIVE"
        assert schedule["nextRunAt"] is not None
        paused = data(client, example("pauseSchedule"), {"id": schedule["scheduleId"]})
        assert paused["pauseSchedule"]["status"] == "PAUSED"
        resumed = data(client, example("resumeSchedule"), {"id": schedule["scheduleId"]})
        assert resumed["resumeSchedule"]["status"] == "ACTIVE"
        rest = client.get(f"/aitp/tasks/schedule/{schedule['scheduleId']}").json()
        assert rest["status"] == "ACTIVE"

        keyed = {"input": {"taskType": "k", "capabilityRequired": cap}, "key": f"k-{uid}"}
        query = (
            "mutation($input: TaskInput!, $key: String) "
            "{ createTask(input: $input, idempotencyKey: $key) { taskId } }"
        )
        once = data(client, query, keyed)["createTask"]["taskId"]
        assert data(client, query, keyed)["createTask"]["taskId"] == once


# --- visibility --------------------------------------------------------------------------------


def test_a_client_cannot_read_or_change_another_clients_private_task(
    gql_server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    cap = f"cap-{uid}"
    with (
        gql_server.client(client_key(admin, f"owner-{uid}")) as owner,
        gql_server.client(client_key(admin, f"other-{uid}")) as other,
    ):
        private = create_task(owner, taskType="secret", capabilityRequired=cap)["taskId"]
        public = create_task(owner, taskType="open", capabilityRequired=cap, visibility="public")
        public_id = public["taskId"]

        body = post(other, example("task"), {"id": private})
        assert body["data"] == {"task": None}
        error = only_error(body)
        assert error["path"] == ["task"]
        assert error["extensions"] == {"code": "NOT_FOUND", "status": 404}
        assert other.get(f"/aitp/tasks/{private}").status_code == 404  # the same as REST

        page = data(other, example("tasks"), {"filter": {"capability": cap}, "first": 50})
        assert [e["node"]["taskId"] for e in page["tasks"]["edges"]] == [public_id]

        body = post(other, example("cancelTask"), {"id": private})
        assert only_error(body)["extensions"]["status"] == 404
        body = post(other, example("cancelTask"), {"id": public_id})
        assert only_error(body)["extensions"]["status"] == 403  # seen, not theirs
        assert data(other, example("task"), {"id": public_id})["task"]["taskId"] == public_id
        assert data(owner, example("task"), {"id": private})["task"]["taskId"] == private


# --- subscriptions -----------------------------------------------------------------------------


def test_task_updated_delivers_each_transition_within_two_seconds(
    gql_server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    cap = f"cap-{uid}"
    task_id = f"gql-{uid}"
    key = client_key(admin, f"sub-{uid}")
    agent = register_agent(admin, cap)
    with subscriptions(gql_server, key) as subs:
        subs.acknowledged()
        # after: 0 replays what committed before the subscription was attached: none is missed
        op = subs.subscribe(example("taskUpdated"), {"filter": {"taskIds": [task_id]}, "after": 0})
        with gql_server.client(key) as client:
            create_task(client, taskType="t", capabilityRequired=cap, taskId=task_id)
        created = subs.next_data(op, timeout=2.0)["taskUpdated"]
        assert (created["type"], created["status"]) == ("task.created", "PENDING")
        assert created["taskId"] == task_id

        (claimed,) = claim(admin, agent["agent_id"])
        assigned = subs.next_data(op, timeout=2.0)["taskUpdated"]
        assert (assigned["type"], assigned["previousStatus"]) == ("task.assigned", "PENDING")

        attempt = {"attempt_id": claimed["attempt_id"]}
        assert admin.post(f"/aitp/tasks/{task_id}/start", json=attempt).status_code == 200
        started = subs.next_data(op, timeout=2.0)["taskUpdated"]
        assert (started["type"], started["status"]) == ("task.started", "RUNNING")

        done = {**attempt, "result_data": {"ok": True}}
        assert admin.post(f"/aitp/tasks/{task_id}/complete", json=done).status_code == 200
        completed = subs.next_data(op, timeout=2.0)["taskUpdated"]
        assert (completed["type"], completed["status"]) == ("task.completed", "COMPLETED")
        assert created["eventId"] < assigned["eventId"] < started["eventId"]


def test_task_updated_shows_a_client_only_what_it_may_see(
    gql_server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    cap = f"cap-{uid}"
    with subscriptions(gql_server, client_key(admin, f"spy-{uid}")) as spy:
        spy.acknowledged()
        kind = f"t-{uid}"
        wanted = {"filter": {"types": ["task.*"], "taskType": kind}, "after": 0}
        op = spy.subscribe(example("taskUpdated"), wanted)
        with gql_server.client(client_key(admin, f"victim-{uid}")) as victim:
            hidden = create_task(victim, taskType=kind, capabilityRequired=cap)["taskId"]
            shown = create_task(victim, taskType=kind, capabilityRequired=cap, visibility="public")
        update = spy.next_data(op, timeout=10)["taskUpdated"]
        assert update["taskId"] == shown["taskId"]  # the private one, created first, is skipped
        assert hidden != shown["taskId"]


def test_queue_status_subscription_sends_now_then_every_five_seconds(
    gql_server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    key = client_key(admin, f"qs-{uid}")
    with gql_server.client(key) as client:
        create_task(client, taskType="t", capabilityRequired=f"cap-{uid}")
    with subscriptions(gql_server, key) as subs:
        subs.acknowledged()
        op = subs.subscribe(example("queueStatusUpdates"))
        first = subs.next_data(op, timeout=10)["queueStatus"]
        first_at = time.monotonic()
        assert first["depth"] == 1
        second = subs.next_data(op, timeout=15)["queueStatus"]
        assert time.monotonic() - first_at >= 4.0  # the interval, not at once again
        assert second["depth"] == 1


def test_subscriptions_end_when_their_key_is_revoked(
    gql_server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    body = {"role": "client", "principal_id": f"rv-{uid}", "name": f"rv-{uid}"}
    created = admin.post("/ains/keys", json=body).json()
    with subscriptions(gql_server, created["api_key"]) as subs:
        subs.acknowledged()
        queue = subs.subscribe(example("queueStatusUpdates"))
        updates = subs.subscribe(example("taskUpdated"))
        assert subs.next_data(queue, timeout=10)["queueStatus"]["depth"] == 0
        assert admin.delete(f"/ains/keys/{created['key_id']}").status_code == 204
        ended = set()
        while ended != {queue, updates}:
            message = subs.receive(timeout=10)
            if message["type"] == "complete":
                ended.add(message["id"])
            else:
                assert message["type"] == "next" and message["id"] == queue, message


def test_a_websocket_with_a_bad_key_is_refused(
    gql_server: ServerProcess, admin: httpx.Client
) -> None:
    with subscriptions(gql_server, "not-a-key") as subs:
        with pytest.raises(ConnectionClosed):
            subs.receive(timeout=10)
        assert subs.ws.close_code == 4403


# --- limits and batched loading ----------------------------------------------------------------


def test_the_cost_limit_refuses_an_abusive_query_before_running_it(
    gql_server: ServerProcess, admin: httpx.Client
) -> None:
    body = post(admin, example("tooCostly"))
    assert body.get("data") is None
    error = only_error(body)
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["cost"] == 118_001
    assert error["extensions"]["max_cost"] == 20_000
    assert body["extensions"]["statements"] == 0  # refused before any statement


def test_the_depth_limit_refuses_a_deep_query(
    gql_server: ServerProcess, admin: httpx.Client
) -> None:
    inner = "taskId"
    for _ in range(11):
        inner = f"taskId dependencies {{ {inner} }}"
    body = post(admin, f'{{ task(id: "x") {{ {inner} }} }}')
    assert body.get("data") is None
    messages = [e["message"] for e in body["errors"]]
    assert any("exceeds maximum operation depth" in m for m in messages), messages
    assert body["extensions"]["statements"] == 0
    # the same shape within the limit runs
    shallow = "taskId"
    for _ in range(3):
        shallow = f"taskId dependencies {{ {shallow} }}"
    body = post(admin, f'{{ task(id: "x") {{ {shallow} }} }}')
    assert only_error(body)["extensions"]["code"] == "NOT_FOUND"


def test_a_hundred_task_query_runs_a_bounded_number_of_statements(
    gql_server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    cap = f"cap-{uid}"
    tasks = [{"taskType": "n", "capabilityRequired": cap, "ref": "root"}] + [
        {"taskType": "n", "capabilityRequired": cap, "dependsOn": ["root"]} for _ in range(99)
    ]
    batch = data(admin, example("createBatch"), {"input": {"tasks": tasks}})["createBatch"]
    assert batch["created"] == 100
    query = """
    query Page($filter: TaskFilter, $first: Int!) {
      tasks(filter: $filter, first: $first) {
        edges { node {
          taskId status
          attempts { attemptId status }
          history { event at }
          dependencies { taskId }
        } }
      }
    }"""

    def statements(first: int) -> int:
        body = post(admin, query, {"filter": {"batchId": batch["batchId"]}, "first": first})
        assert "errors" not in body, body
        edges = body["data"]["tasks"]["edges"]
        assert len(edges) == first
        assert all(len(e["node"]["history"]) == 1 for e in edges)
        assert sum(len(e["node"]["dependencies"]) for e in edges) >= first - 1
        return int(body["extensions"]["statements"])

    hundred, ten = statements(100), statements(10)
    # one statement for the page, one per batched kind (attempts, histories, dependencies):
    # the same for 10 tasks as for 100
    assert hundred <= 4, hundred
    assert ten <= 4, ten


# --- bad input, authentication, GraphiQL -------------------------------------------------------


def test_errors_name_the_field(gql_server: ServerProcess, admin: httpx.Client, uid: str) -> None:
    assert (
        unprocessable_field(post(admin, example("setTaskPriority"), {"id": "x", "priority": 11}))
        == "priority"
    )
    bad_task = {"input": {"taskType": "t", "capabilityRequired": "c", "priority": 0}}
    assert unprocessable_field(post(admin, example("createTask"), bad_task)) == "input.priority"
    tasks = example("tasks")
    assert unprocessable_field(post(admin, tasks, {"first": 0})) == "first"
    assert (
        unprocessable_field(post(admin, tasks, {"first": 5, "filter": {"status": ["NOPE"]}}))
        == "status"
    )
    assert unprocessable_field(post(admin, tasks, {"first": 5, "after": "garbage"})) == "cursor"
    naive = {"first": 5, "filter": {"createdAfter": "2026-01-01T00:00:00"}}
    assert unprocessable_field(post(admin, tasks, naive)) == "filter.createdAfter"
    assert unprocessable_field(post(admin, example("statistics"), {"period": "decade"})) == "period"
    timeout = {"id": "x", "seconds": -1.0}
    assert unprocessable_field(post(admin, example("setTaskTimeout"), timeout)) == "timeoutSeconds"
    # GraphQL's own checks name the argument or field too
    body = post(admin, tasks, {"first": "many"})
    assert "$first" in only_error(body)["message"]
    body = post(admin, "{ task(id: 1) { nosuchfield } }")
    assert "nosuchfield" in body["errors"][0]["message"]


NUL_VARIABLE = (
    '{"query": "query($i: ID!) { task(id: $i) { taskId } }", "variables": {"i": "\\u0000"}}'
)


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ('{"query": "{ task(id: \\"a\\u0000b\\") { taskId } }"}', "query"),
        (NUL_VARIABLE, "variables.i"),
        ('{"query": "{ queueStatus { depth } ', "body"),
        ('"text"', "body"),
        ("[]", "body"),
    ],
)
def test_unreadable_requests_are_a_422_naming_the_field(
    gql_server: ServerProcess, admin: httpx.Client, content: str, field: str
) -> None:
    r = admin.post("/graphql", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == field


def test_other_bad_requests_are_never_a_500(gql_server: ServerProcess, admin: httpx.Client) -> None:
    nul_in_get = admin.get(
        "/graphql",
        params={
            "query": "query($i: ID!) { task(id: $i) { taskId } }",
            "variables": '{"i": "\\u0000"}',
        },
    )
    assert nul_in_get.status_code == 422, nul_in_get.text
    assert nul_in_get.json()["errors"][0]["field"] == "variables.i"
    mutation_by_get = admin.get(
        "/graphql", params={"query": 'mutation { pauseSchedule(id: "x") { status } }'}
    )
    assert mutation_by_get.status_code == 400, mutation_by_get.text
    assert "GET" in mutation_by_get.json()["detail"]
    assert mutation_by_get.headers["content-type"] == "application/problem+json"
    for content in ("", '{"query": 5}', '{"variables": {}}'):
        r = admin.post("/graphql", content=content, headers={"content-type": "application/json"})
        assert r.status_code == 400, (content, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    syntax = post(admin, "{ task(id: ")
    assert "Syntax Error" in only_error(syntax)["message"]
    surrogate = post(admin, '{ task(id: "\\ud800") { taskId } }')
    assert "Invalid Unicode escape sequence" in only_error(surrogate)["message"]
    huge = post(admin, example("tasks"), {"first": 2**40})
    assert only_error(huge)["extensions"]["code"] == "QUERY_TOO_COSTLY"


def test_credentials_are_checked_like_rest(gql_server: ServerProcess) -> None:
    with gql_server.client("wrong-key") as stranger:
        r = stranger.post("/graphql", json={"query": "{ queueStatus { depth } }"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


def test_introspection_is_on(gql_server: ServerProcess, admin: httpx.Client) -> None:
    schema = data(admin, "{ __schema { queryType { name } mutationType { fields { name } } } }")
    names = {f["name"] for f in schema["__schema"]["mutationType"]["fields"]}
    assert names == {
        "createTask", "createBatch", "cancelTask", "retryTask", "setTaskPriority",
        "setTaskTimeout", "createSchedule", "pauseSchedule", "resumeSchedule",
    }  # fmt: skip


def test_graphiql_is_served_with_its_assets_and_no_cdn(gql_server: ServerProcess) -> None:
    with httpx.Client(base_url=gql_server.url, timeout=30) as browser:  # no credentials
        page = browser.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "https://" not in page.text and "<script>" not in page.text
        assets = re.findall(r'(?:src|href)="(/graphql/static/[^"]+)"', page.text)
        assert len(assets) == 6, assets
        for path in assets:
            r = browser.get(path)
            assert r.status_code == 200, path
            assert len(r.content) > 50, path
        assert browser.get("/graphql/static/graphiql.html").status_code == 404
        assert browser.get(f"/graphql/static/{uuid.uuid4().hex}.js").status_code == 404


def test_hostile_bodies_and_values_are_never_a_500(
    gql_server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    """The fuzz of tests/security/test_fuzz.py, on /graphql: no 5xx, and no error that is a 500 in
    disguise (INTERNAL_SERVER_ERROR) either."""
    json_headers = {"content-type": "application/json"}
    for body in HOSTILE_BODIES:
        r = admin.post("/graphql", content=body, headers=json_headers)
        assert r.status_code in (400, 422), (body[:40], r.status_code, r.text[:200])
        assert r.headers["content-type"] == "application/problem+json", r.text[:200]
    mutation = example("createTask").replace('"', '\\"').replace("\n", " ")
    for field in ("taskType", "inputData", "priority", "timeoutSeconds", "deadline", "metadata"):
        for value in HOSTILE_VALUES:
            task = f'{{"taskType": "t", "capabilityRequired": "fuzz-{uid}", "{field}": {value}}}'
            text = f'{{"query": "{mutation}", "variables": {{"input": {task}}}}}'
            r = admin.post("/graphql", content=text.encode(), headers=json_headers)
            where = (field, value[:40], r.status_code, r.text[:300])
            assert r.status_code in (200, 422), where
            if r.status_code == 200:
                codes = [e.get("extensions", {}).get("code") for e in r.json().get("errors", [])]
                assert "INTERNAL_SERVER_ERROR" not in codes, where
    assert admin.get("/health").status_code == 200
