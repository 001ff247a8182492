"""Issue 16: the authorization matrix. Every route of /openapi.json (plus the WebSocket and the
alias routes) × nine principals × the four task visibilities where a route is about a task,
each cell with the status `tests/security/authz_matrix.py` expects; every successful answer is
also searched for client A's tasks the principal may not see (lists, batch status, streams,
analytics, exports, DLQ, webhook logs, schedule executions, templates, trust history).
One server per backend; the cells run in sequence against it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.security.authz_matrix import ROWS, Case, Row
from tests.security.authz_world import PRINCIPALS, SERVER_ENV, VISIBILITIES, Cell, Target, World
from tests.support.server import running_server

# a stream replaying from event 0 is read until it is quiet this long (or for at most 20 s)
QUIET_SECONDS = 0.5
STREAM_LIMIT_SECONDS = 20.0


@pytest.fixture(scope="module")
def world(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_server(backend, tmp_path_factory.mktemp("authz"), **SERVER_ENV) as server:
        world = World(server).setup()
        try:
            yield world
        finally:
            world.close()


@dataclass
class Outcome:
    status: int
    text: str


@dataclass
class Tally:
    cells: int = 0
    failures: list[str] = field(default_factory=list)


# ~1,600 requests and a world of fixtures per backend: minutes on a loaded machine
pytestmark = pytest.mark.timeout(600)


def _read_sse(world: World, url: str, headers: dict[str, str], params: Any) -> Outcome:
    text = ""
    timeout = httpx.Timeout(10, read=QUIET_SECONDS)
    with world.http.stream("GET", url, headers=headers, params=params, timeout=timeout) as r:
        if r.status_code != 200:
            return Outcome(r.status_code, r.read().decode())
        deadline = time.monotonic() + STREAM_LIMIT_SECONDS
        with contextlib.suppress(httpx.ReadTimeout):
            for chunk in r.iter_text():
                text += chunk
                if time.monotonic() > deadline:
                    break
    return Outcome(200, text)


def _read_ws(world: World, path: str, headers: dict[str, str], params: Any) -> Outcome:
    query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
    url = world.server.url.replace("http://", "ws://") + f"{path}?{query}"
    messages: list[str] = []
    try:
        with connect(url, additional_headers=headers, open_timeout=10) as ws:
            deadline = time.monotonic() + STREAM_LIMIT_SECONDS
            with contextlib.suppress(TimeoutError):
                while time.monotonic() < deadline:
                    messages.append(str(ws.recv(timeout=QUIET_SECONDS)))
    except InvalidStatus as exc:
        # refused before the handshake completes; the matrix reads that as 401
        status = exc.response.status_code
        return Outcome(401 if status == 403 else status, "")
    return Outcome(200, "\n".join(messages))


def _ask(world: World, row: Row, case: Case, target: Target, cell: Cell) -> Outcome:
    key = target.agent_key if cell.principal == "assigned_agent" else None
    headers = world.headers(cell.principal, key)
    path = row.path.format(**target.params)
    params = case.query(world, target, cell) if case.query else None
    if case.stream and path.startswith("/ws/"):
        return _read_ws(world, path, headers, params)
    if case.stream:
        return _read_sse(world, path, headers, params)
    body = case.body(world, target, cell) if case.body else None
    r = world.http.request(row.method, path, headers=headers, params=params, json=body)
    return Outcome(r.status_code, r.text)


def _make(world: World, case: Case, visibility: str | None) -> Target:
    if case.on is None:
        return Target()
    maker = getattr(world, case.on)
    return maker(visibility) if case.by_visibility else maker()  # type: ignore[no-any-return]


def _leaks(world: World, cell: Cell, request_text: str, outcome: Outcome) -> list[str]:
    """Client A's tasks the principal may not see, named in an answer that did not get the name
    from the request itself."""
    return [
        marker
        for marker in world.hidden_from(cell.principal)
        if marker in outcome.text and marker not in request_text
    ]


def _run_case(world: World, row: Row, case: Case, tally: Tally) -> None:
    for visibility in VISIBILITIES if case.by_visibility else (None,):
        shared: Target | None = None
        for principal in PRINCIPALS:
            shared = shared or _make(world, case, visibility)
            cell = Cell(principal, visibility, shared.assigned)
            expected = case.expect(cell)
            fresh = case.changes and expected < 300
            target = _make(world, case, visibility) if fresh else shared
            outcome = _ask(world, row, case, target, cell)
            tally.cells += 1
            where = f"{row.method} {row.path} as {principal}" + (
                f" on a {visibility} task" if visibility else ""
            )
            if outcome.status != expected:
                tally.failures.append(
                    f"{where}: expected {expected}, got {outcome.status}: {outcome.text[:200]}"
                )
                continue
            if outcome.status >= 300:
                continue
            leaked = _leaks(world, cell, str(target.params), outcome)
            if leaked:
                tally.failures.append(f"{where}: shows hidden tasks {leaked}")
            if case.check is not None:
                problem = case.check(world, target, cell, _as_response(outcome))
                if problem:
                    tally.failures.append(f"{where}: {problem}")


def _as_response(outcome: Outcome) -> httpx.Response:
    return httpx.Response(outcome.status, text=outcome.text)


def test_every_route_has_rows_in_the_matrix(world: World) -> None:
    spec = world.http.get("/openapi.json").json()
    served = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    rows = {(r.method, r.path) for r in ROWS if r.in_openapi}
    missing = sorted(served - rows)
    assert not missing, (
        f"{len(missing)} route(s) of /openapi.json have no rows in the authorization matrix "
        "(tests/security/authz_matrix.py); add who may call each:\n"
        + "\n".join(f"  {m} {p}" for m, p in missing)
    )
    stale = sorted(rows - served)
    assert not stale, "matrix rows for routes the server no longer has:\n" + "\n".join(
        f"  {m} {p}" for m, p in stale
    )


def test_the_authorization_matrix(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    tally = Tally()
    # the streams last: they replay every event the other rows caused
    ordered = sorted(ROWS, key=lambda r: any(c.stream for c in r.cases))
    for row in ordered:
        for case in row.cases:
            _run_case(world, row, case, tally)
    with capsys.disabled():
        print(
            f"\nauthorization matrix ({world.server.backend}): {tally.cells} cells checked, "
            f"{len(tally.failures)} wrong"
        )
    assert not tally.failures, f"{len(tally.failures)} of {tally.cells} cells wrong:\n" + "\n".join(
        tally.failures
    )


def test_an_agent_cannot_report_on_or_claim_for_another_agent(world: World) -> None:
    held = world.assigned_task("public")
    other = world.ids["other_agent"]
    item = {"task_id": held.params["task_id"], "attempt_id": held.params["attempt_id"],
            "outcome": "complete", "result_data": {"stolen": True}}  # fmt: skip
    # through its own bulk-report endpoint, naming another agent's task
    r = world.call("other_agent", "POST", f"/aitp/agents/{other}/reports", json={"reports": [item]})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [(i["ok"], i["error"]["status"]) for i in results] == [(False, 404)], results
    # claiming in the other agent's name
    mine = world.ids["assigned_agent"]
    r = world.call("other_agent", "POST", f"/aitp/agents/{mine}/claim", json={"max_tasks": 1})
    assert r.status_code == 403, r.text
    task = world.ok("admin", "GET", f"/aitp/tasks/{held.params['task_id']}")
    assert task["status"] == "ASSIGNED" and task["result_data"] is None, task


def test_a_client_named_like_an_agent_cannot_report_on_its_tasks(world: World) -> None:
    """Reports need the agent role, not merely the agent's id as the principal id."""
    held = world.assigned_task("private")
    impostor = world.new_key("client", world.ids["assigned_agent"])
    body = {"attempt_id": held.params["attempt_id"], "result_data": {"forged": True}}
    path = f"/aitp/tasks/{held.params['task_id']}/complete"
    r = world.call("client_a", "POST", path, key=impostor, json=body)
    assert r.status_code in (403, 404), r.text
    task = world.ok("admin", "GET", f"/aitp/tasks/{held.params['task_id']}")
    assert task["status"] == "ASSIGNED" and task["result_data"] is None, task
