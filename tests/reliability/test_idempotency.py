"""Idempotent submission and duplicate reports: one task, one result."""

from __future__ import annotations

import httpx

from tests.reliability.helpers import claim, complete, events, fail, get, register, submit


def _body(uid: str, **extra: object) -> dict[str, object]:
    return {
        "client_id": f"c-{uid}",
        "task_type": "idem",
        "capability_required": f"idem-{uid}:v1",
        "input_data": {"x": 1},
        **extra,
    }


def test_same_key_same_body_returns_the_original_task(api: httpx.Client, uid: str) -> None:
    headers = {"Idempotency-Key": f"key-{uid}"}
    first = api.post("/aitp/tasks", json=_body(uid), headers=headers)
    assert first.status_code == 201, first.text
    again = api.post("/aitp/tasks", json=_body(uid), headers=headers)
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["task_id"] == first.json()["task_id"]
    listed = api.get("/aitp/tasks", params={"client_id": f"c-{uid}"}).json()["items"]
    assert len(listed) == 1


def test_same_key_different_body_is_422(api: httpx.Client, uid: str) -> None:
    headers = {"Idempotency-Key": f"key-{uid}"}
    assert api.post("/aitp/tasks", json=_body(uid), headers=headers).status_code == 201
    r = api.post("/aitp/tasks", json=_body(uid, priority=9), headers=headers)
    assert r.status_code == 422, r.text
    other = api.post("/aitp/tasks", json=_body(uid), headers={"Idempotency-Key": f"k2-{uid}"})
    assert other.status_code == 201
    assert len(api.get("/aitp/tasks", params={"client_id": f"c-{uid}"}).json()["items"]) == 2


def test_duplicate_completion_of_the_same_attempt_records_one_result(
    api: httpx.Client, uid: str
) -> None:
    cap = f"dup-{uid}:v1"
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}")["task_id"]
    task = claim(api, agent, task_id)
    first = complete(api, task, {"n": 1})
    second = complete(api, task, {"n": 2})
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["result_data"] == {"n": 1}
    assert fail(api, task).status_code == 409  # a different report of a finished attempt
    final = get(api, task_id)
    assert final["result_data"] == {"n": 1}
    assert len(events(final, "task.completed")) == 1
    assert [a["status"] for a in final["attempts"]] == ["COMPLETED"]


def test_duplicate_reports_in_one_bulk_call(api: httpx.Client, uid: str) -> None:
    cap = f"dupbulk-{uid}:v1"
    agent = register(api, cap)
    task_id = submit(api, cap, f"c-{uid}")["task_id"]
    task = claim(api, agent, task_id)
    report = {
        "task_id": task_id,
        "attempt_id": task["attempt_id"],
        "outcome": "complete",
        "result_data": {"ok": 1},
    }
    r = api.post(f"/aitp/agents/{agent}/reports", json={"reports": [report, report]})
    assert r.status_code == 200, r.text
    assert [x["ok"] for x in r.json()["results"]] == [True, True]
    assert len(events(get(api, task_id), "task.completed")) == 1
