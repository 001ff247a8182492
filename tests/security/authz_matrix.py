"""Who may do what, as data: every route of the API (method, OpenAPI path) → the cases it is
asked in → a rule giving the expected status for each principal and, for routes about a task,
each visibility. docs/security.md ("Who may do what") states the same rules in prose.

A rule is a function of the `Cell` (principal, the target task's visibility, whether the task
is assigned to the matrix's agent). The three unauthenticated principals (anonymous, a revoked
key, an expired JWT) get 401 from every rule but `public`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.security.authz_world import DEAD_URL, UNAUTHENTICATED, Cell, Target, World

Rule = Callable[[Cell], int]
Body = Callable[[World, Target, Cell], Any]
Check = Callable[[World, Target, Cell, httpx.Response], str | None]


# --- rules ------------------------------------------------------------------------------------


def public(ok: int) -> Rule:
    """No credentials needed (health checks)."""
    return lambda _cell: ok


def _authenticated(rule: Rule) -> Rule:
    return lambda cell: 401 if cell.principal in UNAUTHENTICATED else rule(cell)


def anyone(ok: int) -> Rule:
    """Any authenticated principal; what it is shown is scoped to what it may see."""
    return _authenticated(lambda _cell: ok)


def admin_only(ok: int) -> Rule:
    return _authenticated(lambda cell: ok if cell.principal == "admin" else 403)


def as_client_a(ok: int) -> Rule:
    """Acting in client A's name (its `client_id`): client A and admins; anyone else 403."""
    return _authenticated(lambda cell: ok if cell.principal in ("admin", "client_a") else 403)


def owner(ok: int, by: str = "client_a") -> Rule:
    """Batches, schedules and webhooks are their owner's (client A's unless `by` says) and
    admins': anyone else is told they do not exist."""
    return _authenticated(lambda cell: ok if cell.principal in ("admin", by) else 404)


def agent_itself(ok: int) -> Rule:
    """The agent's own calls: the agent and admins. Agents are listed to every principal, so
    anyone else is refused (403), not told the agent does not exist."""
    return _authenticated(lambda cell: ok if cell.principal in ("admin", "assigned_agent") else 403)


def task_read(ok: int) -> Rule:
    return _authenticated(lambda cell: ok if cell.sees_task() else 404)


def task_change(ok: int) -> Rule:
    """The submitter and admins change a task; whoever else may see it gets 403, others 404."""

    def rule(cell: Cell) -> int:
        if cell.principal in ("admin", "client_a"):
            return ok
        return 403 if cell.sees_task() else 404

    return _authenticated(rule)


def task_report(ok: int) -> Rule:
    """The agent holding the task (and admins) report on it; a viewer gets 403, others 404."""

    def rule(cell: Cell) -> int:
        if cell.principal == "admin" or (cell.principal == "assigned_agent" and cell.assigned):
            return ok
        return 403 if cell.sees_task() else 404

    return _authenticated(rule)


def depends_on_visible(ok: int) -> Rule:
    """Naming a task one may not see in `depends_on` is refused as naming an unknown one."""
    return _authenticated(lambda cell: ok if cell.sees_task() else 422)


def template_read(ok: int) -> Rule:
    """A template shared with client A's team: its owner, team mates and admins use it."""
    readers = ("admin", "client_a", "team_member")
    return _authenticated(lambda cell: ok if cell.principal in readers else 404)


def template_use(ok: int) -> Rule:
    """Naming a template one may not read is refused as naming an unknown one."""
    readers = ("admin", "client_a", "team_member")
    return _authenticated(lambda cell: ok if cell.principal in readers else 422)


def template_change(ok: int) -> Rule:
    def rule(cell: Cell) -> int:
        if cell.principal in ("admin", "client_a"):
            return ok
        return 403 if cell.principal == "team_member" else 404

    return _authenticated(rule)


def console(rule: Rule) -> Rule:
    """The console (/ui): a browser without its cookie is sent to the sign-in page (303); a
    revoked key or an expired JWT in the Authorization header is a 401 as everywhere."""
    return lambda cell: 303 if cell.principal == "anonymous" else rule(cell)


# --- bodies and content checks ------------------------------------------------------------------


def attempt(_w: World, t: Target, _c: Cell) -> dict[str, Any]:
    return {"attempt_id": t.params["attempt_id"]}


def task_body(w: World, _t: Target, _c: Cell) -> dict[str, Any]:
    return {"task_type": "matrix", "capability_required": w.idle_cap}


def depending_on_target(w: World, t: Target, c: Cell) -> dict[str, Any]:
    return {**task_body(w, t, c), "depends_on": [t.params["task_id"]]}


