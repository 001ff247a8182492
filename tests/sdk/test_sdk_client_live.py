"""`Client` and `AsyncClient` against a real server process, on SQLite and PostgreSQL: every
resource group, the problem+json errors, paging and waiting."""

from __future__ import annotations

import asyncio
import socket

import pytest

from ains_client import (
    AinsError,
    AsyncClient,
    AuthError,
    Client,
    Conflict,
    NetworkError,
    NotFound,
    ValidationError,
    WaitTimeout,
)
from tests.support.server import ServerProcess


@pytest.fixture
def client(server: ServerProcess) -> Client:
    with Client(server.url) as c:
        yield c  # type: ignore[misc]


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # closed when the block ends


def _to_dlq(client: Client, cap: str) -> str:
    """A task that failed for good: submitted, claimed and failed without retries."""
    task = client.tasks.submit(f"c-{cap}", "t", cap, {}, retry_policy={"max_retries": 0})
    agent = client.agents.register(f"a-{cap}", [cap])
    claimed = client.agents.claim(agent["agent_id"], 1, wait_seconds=5)
    assert [t["task_id"] for t in claimed] == [task["task_id"]]
    client.agents.fail(task["task_id"], claimed[0]["attempt_id"], "boom", retryable=False)
    return str(task["task_id"])


def test_submit_is_idempotent_and_lists_page_by_page(client: Client, uid: str) -> None:
    first = client.tasks.submit(f"c-{uid}", "t", f"cap-{uid}", {"n": 1}, idempotency_key=uid)
    again = client.tasks.submit(f"c-{uid}", "t", f"cap-{uid}", {"n": 1}, idempotency_key=uid)
    assert again["task_id"] == first["task_id"]
    for n in range(4):
        client.tasks.submit(f"c-{uid}", "t", f"cap-{uid}", {"n": n + 2}, priority=3)
    page = client.tasks.list(client_id=f"c-{uid}", limit=2)
    assert len(page.items) == 2 and page.next_cursor
    every = list(client.tasks.iter_tasks(client_id=f"c-{uid}", limit=2))
    assert len({t["task_id"] for t in every}) == 5


def test_task_control_calls(client: Client, uid: str) -> None:
    task = client.tasks.submit(f"c-{uid}", "t", f"cap-{uid}")
    assert client.tasks.set_priority(task["task_id"], 9)["priority"] == 9
    assert client.tasks.set_timeout(task["task_id"], 30)["timeout_seconds"] == 30
    assert client.tasks.cancel(task["task_id"], "no")["status"] == "CANCELLED"
    assert client.tasks.retry(task["task_id"])["status"] == "PENDING"
    assert client.tasks.result(task["task_id"])["status"] == "PENDING"


def test_wait_returns_the_terminal_task_or_times_out(client: Client, uid: str) -> None:
    task = client.tasks.submit(f"c-{uid}", "t", f"cap-{uid}")
    with pytest.raises(WaitTimeout) as waited:
        client.tasks.wait(task["task_id"], timeout=0.3, poll_interval=0.1)
    assert waited.value.last is not None and waited.value.last["status"] == "PENDING"
    client.tasks.cancel(task["task_id"])
    assert client.tasks.wait(task["task_id"], timeout=10)["status"] == "CANCELLED"


