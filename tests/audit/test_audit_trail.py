"""The audit trail on a real server, both databases: every state-changing operation leaves
exactly one `ok` row naming its actor, action, target and request id; a refused change leaves
a `refused` row and no `ok` row; a denied request a `denied` row; GET /ains/audit filters and
pages, and is for admins only."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.flows import claim, submit
from tests.support.server import ServerProcess, running_server

DEAD_URL = "http://127.0.0.1:9/hook"
_ids = itertools.count()


def _rid(uid: str) -> str:
    return f"rid-{uid}-{next(_ids)}"


def _audit(admin: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = admin.get("/ains/audit", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


class Actor:
    """One principal's client; every call sends a fresh X-Request-ID and returns the answer
    with the audit rows written under that id."""

    def __init__(self, client: httpx.Client, admin: httpx.Client, uid: str) -> None:
        self.client = client
        self.admin = admin
        self.uid = uid

    def call(
        self, method: str, path: str, expect: int, **kwargs: Any
    ) -> tuple[httpx.Response, list[dict[str, Any]]]:
        rid = _rid(self.uid)
        headers = {**kwargs.pop("headers", {}), "X-Request-ID": rid}
        r = self.client.request(method, path, headers=headers, **kwargs)
        assert r.status_code == expect, (method, path, r.text)
        assert r.headers["x-request-id"] == rid
        return r, _audit(self.admin, request_id=rid)

    def done(
        self, method: str, path: str, action: str, target: tuple[str, str | None], **kwargs: Any
    ) -> dict[str, Any]:
        """A change that succeeds: exactly one `ok` row, for this action and target."""
        expect = kwargs.pop("expect", 201 if method == "POST" else 200)
        r, rows = self.call(method, path, expect, **kwargs)
        assert len(rows) == 1, (action, rows)
        [row] = rows
        assert (row["action"], row["outcome"], row["status"]) == (action, "ok", None), row
        target_type, target_id = target
        if target_id is None:  # the target is the created resource: its id is in the answer
            target_id = r.json()["key_id" if target_type == "api_key" else f"{target_type}_id"]
        assert (row["target_type"], row["target_id"]) == (target_type, target_id), row
        return {"row": row, "body": r.json() if r.content else None}


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """This module's own server: its audit log holds only this module's rows, and it may send
    webhook tests to 127.0.0.1."""
    with running_server(
        backend, tmp_path_factory.mktemp("audit"), AINS_WEBHOOK_ALLOWED_HOSTS='["127.0.0.1"]'
    ) as proc:
        yield proc


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def _client_key(admin: httpx.Client, principal_id: str) -> dict[str, Any]:
    r = admin.post("/ains/keys", json={"role": "client", "principal_id": principal_id})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_every_client_change_leaves_one_ok_row_with_actor_target_and_request_id(
    server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    key = _client_key(admin, f"audit-{uid}")
    cap = f"audit-{uid}:v1"
    task_body = {"task_type": "t", "capability_required": cap, "input_data": {}}
    with server.client(key["api_key"]) as client:
        me = Actor(client, admin, uid)
        # tasks: the grouped submit, the full path (an idempotency key), then each control
        grouped = me.done("POST", "/aitp/tasks", "task.submit", ("task", None), json=task_body)
        assert grouped["row"]["principal_id"] == f"audit-{uid}"
        assert grouped["row"]["role"] == "client"
        assert grouped["row"]["key_id"] == key["key_id"]
        keyed = {"Idempotency-Key": f"k-{uid}"}
        me.done("POST", "/aitp/tasks", "task.submit", ("task", None), json=task_body,
                headers=keyed)  # fmt: skip
        _, replayed = me.call("POST", "/aitp/tasks", 200, json=task_body, headers=keyed)
        assert replayed == [], "a replay changes nothing and is not audited as a change"
        task_id = grouped["body"]["task_id"]
        me.done("PUT", f"/aitp/tasks/{task_id}/priority", "task.priority", ("task", task_id),
                json={"priority": 9})  # fmt: skip
        me.done("PUT", f"/aitp/tasks/{task_id}/timeout", "task.timeout", ("task", task_id),
                json={"timeout_seconds": 600})  # fmt: skip
        me.done("DELETE", f"/aitp/tasks/{task_id}", "task.cancel", ("task", task_id))
        me.done("POST", f"/aitp/tasks/{task_id}/retry", "task.retry", ("task", task_id),
                expect=200)  # fmt: skip
        # batches: one row per batch, naming its tasks
        batch = me.done("POST", "/aitp/tasks/batch", "batch.submit", ("batch", None),
                        json={"tasks": [task_body, task_body]})  # fmt: skip
        assert batch["row"]["detail"] == {"target_ids": batch["body"]["task_ids"], "count": 2}
        batch_id = batch["body"]["batch_id"]
        me.done("DELETE", f"/aitp/tasks/batch/{batch_id}", "batch.cancel", ("batch", batch_id))
        # schedules
        sched = {**task_body, "cron_expression": "0 3 * * *"}
        created = me.done("POST", "/aitp/tasks/schedule", "schedule.create",
                          ("schedule", None), json=sched)  # fmt: skip
        sid = created["body"]["schedule_id"]
        base = f"/aitp/tasks/schedule/{sid}"
        me.done("PUT", base, "schedule.update", ("schedule", sid),
                json={"cron_expression": "0 4 * * *"})  # fmt: skip
        me.done("POST", f"{base}/pause", "schedule.pause", ("schedule", sid), expect=200)
        me.done("POST", f"{base}/resume", "schedule.resume", ("schedule", sid), expect=200)
        me.done("POST", f"{base}/execute", "schedule.run_now", ("schedule", sid))
        me.done("DELETE", base, "schedule.delete", ("schedule", sid), expect=204)
        # templates
        tpl = {"name": f"tpl-{uid}", "task_type": "t", "capability_required": cap}
        created = me.done("POST", "/aitp/templates", "template.create", ("template", None),
                          json=tpl)  # fmt: skip
        tid = created["body"]["template_id"]
        me.done("PUT", f"/aitp/templates/{tid}", "template.update", ("template", tid),
                json={**tpl, "priority": 7})  # fmt: skip
        me.done("PATCH", f"/aitp/templates/{tid}", "template.update", ("template", tid),
                json={"priority": 8})  # fmt: skip
        used = me.done("POST", f"/aitp/templates/{tid}/tasks", "template.submit",
                       ("template", tid), json={})  # fmt: skip
        assert used["row"]["detail"] == {"task": used["body"]["task_id"]}
        me.done("DELETE", f"/aitp/templates/{tid}", "template.delete", ("template", tid),
                expect=204)  # fmt: skip
        # webhooks
        hook = {"url": DEAD_URL, "events": ["task.completed"], "enabled": False}
        created = me.done("POST", "/aitp/webhooks", "webhook.create", ("webhook", None),
                          json=hook)  # fmt: skip
        wid = created["body"]["webhook_id"]
        me.done("PATCH", f"/aitp/webhooks/{wid}", "webhook.update", ("webhook", wid),
                json={"description": "d"})  # fmt: skip
        me.done("PUT", f"/ains/webhooks/{wid}", "webhook.update", ("webhook", wid),
                json={"description": "e"})  # fmt: skip
        me.done("POST", f"/aitp/webhooks/{wid}/enable", "webhook.enable", ("webhook", wid),
                expect=200)  # fmt: skip
        me.done("POST", f"/aitp/webhooks/{wid}/test", "webhook.test", ("webhook", wid),
                expect=200)  # fmt: skip
        me.done("DELETE", f"/aitp/webhooks/{wid}", "webhook.delete", ("webhook", wid),
                expect=204)  # fmt: skip


def _dead_letter(admin: httpx.Client, cap: str, agent_id: str) -> str:
    """Submit a task and dead-letter the one the agent gets (a requeued one may come first)."""
    submit(admin, cap, retry_policy={"max_retries": 0})
    [held] = claim(admin, agent_id, wait=5)
    r = admin.post(
        f"/aitp/tasks/{held['task_id']}/fail",
        json={"attempt_id": held["attempt_id"], "error": "boom", "retryable": False},
    )
    assert r.status_code == 200, r.text
    return str(held["task_id"])


def test_every_admin_change_leaves_one_ok_row(admin: httpx.Client, uid: str) -> None:
    me = Actor(admin, admin, uid)
    cap = f"audit-admin-{uid}:v1"
    registered = me.done("POST", "/ains/agents", "agent.register", ("agent", None),
                         json={"name": "a", "capabilities": [cap]})  # fmt: skip
    assert registered["row"]["principal_id"] == "local-admin"
    aid = registered["body"]["agent_id"]
    path = f"/ains/agents/{aid}"
    quarantined = me.done("PATCH", path, "agent.quarantine", ("agent", aid),
                          json={"status": "QUARANTINED", "reason": "odd results"})  # fmt: skip
    assert quarantined["row"]["detail"] == {"status": "QUARANTINED", "reason": "odd results"}
    me.done("PATCH", path, "agent.release", ("agent", aid), json={"status": "ACTIVE"})
    me.done("PATCH", path, "agent.trust_override", ("agent", aid), json={"trust_score": 0.9})
    me.done("PATCH", path, "agent.update", ("agent", aid), json={"max_concurrency": 2})
    # the DLQ: one requeue, a bulk requeue naming its tasks, a purge
    first = _dead_letter(admin, cap, aid)
    me.done("POST", f"/aitp/dlq/{first}/requeue", "dlq.requeue", ("task", first), expect=200)
    second = _dead_letter(admin, cap, aid)
    _, rows = me.call("POST", "/aitp/dlq/requeue", 200, json={"task_ids": [second]})
    assert [(r["action"], r["target_type"], r["detail"]) for r in rows] == [
        ("dlq.requeue", "dlq", {"target_ids": [second], "count": 1})
    ]
    third = _dead_letter(admin, cap, aid)
    _, rows = me.call("DELETE", "/aitp/dlq", 200, params={"capability": cap})
    assert [(r["action"], r["outcome"]) for r in rows] == [("dlq.purge", "ok")]
    assert rows[0]["detail"]["task_ids"] == [third]
    me.done("DELETE", path, "agent.deregister", ("agent", aid), expect=204)
    # keys
    key = me.done("POST", "/ains/keys", "key.create", ("api_key", None),
                  json={"role": "client", "principal_id": f"k-{uid}"})  # fmt: skip
    kid = key["body"]["key_id"]
    me.done("DELETE", f"/ains/keys/{kid}", "key.revoke", ("api_key", kid), expect=204)
    # maintenance: audited after its own transactions, still with the request's id
    for method_path, action in (("/ains/admin/cleanup", "admin.cleanup"),
                                ("/ains/admin/sweep-stale", "admin.sweep_stale")):  # fmt: skip
        body = {"dry_run": True} if action == "admin.cleanup" else None
        _, rows = me.call("POST", method_path, 200, json=body)
        assert [(r["action"], r["outcome"]) for r in rows] == [(action, "ok")]


def test_a_refused_change_leaves_a_refused_row_and_no_ok_row(
    server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    key = _client_key(admin, f"refused-{uid}")
    cap = f"audit-refused-{uid}:v1"
    with server.client(key["api_key"]) as client:
        me = Actor(client, admin, uid)
        task = submit(client, cap, client_id=f"refused-{uid}")
        tid = task["task_id"]
        # retrying a pending task is a 409: one `refused` row, nothing changed
        _, rows = me.call("POST", f"/aitp/tasks/{tid}/retry", 409)
        assert [(r["action"], r["outcome"], r["status"]) for r in rows] == [
            ("task.retry", "refused", 409)
        ]
        assert (rows[0]["target_type"], rows[0]["target_id"]) == ("task", tid)
        assert rows[0]["principal_id"] == f"refused-{uid}"
        # a failing change leaves neither the change nor an `ok` row: a second task with the
        # same id is refused, and the log still holds the first one's submit only
        body = {"task_type": "t", "capability_required": cap, "input_data": {}, "task_id": tid}
        _, rows = me.call("POST", "/aitp/tasks", 409, json=body)
        assert [(r["action"], r["outcome"]) for r in rows] == [("task.submit", "refused")]
        submits = _audit(admin, target=tid, action="task.submit", outcome="ok")
        assert len(submits) == 1
        assert client.get(f"/aitp/tasks/{tid}").json()["input_data"] == {}


def test_denied_requests_leave_denied_rows(
    server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    key = _client_key(admin, f"denied-{uid}")
    with server.client(key["api_key"]) as client:
        me = Actor(client, admin, uid)
        _, rows = me.call("POST", "/ains/keys", 403, json={"role": "admin"})
        assert [(r["action"], r["outcome"], r["status"]) for r in rows] == [
            ("key.create", "denied", 403)
        ]
        assert rows[0]["principal_id"] == f"denied-{uid}"
        assert rows[0]["key_id"] == key["key_id"]
        # reading the log is for admins only, and a refusal like any other
        _, rows = me.call("GET", "/ains/audit", 403)
        assert [(r["action"], r["outcome"]) for r in rows] == [("GET /ains/audit", "denied")]
    with server.client(f"ains_wrong{uuid.uuid4().hex}") as stranger:
        _, rows = Actor(stranger, admin, uid).call("DELETE", "/aitp/tasks/x", 401)
        assert [(r["action"], r["outcome"], r["status"], r["principal_id"]) for r in rows] == [
            ("task.cancel", "denied", 401, "anonymous")
        ]
        assert (rows[0]["target_type"], rows[0]["target_id"]) == ("task", "x")


def test_a_target_longer_than_its_column_is_cut_and_still_written(
    server: ServerProcess, admin: httpx.Client, uid: str
) -> None:
    key = _client_key(admin, f"long-{uid}")
    with server.client(key["api_key"]) as client:
        _, rows = Actor(client, admin, uid).call("DELETE", "/ains/keys/" + "y" * 5000, 403)
    assert [(r["action"], r["target_id"]) for r in rows] == [("key.revoke", "y" * 200)]


def test_filters_and_paging(server: ServerProcess, admin: httpx.Client, uid: str) -> None:
    key = _client_key(admin, f"pager-{uid}")
    before = datetime.now(UTC) - timedelta(seconds=1)
    with server.client(key["api_key"]) as client:
        cap = f"audit-pager-{uid}:v1"
        ids = [submit(client, cap, client_id=f"pager-{uid}")["task_id"] for _ in range(5)]
        client.delete(f"/aitp/tasks/{ids[0]}")
    mine = _audit(admin, actor=f"pager-{uid}")
    assert [(r["action"], r["target_id"]) for r in mine] == [
        ("task.cancel", ids[0]), *[("task.submit", i) for i in reversed(ids)]
    ]  # fmt: skip
    assert _audit(admin, actor=key["key_id"]) == mine  # a key id names the same actor
    assert _audit(admin, actor=f"pager-{uid}", action="task.cancel") == mine[:1]
    assert _audit(admin, actor=f"pager-{uid}", action="task.*") == mine
    assert _audit(admin, actor=f"pager-{uid}", action="batch.*") == []
    assert _audit(admin, target=ids[0]) == [mine[0], mine[-1]]
    assert _audit(admin, actor=f"pager-{uid}", since=before.isoformat()) == mine
    later = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    assert _audit(admin, actor=f"pager-{uid}", since=later) == []
    assert _audit(admin, actor=f"pager-{uid}", until=before.isoformat()) == []
    # pages of two: every row once, newest first, then no cursor
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"actor": f"pager-{uid}", "limit": 2}
    while True:
        page = admin.get("/ains/audit", params=params).json()
        seen += page["items"]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == mine


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"outcome": "success"}, "outcome"),
        ({"action": "task.*.x"}, "action"),
        ({"since": "2030-01-01T00:00:00"}, "since"),
        ({"since": "2030-01-02T00:00:00Z", "until": "2030-01-01T00:00:00Z"}, "until"),
        ({"cursor": "abc"}, "cursor"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_filters_are_a_422_naming_the_field(
    admin: httpx.Client, params: dict[str, Any], field: str
) -> None:
    r = admin.get("/ains/audit", params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_a_request_id_is_sent_with_every_answer(admin: httpx.Client) -> None:
    generated = admin.get("/health").headers["x-request-id"]
    assert len(generated) == 32 and generated != admin.get("/health").headers["x-request-id"]
    # a caller's id that is too long or not plain text is replaced, never echoed
    replaced = admin.get("/health", headers={"X-Request-ID": "x" * 500}).headers["x-request-id"]
    assert len(replaced) == 32
