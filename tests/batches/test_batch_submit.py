"""POST /aitp/tasks/batch: size limit, atomic, fail-fast, partial, idempotent batch ids."""

from __future__ import annotations

import httpx

from tests.batches.helpers import task


def test_batch_of_100_tasks_is_created_in_one_request(api: httpx.Client, uid: str) -> None:
    body = {
        "client_id": f"c-{uid}",
        "tasks": [task(f"cap-{uid}", priority=i % 10 + 1) for i in range(100)],
    }
    r = api.post("/aitp/tasks/batch", json=body)
    assert r.status_code == 201, r.text
    batch = r.json()
    assert batch["created"] == 100 and batch["failed"] == 0
    assert [x["index"] for x in batch["results"]] == list(range(100))
    listed = api.get("/aitp/tasks", params={"batch_id": batch["batch_id"], "limit": 200}).json()
    assert len(listed["items"]) == 100
    assert {t["client_id"] for t in listed["items"]} == {f"c-{uid}"}


def test_batch_over_the_limit_is_refused_naming_it(api: httpx.Client, uid: str) -> None:
    r = api.post("/aitp/tasks/batch", json={"tasks": [task(f"cap-{uid}")] * 101})
    assert r.status_code == 422
    assert "100" in r.json()["detail"] and "max_batch_size" in r.json()["detail"]


def test_atomic_batch_with_one_invalid_task_creates_nothing(api: httpx.Client, uid: str) -> None:
    tasks = [task(f"cap-{uid}") for _ in range(5)]
    tasks[3]["priority"] = 11
    body = {
        "batch_id": f"b-{uid}",
        "client_id": f"c-{uid}",
        "tasks": tasks,
        "batch_options": {"atomic": True},
    }
    r = api.post("/aitp/tasks/batch", json=body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert [e["field"] for e in problem["errors"]] == ["tasks[3].priority"]
    assert [x["ok"] for x in problem["results"]] == [True, True, True, False, True]
    assert api.get("/aitp/tasks", params={"client_id": f"c-{uid}"}).json()["items"] == []
    assert api.get(f"/aitp/tasks/batch/b-{uid}").status_code == 404


def test_fail_fast_stops_at_the_first_invalid_task(api: httpx.Client, uid: str) -> None:
    tasks = [task(f"cap-{uid}") for _ in range(5)]
    del tasks[2]["capability_required"]
    body = {"client_id": f"c-{uid}", "tasks": tasks, "batch_options": {"fail_fast": True}}
    r = api.post("/aitp/tasks/batch", json=body)
    assert r.status_code == 201, r.text
    results = r.json()["results"]
    assert [x["ok"] for x in results] == [True, True, False, False, False]
    assert "capability_required" in results[2]["error"]
    assert "fail_fast" in results[3]["error"]
    assert len(api.get("/aitp/tasks", params={"client_id": f"c-{uid}"}).json()["items"]) == 2


def test_partial_batch_creates_valid_tasks_and_reports_each_error(
    api: httpx.Client, uid: str
) -> None:
    tasks = [task(f"cap-{uid}") for _ in range(4)]
    tasks[1]["priority"] = 0
    tasks[3]["depends_on"] = [f"missing-{uid}"]
    r = api.post("/aitp/tasks/batch", json={"clientid": f"c-{uid}", "tasks": tasks})
    assert r.status_code == 201, r.text
    batch = r.json()
    assert batch["created"] == 2 and batch["failed"] == 2
    by_index = {x["index"]: x for x in batch["results"]}
    assert by_index[0]["task_id"] and by_index[2]["task_id"]
    assert by_index[1]["errors"][0]["field"] == "tasks[1].priority"
    assert by_index[3]["errors"][0]["field"] == "tasks[3].depends_on[0]"
    assert "unknown task" in by_index[3]["error"]


def test_repeated_batch_id_returns_the_same_batch(api: httpx.Client, uid: str) -> None:
    body = {"batch_id": f"b-{uid}", "tasks": [task(f"cap-{uid}"), task(f"cap-{uid}")]}
    first = api.post("/aitp/tasks/batch", json=body)
    again = api.post("/aitp/tasks/batch", json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["task_ids"] == first.json()["task_ids"]
    assert len(api.get("/aitp/tasks", params={"batch_id": f"b-{uid}"}).json()["items"]) == 2
    other = api.post("/aitp/tasks/batch", json={**body, "tasks": [task(f"cap-{uid}")]})
    assert other.status_code == 409


def test_cycle_inside_a_batch_is_refused(api: httpx.Client, uid: str) -> None:
    tasks = [
        task(f"cap-{uid}", ref="a", depends_on=["c"]),
        task(f"cap-{uid}", ref="b", depends_on=["a"]),
        task(f"cap-{uid}", ref="c", depends_on=["b"]),
    ]
    r = api.post("/aitp/tasks/batch", json={"client_id": f"c-{uid}", "tasks": tasks})
    assert r.status_code == 422
    assert "cycle" in r.json()["detail"]
    assert api.get("/aitp/tasks", params={"client_id": f"c-{uid}"}).json()["items"] == []


def test_unknown_dependency_is_refused(api: httpx.Client, uid: str) -> None:
    r = api.post("/aitp/tasks", json={**task(f"cap-{uid}"), "depends_on": [f"nope-{uid}"]})
    assert r.status_code == 422
    r = api.post(
        "/aitp/tasks/batch", json={"tasks": [task(f"cap-{uid}", depends_on=[f"nope-{uid}"])]}
    )
    assert r.status_code == 422