def taken_task_id(w: World, t: Target, c: Cell) -> dict[str, Any]:
    return {**task_body(w, t, c), "task_id": t.params["task_id"]}


def taken_batch_id(w: World, t: Target, c: Cell) -> dict[str, Any]:
    """Client A's batch id with another body: whoever asks, the same 409."""
    return {"batch_id": t.params["batch_id"], "tasks": [task_body(w, t, c)]}


def taken_schedule_id(w: World, t: Target, c: Cell) -> dict[str, Any]:
    return {**schedule_body(w, t, c), "schedule_id": t.params["schedule_id"]}


def from_template(w: World, t: Target, c: Cell) -> dict[str, Any]:
    return {"template_id": t.params["template_id"], "cron_expression": "0 5 * * *"}


def task_as_client_a(w: World, _t: Target, _c: Cell) -> dict[str, Any]:
    return {**task_body(w, _t, _c), "client_id": w.ids["client_a"]}


def register_body(w: World, _t: Target, cell: Cell) -> dict[str, Any]:
    """The assigned agent re-registers itself; everyone else tries a new agent id (admins
    may, nobody else), other agents included."""
    agent_id = w.ids["assigned_agent"] if cell.principal == "assigned_agent" else None
    return {"agent_id": agent_id, "name": "again", "capabilities": [w.agent_cap]}


def report_body(w: World, t: Target, _c: Cell) -> dict[str, Any]:
    item = {"task_id": t.params["task_id"], "attempt_id": t.params["attempt_id"],
            "outcome": "complete", "result_data": {"ok": True}}  # fmt: skip
    return {"reports": [item]}


def report_outcome(_w: World, _t: Target, cell: Cell, r: httpx.Response) -> str | None:
    """Admins report for the agent; the agent on its own task: each item succeeds."""
    results = r.json()["results"]
    return None if [i["ok"] for i in results] == [True] else f"per-item results {results}"


def found_only_if_visible(_w: World, _t: Target, cell: Cell, r: httpx.Response) -> str | None:
    found = [item["found"] for item in r.json()["tasks"]]
    return None if found == [cell.sees_task()] else f"found={found}, sees={cell.sees_task()}"


def requeued_only_if_changeable(_w: World, t: Target, cell: Cell, r: httpx.Response) -> str | None:
    may = cell.principal in ("admin", "client_a")
    requeued = r.json()["requeued"] == [t.params["task_id"]]
    return None if requeued == may else f"requeued={r.json()}, may change={may}"


def shows_own_tasks(w: World, _t: Target, cell: Cell, r: httpx.Response) -> str | None:
    """Client A is shown its tasks here: the leak search of the others' answers is not vacuous."""
    if cell.principal != "client_a" or any(t in r.text for t in w.tasks):
        return None
    return "client A is shown none of its own tasks"


def a2a_message(w: World, _t: Target, _c: Cell) -> dict[str, Any]:
    """An A2A SendMessage for the idle capability, answered at once (the task stays pending)."""
    message = {"messageId": uuid.uuid4().hex, "role": "ROLE_USER", "parts": [{"text": "m"}]}
    return {
        "message": {**message, "metadata": {"skill": w.idle_cap}},
        "configuration": {"returnImmediately": True},
    }


def a2a_message_without_skill(_w: World, _t: Target, _c: Cell) -> dict[str, Any]:
    """Refused (400) before any stream starts: the matrix reads a status, not a stream."""
    return {"message": {"messageId": uuid.uuid4().hex, "role": "ROLE_USER", "parts": []}}


def jsonrpc_get_target(_w: World, t: Target, _c: Cell) -> dict[str, Any]:
    """A2A 0.3's `tasks/get` (JSON-RPC without an A2A-Version header speaks 0.3)."""
    return {"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": t.params["task_id"]}}


def jsonrpc_found_only_if_visible(
    _w: World, _t: Target, cell: Cell, r: httpx.Response
) -> str | None:
    """JSON-RPC answers 200 either way: the task is in the result only for who may see it."""
    found = "result" in r.json()
    return None if found == cell.sees_task() else f"found={found}, sees={cell.sees_task()}"


def push_config_body(_w: World, _t: Target, _c: Cell) -> dict[str, Any]:
    return {"url": DEAD_URL, "token": "matrix-token"}


def a2a_task_change(ok: int) -> Rule:
    """As `task_change`, but A2A has no "forbidden": a viewer's cancel is an invalid request."""

    def rule(cell: Cell) -> int:
        if cell.principal in ("admin", "client_a"):
            return ok
        return 400 if cell.sees_task() else 404

    return _authenticated(rule)


