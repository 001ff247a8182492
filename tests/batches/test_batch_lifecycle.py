"""Batch status, results, bulk cancel, batch.completed, and chains of dependent tasks."""

from __future__ import annotations

import httpx

from tests.batches.helpers import claim, complete, fail, register_agent, task
from tests.support.server import wait_for


def _submit(api: httpx.Client, tasks: list[dict[str, object]], uid: str) -> dict[str, object]:
    r = api.post("/aitp/tasks/batch", json={"client_id": f"c-{uid}", "tasks": tasks})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_status_by_batch_id_and_by_task_ids(api: httpx.Client, uid: str) -> None:
    cap = f"cap-{uid}"
    batch = _submit(api, [task(cap), task(cap), task(cap)], uid)
    status = api.get(f"/aitp/tasks/batch/{batch['batch_id']}").json()
    assert status["status"] == "PENDING"
    assert status["counts"] == {"PENDING": 3} and status["total_tasks"] == 3
    assert status["completed_at"] is None
    ids = list(batch["task_ids"])  # type: ignore[call-overload]
    r = api.get("/aitp/tasks/batch/status", params={"task_ids": ",".join([*ids, "ghost"])})
    assert r.status_code == 200
    body = r.json()
    assert [t["task_id"] for t in body["tasks"]] == [*ids, "ghost"]
    assert body["counts"] == {"PENDING": 3} and body["not_found"] == 1
    assert body["tasks"][-1]["found"] is False
    alias = api.get(f"/aitp/tasks/batch/status?taskids={ids[0]}").json()
    assert alias["tasks"][0]["status"] == "PENDING"


def test_cancelling_a_batch_cancels_every_active_task(api: httpx.Client, uid: str) -> None:
    cap = f"cap-{uid}"
    agent = register_agent(api, cap)
    batch = _submit(api, [task(cap, ref="a"), task(cap, depends_on=["a"]), task(cap)], uid)
    running = claim(api, agent)
    complete(api, running[0], {"done": True})
    r = api.delete(f"/aitp/tasks/batch/{batch['batch_id']}", params={"reason": "not needed"})
    assert r.status_code == 200, r.text
    assert r.json()["cancelled"] == 2
    status = api.get(f"/aitp/tasks/batch/{batch['batch_id']}").json()
    assert status["counts"] == {"COMPLETED": 1, "CANCELLED": 2}
    assert status["status"] == "PARTIALLY_COMPLETED"
    assert status["completed_at"] is not None  # batch.completed was recorded
    one = api.get(f"/aitp/tasks/{running[0]['task_id']}").json()
    assert one["status"] == "COMPLETED"


def test_results_and_batch_completed_once_every_task_is_done(api: httpx.Client, uid: str) -> None:
    cap = f"cap-{uid}"
    agent = register_agent(api, cap)
    batch = _submit(api, [task(cap, input_data={"n": i}) for i in range(3)], uid)
    for _ in range(3):
        (t,) = claim(api, agent)
        complete(api, t, {"double": t["input_data"]["n"] * 2})
    results = api.get(f"/aitp/tasks/batch/{batch['batch_id']}/results").json()
    assert results["status"] == "COMPLETED"
    assert [x["result_data"] for x in results["results"]] == [
        {"double": 0},
        {"double": 2},
        {"double": 4},
    ]
    status = api.get(f"/aitp/tasks/batch/{batch['batch_id']}").json()
    assert status["status"] == "COMPLETED" and status["completed_at"] is not None
    assert api.delete(f"/aitp/tasks/batch/{batch['batch_id']}").json()["cancelled"] == 0


def test_three_task_chain_passes_results_along(api: httpx.Client, uid: str) -> None:
    cap = f"cap-{uid}"
    agent = register_agent(api, cap)
    batch = _submit(
        api,
        [
            task(cap, ref="fetch"),
            task(cap, ref="clean", depends_on=["fetch"]),
            task(cap, ref="store", depends_on=["clean"]),
        ],
        uid,
    )
    ids = list(batch["task_ids"])  # type: ignore[call-overload]
    statuses = [x["status"] for x in batch["results"]]  # type: ignore[attr-defined]
    assert statuses == ["PENDING", "BLOCKED", "BLOCKED"]
    previous = None
    for step, task_id in enumerate(ids):
        (t,) = claim(api, agent)
        assert t["task_id"] == task_id
        if previous is not None:
            assert t["dependency_results"] == {previous: {"step": step - 1}}
        complete(api, t, {"step": step})
        previous = task_id
    assert api.get(f"/aitp/tasks/batch/{batch['batch_id']}").json()["status"] == "COMPLETED"


def test_failed_dependency_cancels_its_dependants_transitively(api: httpx.Client, uid: str) -> None:
    cap = f"cap-{uid}"
    agent = register_agent(api, cap)
    batch = _submit(
        api,
        [
            task(cap, ref="a", max_retries=0),
            task(cap, ref="b", depends_on=["a"]),
            task(cap, ref="c", depends_on=["b"]),
        ],
        uid,
    )
    ids = list(batch["task_ids"])  # type: ignore[call-overload]
    (t,) = claim(api, agent)
    fail(api, t, "boom", retryable=False)

    def cancelled() -> bool:
        rows = api.get("/aitp/tasks/batch/status", params={"task_ids": ",".join(ids)}).json()
        return [x["status"] for x in rows["tasks"]] == ["FAILED", "CANCELLED", "CANCELLED"]

    wait_for(cancelled, timeout=5, message="dependants cancelled")
    b = api.get(f"/aitp/tasks/{ids[1]}").json()
    assert ids[0] in b["cancellation_reason"] and "failed" in b["cancellation_reason"]
    c = api.get(f"/aitp/tasks/{ids[2]}").json()
    assert ids[1] in c["cancellation_reason"]
    status = api.get(f"/aitp/tasks/batch/{batch['batch_id']}").json()
    assert status["status"] == "FAILED" and status["completed_at"] is not None