def test_errors_carry_the_problem_json(client: Client, uid: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        client.tasks.submit(f"c-{uid}", "t", f"cap-{uid}", priority=42)
    assert invalid.value.status == 422 and invalid.value.title
    assert [e["field"] for e in invalid.value.errors] == ["priority"]
    assert invalid.value.errors[0]["reason"]
    with pytest.raises(NotFound) as missing:
        client.tasks.get(f"task_missing_{uid}")
    assert missing.value.status == 404
    done = client.tasks.submit(f"c-{uid}", "t", f"cap-{uid}")
    client.tasks.cancel(done["task_id"])
    with pytest.raises(Conflict):
        client.tasks.cancel(done["task_id"])


def test_an_unreachable_server_is_one_readable_network_error() -> None:
    url = _dead_url()
    with Client(url, timeout=5) as dead, pytest.raises(NetworkError) as failed:
        dead.tasks.get("task_x")
    assert str(failed.value) == f"the server is unreachable at {url}"
    assert failed.value.url == url


def test_url_and_key_default_to_the_environment(
    server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AINS_URL", server.url)
    monkeypatch.setenv("AINS_API_KEY", "ains_unknown")
    with Client() as c, pytest.raises(AuthError) as refused:
        c.admin.queue_stats()  # the key from the environment was sent, and is unknown
    assert refused.value.status == 401 and refused.value.title


def test_batches(client: Client, uid: str) -> None:
    good = {"task_type": "t", "capability_required": f"cap-{uid}", "input_data": {}, "ref": "a"}
    later = {"task_type": "t", "capability_required": f"cap-{uid}", "depends_on": ["a"]}
    bad = {"task_type": "t", "capability_required": f"cap-{uid}", "priority": 99}
    batch = client.batches.submit([good, later, bad], client_id=f"c-{uid}")
    assert (batch["created"], batch["failed"]) == (2, 1)
    refused = [r for r in batch["results"] if not r["ok"]]
    assert refused[0]["index"] == 2 and refused[0]["errors"]
    assert client.batches.get(batch["batch_id"])["total_tasks"] == 2
    assert len(client.batches.results(batch["batch_id"])["results"]) == 2
    assert client.batches.status(batch["task_ids"])["total"] == 2
    assert client.batches.cancel(batch["batch_id"], reason="test")["cancelled"] == 2
    with pytest.raises(ValidationError) as atomic:
        client.batches.submit([good, bad], client_id=f"c-{uid}", atomic=True)
    assert any(e["field"].endswith("priority") for e in atomic.value.errors)


def test_schedules(client: Client, uid: str) -> None:
    made = client.schedules.create("t", f"cap-{uid}", {}, interval_seconds=3600, client_id=uid)
    sid = made["schedule_id"]
    assert [s["schedule_id"] for s in client.schedules.list(client_id=uid).items] == [sid]
    assert client.schedules.pause(sid)["status"] == "PAUSED"
    assert client.schedules.resume(sid)["status"] == "ACTIVE"
    assert client.schedules.update(sid, priority=7)["priority"] == 7
    ran = client.schedules.execute(sid)
    assert client.schedules.executions(sid).items[0]["task_id"] == ran["task_id"]
    assert len(client.schedules.preview(sid, 3)["next_runs"]) == 3
    timing = client.schedules.preview_timing(cron_expression="0 * * * *", count=2)
    assert len(timing["next_runs"]) == 2
    assert client.schedules.get(sid)["schedule_id"] == sid
    assert client.schedules.delete(sid) == {}
    with pytest.raises(NotFound):
        client.schedules.get(sid)


def test_templates(client: Client, uid: str) -> None:
    made = client.templates.create(f"tpl-{uid}", task_type="t", capability_required=f"cap-{uid}")
    tid = made["template_id"]
    assert tid in {t["template_id"] for t in client.templates.list(limit=500).items}
    assert client.templates.update(tid, priority=9)["defaults"]["priority"] == 9
    task = client.templates.submit(tid, {"input_data": {"a": 1}, "client_id": uid})
    assert (task["priority"], task["input_data"]) == (9, {"a": 1})
    assert client.templates.get(tid)["name"] == f"tpl-{uid}"
    assert client.templates.delete(tid) == {}


def test_webhooks(client: Client, uid: str) -> None:
    made = client.webhooks.create(f"https://hooks.invalid/{uid}", ["task.completed"])
    wid = made["webhook_id"]
    assert made["secret"]
    assert wid in {w["webhook_id"] for w in client.webhooks.list(limit=500).items}
    assert client.webhooks.update(wid, description=uid)["description"] == uid
    assert client.webhooks.enable(wid)["enabled"] is True
    tested = client.webhooks.test(wid)
    assert tested["success"] is False and tested["error"]  # .invalid never resolves
    assert client.webhooks.deliveries(wid).items[0]["event_type"] == "webhook.test"
    assert client.webhooks.get(wid)["webhook_id"] == wid
    assert client.webhooks.delete(wid) == {}


def test_dead_letter_queue(client: Client, uid: str) -> None:
    cap = f"cap-{uid}"
    first, second = _to_dlq(client, cap), _to_dlq(client, cap)
    listed = {t["task_id"] for t in client.dlq.list(capability=cap).items}
    assert listed == {first, second}
    assert client.dlq.requeue(first)["status"] == "PENDING"
    assert client.dlq.purge(capability=cap)["purged"] == 1
    assert client.dlq.requeue_many(filters={"capability": cap}) == {"requeued": [], "errors": []}


def test_analytics_admin_agents_and_keys(client: Client, uid: str) -> None:
    assert "success_rate" in str(client.analytics.summary(period="last_24_hours"))
    assert isinstance(client.analytics.agents(period="all"), dict)
    assert isinstance(client.analytics.tasks(period="last_7_days"), dict)
    assert isinstance(client.analytics.trends(period="last_24_hours", bucket="hour"), dict)
    with pytest.raises(ValidationError) as bad_period:
        client.analytics.summary(period="yesterday")
    assert bad_period.value.errors[0]["field"] == "period"
    assert client.admin.stats()["database"] in {"sqlite", "postgresql"}
    assert isinstance(client.admin.audit(limit=1).items, list)
    assert "counts" in client.admin.cleanup()
    agent = client.agents.register(f"a-{uid}", [f"cap-{uid}"])
    assert client.agents.get(agent["agent_id"])["name"] == f"a-{uid}"
    key = client.keys.create("client", f"c-{uid}", f"k-{uid}")
    assert key["api_key"] and key["key_id"] in {k["key_id"] for k in client.keys.list().items}
    client.keys.revoke(key["key_id"])


async def test_async_client_covers_the_same_calls(server: ServerProcess, uid: str) -> None:
    async with AsyncClient(server.url) as client:
        tasks = await asyncio.gather(
            *(client.tasks.submit(f"c-{uid}", "t", f"cap-{uid}", {"n": n}) for n in range(3))
        )
        assert len({t["task_id"] for t in tasks}) == 3
        seen = [t async for t in client.tasks.iter_tasks(client_id=f"c-{uid}", limit=2)]
        assert len(seen) == 3
        await client.tasks.cancel(tasks[0]["task_id"])
        assert (await client.tasks.wait(tasks[0]["task_id"], timeout=10))["status"] == "CANCELLED"
        with pytest.raises(WaitTimeout):
            await client.tasks.wait(tasks[1]["task_id"], timeout=0.2, poll_interval=0.05)
        batch = await client.batches.submit(
            [{"task_type": "t", "capability_required": f"cap-{uid}"}], client_id=f"c-{uid}"
        )
        assert (await client.batches.get(batch["batch_id"]))["total_tasks"] == 1
        made = await client.schedules.create("t", f"cap-{uid}", interval_seconds=60, client_id=uid)
        assert len((await client.schedules.list(client_id=uid)).items) == 1
        assert await client.schedules.delete(made["schedule_id"]) == {}
        assert (await client.dlq.list(capability=f"cap-{uid}")).items == []
        assert isinstance(await client.analytics.summary(period="all"), dict)
        with pytest.raises(ValidationError) as invalid:
            await client.tasks.submit(f"c-{uid}", "t", f"cap-{uid}", priority=0)
        assert invalid.value.errors[0]["field"] == "priority"
    async with AsyncClient(_dead_url(), timeout=5) as dead:
        with pytest.raises(AinsError, match="unreachable"):
            await dead.templates.list()