def delivered(_w: World, _t: Target, _c: Cell, r: httpx.Response) -> str | None:
    """Client B's webhook has been offered events (so the leak search reads payloads)."""
    return None if r.json()["items"] else "client B's webhook has no deliveries"


def ai_task_body(w: World, _t: Target, _c: Cell) -> dict[str, Any]:
    """Seed 004's spelling of `task_body`."""
    return {"agentId": w.idle_cap, "taskType": "matrix", "priority": "HIGH"}


def ai_task_as_client_a(w: World, t: Target, c: Cell) -> dict[str, Any]:
    return {**ai_task_body(w, t, c), "clientId": w.ids["client_a"]}


def ai_depending_on_target(w: World, t: Target, c: Cell) -> dict[str, Any]:
    return {**ai_task_body(w, t, c), "dependsOn": [t.params["task_id"]]}


def replays_all_own_tasks(w: World, _t: Target, cell: Cell, r: httpx.Response) -> str | None:
    """Replayed from event 0, client A's stream names every task of client A's: the leak
    search read the whole history."""
    if cell.principal != "client_a":
        return None
    missing = [t for t in w.tasks if t not in r.text]
    return f"{len(missing)} of client A's tasks missing from its replay" if missing else None


def task_ids(w: World, t: Target, _c: Cell) -> dict[str, str]:
    return {"task_ids": t.params["task_id"]}


def requeue_ids(_w: World, t: Target, _c: Cell) -> dict[str, Any]:
    return {"task_ids": [t.params["task_id"]]}


def nothing_to_purge(w: World, _t: Target, _c: Cell) -> dict[str, str]:
    return {"client_id": f"nobody-{w.uid}"}


def replay_all(_w: World, _t: Target, _c: Cell) -> dict[str, str]:
    return {"after": "0"}


def cron(_w: World, _t: Target, _c: Cell) -> dict[str, str]:
    return {"cron_expression": "*/5 * * * *"}


def schedule_body(w: World, _t: Target, _c: Cell) -> dict[str, Any]:
    return {**task_body(w, _t, _c), "cron_expression": "0 4 * * *"}


def template_body(w: World, _t: Target, _c: Cell) -> dict[str, Any]:
    name = f"m-{uuid.uuid4().hex[:10]}"
    return {"name": name, "task_type": "x", "capability_required": w.idle_cap}


def webhook_body(_w: World, _t: Target, _c: Cell) -> dict[str, Any]:
    return {"url": DEAD_URL, "events": ["task.completed"], "enabled": False}


def key_body(w: World, _t: Target, _c: Cell) -> dict[str, Any]:
    return {"role": "client", "principal_id": f"k-{w.uid}"}


def mcp_call(tool: str, arguments: Body) -> Body:
    """A JSON-RPC `tools/call` of /mcp (stateless: no handshake needed)."""

    def body(w: World, t: Target, c: Cell) -> dict[str, Any]:
        params = {"name": tool, "arguments": arguments(w, t, c)}
        return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}

    return body


def mcp_read(_w: World, t: Target, _c: Cell) -> dict[str, Any]:
    uri = f"ains://tasks/{t.params['task_id']}/result"
    return {"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": uri}}


def on_target(_w: World, t: Target, _c: Cell) -> dict[str, Any]:
    return {"task_id": t.params["task_id"]}


def mcp_as(rule: Rule) -> Check:
    """/mcp answers 200 with a tool error carrying REST's status: the status REST would have
    given is the rule's (200 standing for its success)."""

    def check(_w: World, _t: Target, cell: Cell, r: httpx.Response) -> str | None:
        result = r.json()["result"]
        got = json.loads(result["content"][0]["text"])["status"] if result["isError"] else 200
        expected = rule(cell)
        return None if got == expected else f"tool as REST {got}, expected {expected}"

    return check


def mcp_found_only_if_visible(_w: World, _t: Target, cell: Cell, r: httpx.Response) -> str | None:
    """resources/read: the task's result, or the protocol's "resource not found"."""
    found = "result" in r.json()
    return None if found == cell.sees_task() else f"found={found}, sees={cell.sees_task()}"


GRAPHQL_TASK = "query($id: ID!) { task(id: $id) { taskId status } }"
GRAPHQL_TASKS = "{ tasks(first: 500) { edges { node { taskId taskType batchId } } } }"
GRAPHQL_CANCEL = "mutation($id: ID!) { cancelTask(id: $id) { taskId status } }"


def graphql_task(_w: World, t: Target, _c: Cell) -> dict[str, Any]:
    return {"query": GRAPHQL_TASK, "variables": {"id": t.params["task_id"]}}


