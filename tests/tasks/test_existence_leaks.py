"""Outsiders do not learn that a task exists: an agent reporting on a task it never held gets
the 404 an unknown task gets, while the task's own agents still get 409 for a stale report;
a chosen task_id that is taken answers the same 409, whoever holds it. Both databases."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.flows import claim, register_agent, submit
from tests.support.server import ServerProcess

CALLS = [
    ("start", {}),
    ("heartbeat", {"progress": {"done": 1}}),
    ("complete", {"result_data": {"x": 1}}),
    ("fail", {"error": "no"}),
]


def _report_everything(agent: httpx.Client, task_id: str, attempt_id: str) -> list[int]:
    codes = [
        agent.post(
            f"/aitp/tasks/{task_id}/{call}", json={"attempt_id": attempt_id, **body}
        ).status_code
        for call, body in CALLS
    ]
    return codes


def _bulk(agent: httpx.Client, agent_id: str, task_id: str, attempt_id: str) -> Any:
    r = agent.post(
        f"/aitp/agents/{agent_id}/reports",
        json={"reports": [{"task_id": task_id, "attempt_id": attempt_id, "outcome": "fail"}]},
    )
    assert r.status_code == 200, r.text
    return r.json()["results"][0]


def test_an_agent_reporting_on_a_task_it_never_held_gets_404(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    cap = f"leak-{uid}"
    holder = register_agent(api, cap)
    outsider = register_agent(api, f"other-{uid}")
    task = submit(
        api,
        cap,
        client_id=f"c-{uid}",
        retry_policy={"strategy": "fixed", "base_delay_seconds": 60, "max_delay_seconds": 60},
    )
    [claimed] = claim(api, holder["agent_id"], wait=5)
    attempt = claimed["attempt_id"]
    with server.client(outsider["api_key"]) as out:
        assert _report_everything(out, task["task_id"], attempt) == [404] * 4
        unknown = _report_everything(out, f"task_missing_{uid}", attempt)
        assert unknown == [404] * 4
        bulk = _bulk(out, outsider["agent_id"], task["task_id"], attempt)
        assert bulk["ok"] is False and bulk["error"]["status"] == 404
    with server.client(holder["api_key"]) as own:
        r = own.post(
            f"/aitp/tasks/{task['task_id']}/fail", json={"attempt_id": attempt, "error": "e"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "RETRY_SCHEDULED"
        # the task's own (earlier) agent reporting late: a conflict, as before
        assert (
            own.post(
                f"/aitp/tasks/{task['task_id']}/start", json={"attempt_id": attempt}
            ).status_code
            == 409
        )
        bulk = _bulk(own, holder["agent_id"], task["task_id"], "attempt_stale")
        assert bulk["ok"] is False and bulk["error"]["status"] == 409


def test_a_taken_task_id_answers_the_same_whoever_holds_it(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    keys = {}
    for who in ("alice", "bob"):
        r = api.post("/ains/keys", json={"role": "client", "principal_id": f"{who}-{uid}"})
        assert r.status_code == 201, r.text
        keys[who] = r.json()["api_key"]
    body = {"task_type": "t", "capability_required": f"cap-{uid}", "input_data": {"s": 1}}
    with server.client(keys["alice"]) as alice, server.client(keys["bob"]) as bob:
        first = alice.post("/aitp/tasks", json={**body, "task_id": f"task_mine_{uid}"})
        assert first.status_code == 201, first.text
        own = alice.post("/aitp/tasks", json={**body, "task_id": f"task_mine_{uid}"})
        foreign = bob.post("/aitp/tasks", json={**body, "task_id": f"task_mine_{uid}"})
        assert bob.get(f"/aitp/tasks/task_mine_{uid}").status_code == 404
    assert own.status_code == foreign.status_code == 409
    assert own.json() == foreign.json()
    assert f"alice-{uid}" not in foreign.text