def graphql_task_by_get(_w: World, t: Target, _c: Cell) -> dict[str, str]:
    return {"query": GRAPHQL_TASK, "variables": json.dumps({"id": t.params["task_id"]})}


def graphql_cancel(_w: World, t: Target, _c: Cell) -> dict[str, Any]:
    return {"query": GRAPHQL_CANCEL, "variables": {"id": t.params["task_id"]}}


def graphql_status(body: dict[str, Any], field: str) -> int:
    """GraphQL answers 200; what REST would have answered is the error's `status`."""
    if body.get("data") and body["data"].get(field) is not None:
        return 200
    return int(body["errors"][0]["extensions"]["status"])


def graphql_as_task_read(_w: World, _t: Target, cell: Cell, r: httpx.Response) -> str | None:
    """`task(id)` is the task or null + NOT_FOUND, as GET /aitp/tasks/{id} is 200 or 404."""
    got, expected = graphql_status(r.json(), "task"), task_read(200)(cell)
    return None if got == expected else f"task(id) as REST {got}, expected {expected}"


def graphql_as_task_change(_w: World, _t: Target, cell: Cell, r: httpx.Response) -> str | None:
    got, expected = graphql_status(r.json(), "cancelTask"), task_change(200)(cell)
    return None if got == expected else f"cancelTask as REST {got}, expected {expected}"


# --- the matrix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One way a route is asked: on what target (`World` maker name; None: no target), with
    which rule; `by_visibility` asks once per task visibility; `changes` marks a call that
    changes its target, which then gets a fresh one for every cell expected to succeed."""

    expect: Rule
    on: str | None = None
    by_visibility: bool = False
    changes: bool = False
    body: Body | None = None
    query: Body | None = None
    check: Check | None = None
    stream: bool = False


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    cases: tuple[Case, ...]
    in_openapi: bool = True  # WebSocket routes and /metrics are not in /openapi.json


def row(method: str, path: str, *cases: Case, in_openapi: bool = True) -> Row:
    return Row(method, path, cases, in_openapi)


PENDING, ASSIGNED, FAILED = "pending_task", "assigned_task", "failed_task"
ANALYTICS_CASES = {
    "export": tuple(
        Case(anyone(200), query=lambda *_, r=report, f=fmt: {"report": r, "format": f})
        for report in ("summary", "agents", "tasks", "trends")
        for fmt in ("csv", "json")
    )
}

ROWS: tuple[Row, ...] = (
    row("GET", "/health", Case(public(200))),
    row("GET", "/ready", Case(public(200))),
    # decided by the caller's network or AINS_METRICS_TOKEN, not by principal: loopback scrapes
    row("GET", "/metrics", Case(public(200)), in_openapi=False),
    # --- tasks, client side
    row("POST", "/aitp/tasks", Case(anyone(201), body=task_body),
        Case(as_client_a(201), body=task_as_client_a),
        Case(depends_on_visible(201), on=PENDING, by_visibility=True, body=depending_on_target),
        Case(anyone(409), on=PENDING, body=taken_task_id)),
    row("GET", "/aitp/tasks", Case(anyone(200), check=shows_own_tasks)),
    row("GET", "/aitp/tasks/{task_id}", Case(task_read(200), on=PENDING, by_visibility=True),
        Case(task_read(200), on=ASSIGNED, by_visibility=True),
        Case(task_read(200), on=FAILED, by_visibility=True)),
    row("GET", "/aitp/tasks/{task_id}/result",
        Case(task_read(200), on=ASSIGNED, by_visibility=True)),
    row("GET", "/aitp/tasks/{task_id}/routing",
        Case(task_read(200), on=PENDING, by_visibility=True),
        Case(task_read(200), on=ASSIGNED, by_visibility=True)),
    row("DELETE", "/aitp/tasks/{task_id}",
        Case(task_change(200), on=PENDING, by_visibility=True, changes=True),
        Case(task_change(200), on=ASSIGNED, by_visibility=True, changes=True)),
    row("POST", "/aitp/tasks/{task_id}/retry",
        Case(task_change(200), on=FAILED, by_visibility=True, changes=True)),
    row("PUT", "/aitp/tasks/{task_id}/priority",
        Case(task_change(200), on=PENDING, by_visibility=True, changes=True,
             body=lambda *_: {"priority": 9})),
    row("PUT", "/aitp/tasks/{task_id}/timeout",
        Case(task_change(200), on=PENDING, by_visibility=True, changes=True,
             body=lambda *_: {"timeout_seconds": 600})),
    # --- the A2A front door (ains/a2a, docs/a2a.md)
    row("GET", "/.well-known/agent-card.json", Case(anyone(200))),
    row("GET", "/a2a/agents/{agent_id}/agent-card.json", Case(anyone(200), on="own_agent")),
    row("POST", "/a2a/jsonrpc",
        Case(anyone(200), on=PENDING, by_visibility=True, body=jsonrpc_get_target,
             check=jsonrpc_found_only_if_visible)),
    row("POST", "/a2a/rest/message:send", Case(anyone(200), body=a2a_message)),
    row("POST", "/a2a/rest/message:stream", Case(anyone(400), body=a2a_message_without_skill)),
    row("GET", "/a2a/rest/tasks", Case(anyone(200), check=shows_own_tasks)),
    row("GET", "/a2a/rest/tasks/{task_id}", Case(task_read(200), on=PENDING, by_visibility=True),
        Case(task_read(200), on=FAILED, by_visibility=True)),
    row("POST", "/a2a/rest/tasks/{task_id}:cancel",
        Case(a2a_task_change(200), on=PENDING, by_visibility=True, changes=True)),
    row("GET", "/a2a/rest/tasks/{task_id}:subscribe",
        Case(task_read(200), on=PENDING, by_visibility=True, stream=True)),
    row("POST", "/a2a/rest/tasks/{task_id}:subscribe",
        Case(task_read(200), on=FAILED, by_visibility=True)),
    row("POST", "/a2a/rest/tasks/{task_id}/pushNotificationConfigs",
        Case(task_read(200), on=PENDING, by_visibility=True, body=push_config_body)),
    row("GET", "/a2a/rest/tasks/{task_id}/pushNotificationConfigs",
        Case(task_read(200), on=PENDING, by_visibility=True)),
    # a push config is its creator's (and admins'): whoever else sees the task is told the
    # config does not exist
    row("GET", "/a2a/rest/tasks/{task_id}/pushNotificationConfigs/{push_id}",
        Case(owner(200), on="pushed_task", by_visibility=True)),
    row("DELETE", "/a2a/rest/tasks/{task_id}/pushNotificationConfigs/{push_id}",
        Case(owner(200), on="pushed_task", by_visibility=True, changes=True)),
    row("GET", "/a2a/rest/extendedAgentCard", Case(anyone(200))),
    # --- tasks, agent side
    row("POST", "/aitp/agents/{agent_id}/claim",
        Case(agent_itself(200), on="own_agent", body=lambda *_: {"max_tasks": 5})),
    row("POST", "/aitp/agents/{agent_id}/reports",
        Case(agent_itself(200), on=ASSIGNED, changes=True, body=report_body,
             check=report_outcome)),
    row("POST", "/aitp/tasks/{task_id}/start",
        Case(task_report(200), on=ASSIGNED, by_visibility=True, changes=True, body=attempt)),
    row("POST", "/aitp/tasks/{task_id}/heartbeat",
        Case(task_report(200), on=ASSIGNED, by_visibility=True, changes=True, body=attempt)),
    row("POST", "/aitp/tasks/{task_id}/complete",
        Case(task_report(200), on=ASSIGNED, by_visibility=True, changes=True, body=attempt)),
    row("POST", "/aitp/tasks/{task_id}/fail",
        Case(task_report(200), on=ASSIGNED, by_visibility=True, changes=True,
             body=lambda w, t, c: {**attempt(w, t, c), "error": "no"})),
    # --- seed 004's API over the same services (ains/compat/seed004.py)
    row("GET", "/api/ai/tasks/health", Case(public(200))),
    row("POST", "/api/ai/tasks", Case(anyone(201), body=ai_task_body),
        Case(as_client_a(201), body=ai_task_as_client_a),
        Case(depends_on_visible(201), on=PENDING, by_visibility=True,
             body=ai_depending_on_target)),
    row("GET", "/api/ai/tasks", Case(anyone(200), check=shows_own_tasks)),
    row("GET", "/api/ai/tasks/{task_id}", Case(task_read(200), on=PENDING, by_visibility=True),
        Case(task_read(200), on=FAILED, by_visibility=True)),
    row("PUT", "/api/ai/tasks/{task_id}/cancel",
        Case(task_change(200), on=PENDING, by_visibility=True, changes=True)),
    row("GET", "/api/ai/tasks/{task_id}/retry",
        Case(task_change(200), on=FAILED, by_visibility=True, changes=True)),
    row("GET", "/api/ai/tasks/queue/status", Case(anyone(200))),
    row("POST", "/api/ai/tasks/batch",
        Case(anyone(201), body=lambda w, t, c: {"tasks": [ai_task_body(w, t, c)]}),
        Case(depends_on_visible(201), on=PENDING, by_visibility=True,
             body=lambda w, t, c: {"tasks": [ai_depending_on_target(w, t, c)]})),
    row("GET", "/api/ai/tasks/statistics/summary", Case(anyone(200))),
    row("POST", "/api/ai/tasks/cleanup/old",
        Case(admin_only(200), body=lambda *_: {"dryRun": True})),
    row("POST", "/api/ai/tasks/cleanup/timeout-stale", Case(admin_only(200))),
    # --- batches
    row("POST", "/aitp/tasks/batch",
        Case(anyone(201), body=lambda w, t, c: {"tasks": [task_body(w, t, c)]}),
        Case(depends_on_visible(201), on=PENDING, by_visibility=True,
             body=lambda w, t, c: {"tasks": [depending_on_target(w, t, c)]}),
        Case(anyone(409), on="batch", body=taken_batch_id)),
    row("GET", "/aitp/tasks/batch/status",
        Case(anyone(200), on=ASSIGNED, by_visibility=True, query=task_ids,
             check=found_only_if_visible)),
    row("GET", "/aitp/tasks/batch/{batch_id}", Case(owner(200), on="batch", by_visibility=True)),
    row("GET", "/aitp/tasks/batch/{batch_id}/results",
        Case(owner(200), on="batch", by_visibility=True)),
    row("DELETE", "/aitp/tasks/batch/{batch_id}",
        Case(owner(200), on="batch", by_visibility=True, changes=True)),
    # --- dead-letter queue
    row("GET", "/aitp/dlq", Case(anyone(200), check=shows_own_tasks)),
    row("DELETE", "/aitp/dlq", Case(admin_only(200), query=nothing_to_purge)),
    row("POST", "/aitp/dlq/requeue",
        Case(anyone(200), on=FAILED, by_visibility=True, changes=True, body=requeue_ids,
             check=requeued_only_if_changeable)),
    row("POST", "/aitp/dlq/{task_id}/requeue",
        Case(task_change(200), on=FAILED, by_visibility=True, changes=True)),
    # --- queue, streams, analytics
    row("GET", "/aitp/queue/stats", Case(anyone(200))),
    # --- MCP (ains/mcp, docs/mcp.md): 200 to any authenticated caller; REST's verdict is in
    # the tool error (or, reading a resource, the JSON-RPC error)
    row("POST", "/mcp",
        Case(anyone(200), on=PENDING, by_visibility=True, body=mcp_call("get_task", on_target),
             check=mcp_as(task_read(200))),
        Case(anyone(200), on=PENDING, by_visibility=True, changes=True,
             body=mcp_call("cancel_task", on_target), check=mcp_as(task_change(200))),
        Case(anyone(200), body=mcp_call("submit_task", task_as_client_a),
             check=mcp_as(as_client_a(200))),
        Case(anyone(200), body=mcp_call("list_tasks", lambda *_: {"limit": 500}),
             check=shows_own_tasks),
        Case(anyone(200), on=FAILED, by_visibility=True, body=mcp_read,
             check=mcp_found_only_if_visible),
        in_openapi=False),
    # --- GraphQL: 200 to any authenticated caller; REST's verdict is in the errors
    row("POST", "/graphql",
        Case(anyone(200), on=PENDING, by_visibility=True, body=graphql_task,
             check=graphql_as_task_read),
        Case(anyone(200), body=lambda *_: {"query": GRAPHQL_TASKS}, check=shows_own_tasks),
        Case(anyone(200), on=PENDING, by_visibility=True, changes=True, body=graphql_cancel,
             check=graphql_as_task_change)),
    row("GET", "/graphql", Case(public(200)),  # GraphiQL's page; its requests authenticate
        Case(anyone(200), on=ASSIGNED, by_visibility=True, query=graphql_task_by_get,
             check=graphql_as_task_read)),
    row("GET", "/graphql/static/{name}", Case(public(200), on="graphiql_asset"),
        in_openapi=False),
    row("GET", "/aitp/events",
        Case(anyone(200), query=replay_all, stream=True, check=replays_all_own_tasks)),
    row("GET", "/ws/tasks",
        Case(anyone(200), query=replay_all, stream=True, check=replays_all_own_tasks),
        in_openapi=False),
    row("GET", "/ws/ai-tasks",
        Case(anyone(200), query=replay_all, stream=True, check=replays_all_own_tasks),
        in_openapi=False),
    *(
        row("GET", f"{prefix}/analytics/{report}",
            *ANALYTICS_CASES.get(report, (Case(anyone(200)),)))
        for prefix in ("/aitp", "/ains")
        for report in ("summary", "agents", "tasks", "trends", "export")
    ),
    # --- agents
    row("POST", "/ains/agents", Case(_authenticated(
        lambda c: 201 if c.principal in ("admin", "assigned_agent") else 403), body=register_body)),
    row("GET", "/ains/agents", Case(anyone(200))),
    row("GET", "/ains/agents/{agent_id}", Case(anyone(200), on="own_agent")),
    row("GET", "/ains/agents/{agent_id}/trust", Case(anyone(200), on="own_agent")),
    row("PATCH", "/ains/agents/{agent_id}",
        Case(admin_only(200), on="own_agent", body=lambda *_: {"reason": "matrix"})),
    row("DELETE", "/ains/agents/{agent_id}",
        Case(agent_itself(204), on="fresh_agent", changes=True)),
    row("POST", "/ains/agents/{agent_id}/heartbeat", Case(agent_itself(200), on="own_agent")),
    # --- keys and audit
    row("POST", "/ains/keys", Case(admin_only(201), body=key_body)),
    row("GET", "/ains/keys", Case(admin_only(200))),
    row("DELETE", "/ains/keys/{key_id}", Case(admin_only(204), on="key", changes=True)),
    row("GET", "/ains/audit", Case(admin_only(200))),
    # --- maintenance (a dry run: the matrix's world must stay as it is)
    row("POST", "/ains/admin/cleanup", Case(admin_only(200), body=lambda *_: {"dry_run": True})),
    row("POST", "/ains/admin/sweep-stale", Case(admin_only(200))),
    row("GET", "/ains/admin/stats", Case(admin_only(200))),
    # --- schedules
    row("POST", "/aitp/tasks/schedule", Case(anyone(201), body=schedule_body),
        Case(anyone(409), on="schedule", body=taken_schedule_id),
        Case(template_use(201), on="template", body=from_template)),
    row("GET", "/aitp/tasks/schedule", Case(anyone(200))),
    row("GET", "/aitp/tasks/schedule/preview", Case(anyone(200), query=cron)),
    row("GET", "/aitp/tasks/schedule/{schedule_id}", Case(owner(200), on="schedule")),
    row("PUT", "/aitp/tasks/schedule/{schedule_id}",
        Case(owner(200), on="schedule", body=lambda *_: {"description": "matrix"})),
    row("DELETE", "/aitp/tasks/schedule/{schedule_id}",
        Case(owner(204), on="schedule", changes=True)),
    row("GET", "/aitp/tasks/schedule/{schedule_id}/executions", Case(owner(200), on="schedule")),
    row("GET", "/aitp/tasks/schedule/{schedule_id}/preview", Case(owner(200), on="schedule")),
    row("POST", "/aitp/tasks/schedule/{schedule_id}/execute", Case(owner(201), on="schedule")),
    row("POST", "/aitp/tasks/schedule/{schedule_id}/pause",
        Case(owner(200), on="schedule", changes=True)),
    row("POST", "/aitp/tasks/schedule/{schedule_id}/resume",
        Case(owner(200), on="schedule", changes=True)),
    # --- templates
    row("POST", "/aitp/templates", Case(anyone(201), body=template_body)),
    row("GET", "/aitp/templates", Case(anyone(200))),
    row("GET", "/aitp/templates/{template_id}", Case(template_read(200), on="template")),
    row("PUT", "/aitp/templates/{template_id}",
        Case(template_change(200), on="template", body=lambda *_: {"priority": 4})),
    row("PATCH", "/aitp/templates/{template_id}",
        Case(template_change(200), on="template", body=lambda *_: {"priority": 3})),
    row("DELETE", "/aitp/templates/{template_id}",
        Case(template_change(204), on="template", changes=True)),
    row("POST", "/aitp/templates/{template_id}/tasks",
        Case(template_read(201), on="template", body=lambda *_: {})),
    # --- webhooks (and the seed's /ains/webhooks aliases)
    *(
        r
        for prefix in ("/aitp", "/ains")
        for r in (
            row("POST", f"{prefix}/webhooks", Case(anyone(201), body=webhook_body)),
            row("GET", f"{prefix}/webhooks", Case(anyone(200))),
            row("GET", f"{prefix}/webhooks/{{webhook_id}}", Case(owner(200), on="webhook")),
            row("PUT", f"{prefix}/webhooks/{{webhook_id}}",
                Case(owner(200), on="webhook", body=lambda *_: {"description": "matrix"})),
            row("PATCH", f"{prefix}/webhooks/{{webhook_id}}",
                Case(owner(200), on="webhook", body=lambda *_: {"description": "m"})),
            row("DELETE", f"{prefix}/webhooks/{{webhook_id}}",
                Case(owner(204), on="webhook", changes=True)),
            row("GET", f"{prefix}/webhooks/{{webhook_id}}/deliveries",
                Case(owner(200), on="webhook"),
                Case(owner(200, by="client_b"), on="webhook_of_b", check=delivered)),
            row("GET", f"{prefix}/webhooks/{{webhook_id}}/logs", Case(owner(200), on="webhook")),
            row("POST", f"{prefix}/webhooks/{{webhook_id}}/enable",
                Case(owner(200), on="webhook", changes=True)),
            row("POST", f"{prefix}/webhooks/{{webhook_id}}/test", Case(owner(200), on="webhook")),
        )
    ),
    # --- the operator console (HTML, not in /openapi.json; the Authorization header works as
    # well as its sign-in cookie, and needs no CSRF token)
    row("GET", "/ui/login", Case(public(200)), in_openapi=False),
    row("POST", "/ui/login", Case(public(422)), in_openapi=False),
    row("POST", "/ui/logout", Case(console(anyone(303))), in_openapi=False),
    *(
        row("GET", path, Case(console(anyone(200))), in_openapi=False)
        for path in ("/ui", "/ui/overview/cards", "/ui/agents", "/ui/dlq", "/ui/schedules",
                     "/ui/webhooks", "/ui/analytics")
    ),
    row("GET", "/ui/tasks", Case(console(anyone(200)), check=shows_own_tasks), in_openapi=False),
    row("GET", "/ui/tasks/rows", Case(console(anyone(200)), check=shows_own_tasks),
        in_openapi=False),
    row("GET", "/ui/analytics/export",
        Case(console(anyone(200)), query=lambda *_: {"report": "tasks", "format": "csv"}),
        in_openapi=False),
    row("GET", "/ui/events", Case(console(anyone(200)), stream=True), in_openapi=False),
    row("GET", "/ui/tasks/{task_id}",
        Case(console(task_read(200)), on=PENDING, by_visibility=True),
        Case(console(task_read(200)), on=FAILED, by_visibility=True), in_openapi=False),
    row("GET", "/ui/tasks/{task_id}/panel",
        Case(console(task_read(200)), on=ASSIGNED, by_visibility=True), in_openapi=False),
    row("POST", "/ui/tasks/bulk",
        Case(console(anyone(200)), body=lambda *_: {"action": "cancel"}), in_openapi=False),
    row("POST", "/ui/tasks/{task_id}/cancel",
        Case(console(task_change(200)), on=PENDING, by_visibility=True, changes=True),
        in_openapi=False),
    row("POST", "/ui/tasks/{task_id}/retry",
        Case(console(task_change(200)), on=FAILED, by_visibility=True, changes=True),
        in_openapi=False),
    row("POST", "/ui/tasks/{task_id}/priority",
        Case(console(task_change(200)), on=PENDING, by_visibility=True, changes=True,
             body=lambda *_: {"priority": 9}), in_openapi=False),
    row("POST", "/ui/tasks/{task_id}/timeout",
        Case(console(task_change(200)), on=PENDING, by_visibility=True, changes=True,
             body=lambda *_: {"timeout_seconds": 600}), in_openapi=False),
    row("POST", "/ui/dlq/{task_id}/requeue",
        Case(console(task_change(200)), on=FAILED, by_visibility=True, changes=True),
        in_openapi=False),
    row("POST", "/ui/agents/{agent_id}/quarantine",
        Case(console(admin_only(200)), on="fresh_agent", changes=True), in_openapi=False),
    row("POST", "/ui/agents/{agent_id}/release",
        Case(console(admin_only(200)), on="fresh_agent", changes=True), in_openapi=False),
    row("GET", "/ui/schedules/{schedule_id}", Case(console(owner(200)), on="schedule"),
        in_openapi=False),
    *(
        row("POST", f"/ui/schedules/{{schedule_id}}/{verb}",
            Case(console(owner(200)), on="schedule", changes=True), in_openapi=False)
        for verb in ("pause", "resume", "run")
    ),
    row("GET", "/ui/webhooks/{webhook_id}", Case(console(owner(200)), on="webhook"),
        in_openapi=False),
    row("POST", "/ui/webhooks/{webhook_id}/test", Case(console(owner(200)), on="webhook"),
        in_openapi=False),
    row("POST", "/ui/webhooks/{webhook_id}/enable",
        Case(console(owner(200)), on="webhook", changes=True), in_openapi=False),
    row("GET", "/ui/keys", Case(console(admin_only(200))), in_openapi=False),
    row("POST", "/ui/keys/{key_id}/revoke",
        Case(console(admin_only(200)), on="key", changes=True), in_openapi=False),
)  # fmt: skip
