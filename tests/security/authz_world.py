"""The cast and the props of the authorization matrix: the nine principals, their credentials,
and the resources (tasks of each visibility, batches, schedules, templates, webhooks, agents,
keys) the matrix's requests aim at. Everything here goes through the HTTP API of a real server."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt

from tests.support.server import ServerProcess

JWT_SECRET = "matrix-jwt-secret-0123456789abcdef"
SERVER_ENV = {
    "AINS_JWT_SECRET": JWT_SECRET,
    # revoked keys and expired tokens are asked hundreds of times: 401, never the 429 of a flood
    "AINS_AUTH_FAILURE_LIMIT": "1000000",
    # the assigned agent keeps its tasks however long the matrix takes
    "AINS_AGENT_OFFLINE_AFTER": "3600",
    "AINS_LEASE_SECONDS": "3600",
    # the matrix fails many of the assigned agent's tasks on purpose: never quarantine it
    # (a quarantined agent gets one canary at a time and the matrix's claims would starve)
    "AINS_TRUST_QUARANTINE_BELOW": "0",
    "AINS_WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1"]',
}

PRINCIPALS = (
    "anonymous",
    "client_a",
    "client_b",
    "team_member",
    "assigned_agent",
    "other_agent",
    "admin",
    "revoked_key",
    "expired_jwt",
)
UNAUTHENTICATED = frozenset({"anonymous", "revoked_key", "expired_jwt"})
VISIBILITIES = ("private", "team", "public", "allowed_viewers")
# a webhook destination nothing listens on: deliveries fail and are logged
DEAD_URL = "http://127.0.0.1:9/hook"


@dataclass(frozen=True)
class Cell:
    """One principal asking about one resource; `visibility` and `assigned` describe the target
    task (None/False for routes that are not about a task)."""

    principal: str
    visibility: str | None = None
    assigned: bool = False

    def sees_task(self) -> bool:
        """SPEC §3: submitter, assignee, admins; team mates for `team`; everyone for
        `public`; the named viewers for `allowed_viewers` (client B here)."""
        if self.principal in ("admin", "client_a"):
            return True
        if self.principal == "assigned_agent" and self.assigned:
            return True
        return {
            "team": self.principal == "team_member",
            "public": True,
            "allowed_viewers": self.principal == "client_b",
        }.get(self.visibility or "private", False)


@dataclass
class Target:
    """What fills a route's path and body: ids, and the key of the agent the target belongs
    to when that is not the world's assigned agent."""

    params: dict[str, str] = field(default_factory=dict)
    visibility: str | None = None
    assigned: bool = False
    agent_key: str | None = None


@dataclass
class KnownTask:
    markers: list[str]  # its id, its (unique) task type, its batch id
    visibility: str
    held_by_agent: bool  # ever assigned to the world's agent (its events name the agent)


class World:
    """One server, its principals and a registry of every task the matrix made for client A."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.uid = uuid.uuid4().hex[:8]
        self.http = httpx.Client(base_url=server.url, timeout=30)
        self.ids = {
            "client_a": f"alice-{self.uid}",
            "client_b": f"bob-{self.uid}",
            "team_member": f"mallory-{self.uid}",
        }
        self.idle_cap = f"idle-{self.uid}:v1"  # nobody serves it: tasks stay PENDING
        self.agent_cap = f"held-{self.uid}:v1"
        self.keys: dict[str, str | None] = {"anonymous": None}
        self.tasks: dict[str, KnownTask] = {}
        # ids and names of other resources → the principals who may be shown them
        self.owned: dict[str, frozenset[str]] = {}
        self._counter = 0

    # --- the cast -------------------------------------------------------------------------

    def setup(self) -> World:
        with self.server.client() as bootstrap:  # protected mode, before the first admin key
            self.keys["admin"] = self._new_key(bootstrap, "admin", f"root-{self.uid}")
        self.keys["client_a"] = self.new_key("client", self.ids["client_a"], team="red")
        self.keys["client_b"] = self.new_key("client", self.ids["client_b"], team="blue")
        self.keys["team_member"] = self.new_key("client", self.ids["team_member"], team="red")
        agent = self.register_agent(self.agent_cap)
        self.ids["assigned_agent"], self.keys["assigned_agent"] = agent
        other = self.register_agent(f"other-{self.uid}:v1")
        self.ids["other_agent"], self.keys["other_agent"] = other
        # a second key of client A's, revoked, and a token of client A's that has expired
        body = self._key_body("client", self.ids["client_a"], "red")
        revoked = self.ok("admin", "POST", "/ains/keys", json=body)
        self.keys["revoked_key"] = revoked["api_key"]
        self.ok("admin", "DELETE", f"/ains/keys/{revoked['key_id']}")
        claims = {"sub": self.ids["client_a"], "role": "client", "team": "red",
                  "exp": datetime.now(UTC) - timedelta(minutes=5)}  # fmt: skip
        self.keys["expired_jwt"] = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
        # client B listens to every event it may see, through a webhook nobody answers: its
        # delivery log must not carry client A's hidden tasks
        hook = self.ok("client_b", "POST", "/aitp/webhooks", json={"url": DEAD_URL})
        self.b_webhook = Target({"webhook_id": hook["webhook_id"]})
        # client A's tasks in every state and visibility before the first cell: each list,
        # stream and report has something to leak from the start
        for visibility in VISIBILITIES:
            self.pending_task(visibility)
            self.failed_task(visibility)
        schedule_id = self.schedule().params["schedule_id"]
        fired = self.ok("client_a", "POST", f"/aitp/tasks/schedule/{schedule_id}/execute")
        task = self.ok("client_a", "GET", f"/aitp/tasks/{fired['task_id']}")
        self._remember(task, "private", held=False)
        return self

    def close(self) -> None:
        self.http.close()

    def headers(self, principal: str, key: str | None = None) -> dict[str, str]:
        token = key or self.keys[principal]
        return {"Authorization": f"Bearer {token}"} if token else {}

    def call(
        self, principal: str, method: str, path: str, *, key: str | None = None, **kw: Any
    ) -> httpx.Response:
        return self.http.request(method, path, headers=self.headers(principal, key), **kw)

    def ok(self, principal: str, method: str, path: str, **kw: Any) -> Any:
        r = self.call(principal, method, path, **kw)
        assert r.status_code < 300, f"{method} {path} as {principal}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def _key_body(self, role: str, principal_id: str, team: str | None = None) -> dict[str, Any]:
        return {"role": role, "principal_id": principal_id, "name": principal_id, "team": team}

    def _new_key(
        self, api: httpx.Client, role: str, principal_id: str, team: str | None = None
    ) -> str:
        r = api.post("/ains/keys", json=self._key_body(role, principal_id, team))
        assert r.status_code == 201, r.text
        return str(r.json()["api_key"])

    def new_key(self, role: str, principal_id: str, team: str | None = None) -> str:
        body = self._key_body(role, principal_id, team)
        return str(self.ok("admin", "POST", "/ains/keys", json=body)["api_key"])

    def register_agent(self, capability: str) -> tuple[str, str]:
        body = {"name": f"agent-{self.uid}", "capabilities": [capability],
                "max_concurrency": 10_000}  # fmt: skip
        agent = self.ok("admin", "POST", "/ains/agents", json=body)
        return str(agent["agent_id"]), str(agent["api_key"])

    # --- client A's resources ---------------------------------------------------------------

    def _task_body(self, visibility: str, capability: str) -> dict[str, Any]:
        self._counter += 1
        body: dict[str, Any] = {
            "task_type": f"tt-{visibility}-{self._counter}-{self.uid}",
            "capability_required": capability,
            "input_data": {"n": self._counter},
            "visibility": "private" if visibility == "allowed_viewers" else visibility,
        }
        if visibility == "allowed_viewers":
            body["allowed_viewers"] = [self.ids["client_b"]]
        return body

    def _remember(self, task: dict[str, Any], visibility: str, held: bool) -> None:
        markers = [task["task_id"], task["task_type"]]
        if task.get("batch_id"):
            markers.append(task["batch_id"])
        self.tasks[task["task_id"]] = KnownTask(markers, visibility, held)

    def _own(self, *markers: str, readers: tuple[str, ...] = ("client_a",)) -> None:
        for marker in markers:
            self.owned[marker] = frozenset(readers)

    def pending_task(self, visibility: str = "private") -> Target:
        body = self._task_body(visibility, self.idle_cap)
        task = self.ok("client_a", "POST", "/aitp/tasks", json=body)
        self._remember(task, visibility, held=False)
        return Target({"task_id": task["task_id"]}, visibility)

    def pushed_task(self, visibility: str = "private") -> Target:
        """A pending task of client A's with an A2A push-notification config of client A's."""
        target = self.pending_task(visibility)
        path = f"/a2a/rest/tasks/{target.params['task_id']}/pushNotificationConfigs"
        config = self.ok("client_a", "POST", path, json={"url": DEAD_URL, "token": "t"})
        return Target({**target.params, "push_id": config["id"]}, visibility)

    def assigned_task(self, visibility: str = "private") -> Target:
        body = self._task_body(visibility, self.agent_cap)
        task = self.ok("client_a", "POST", "/aitp/tasks", json=body)
        self._remember(task, visibility, held=True)
        params = {"task_id": task["task_id"], "attempt_id": self._claim(task["task_id"]),
                  "agent_id": self.ids["assigned_agent"]}  # fmt: skip
        return Target(params, visibility, assigned=True)

    def _claim(self, task_id: str) -> str:
        """The agent claims until it holds `task_id` (tasks the matrix retried come back to it
        too); returns the attempt id."""
        agent = self.ids["assigned_agent"]
        body = {"max_tasks": 100, "wait_seconds": 5}
        for _ in range(5):
            claimed = self.ok("assigned_agent", "POST", f"/aitp/agents/{agent}/claim", json=body)
            for task in claimed["tasks"]:
                if task["task_id"] == task_id:
                    return str(task["attempt_id"])
        raise AssertionError(f"the agent never got {task_id}")

    def failed_task(self, visibility: str = "private") -> Target:
        """Failed for good by the assigned agent: FAILED and in the dead-letter queue."""
        target = self.assigned_task(visibility)
        body = {"attempt_id": target.params["attempt_id"], "error": "boom", "retryable": False}
        path = f"/aitp/tasks/{target.params['task_id']}/fail"
        failed = self.ok("assigned_agent", "POST", path, json=body)
        assert failed["status"] == "FAILED" and failed["assigned_agent_id"], failed
        return target

    def batch(self, visibility: str | None = None) -> Target:
        body = {"tasks": [self._task_body(visibility or "private", self.idle_cap)]}
        batch = self.ok("client_a", "POST", "/aitp/tasks/batch", json=body)
        task = self.ok("client_a", "GET", f"/aitp/tasks/{batch['task_ids'][0]}")
        self._remember(task, visibility or "private", held=False)
        return Target({"batch_id": batch["batch_id"]}, visibility)

    def schedule(self) -> Target:
        body = {"task_type": f"sched-{self.uid}", "capability_required": self.idle_cap,
                "cron_expression": "0 3 * * *"}  # fmt: skip
        schedule = self.ok("client_a", "POST", "/aitp/tasks/schedule", json=body)
        self._own(schedule["schedule_id"])
        return Target({"schedule_id": schedule["schedule_id"]})

    def template(self) -> Target:
        """Shared with client A's team: the team mate may read and use it, not change it."""
        self._counter += 1
        body = {"name": f"tpl-{self._counter}-{self.uid}", "task_type": "from-template",
                "capability_required": self.idle_cap, "team": "red"}  # fmt: skip
        template = self.ok("client_a", "POST", "/aitp/templates", json=body)
        self._own(template["template_id"], body["name"], readers=("client_a", "team_member"))
        return Target({"template_id": template["template_id"]})

    def webhook(self) -> Target:
        body = {"url": DEAD_URL, "events": ["task.completed"], "enabled": False}
        hook = self.ok("client_a", "POST", "/aitp/webhooks", json=body)
        self._own(hook["webhook_id"])
        return Target({"webhook_id": hook["webhook_id"]})

    def webhook_of_b(self) -> Target:
        return self.b_webhook

    def graphiql_asset(self) -> Target:
        return Target(params={"name": "graphiql-start.js"})

    def own_agent(self) -> Target:
        return Target({"agent_id": self.ids["assigned_agent"]})

    def fresh_agent(self) -> Target:
        agent_id, key = self.register_agent(f"fresh-{self.uid}:v1")
        return Target({"agent_id": agent_id}, agent_key=key)

    def key(self) -> Target:
        body = self._key_body("client", f"k-{self.uid}")
        created = self.ok("admin", "POST", "/ains/keys", json=body)
        return Target({"key_id": created["key_id"]})

    # --- what a principal must never be shown ----------------------------------------------

    def hidden_from(self, principal: str) -> list[str]:
        """Markers of client A's tasks and other resources this principal may not see."""
        if principal == "admin":
            return []
        hidden = [m for m, readers in self.owned.items() if principal not in readers]
        for t in self.tasks.values():
            if not Cell(principal, t.visibility, assigned=t.held_by_agent).sees_task():
                hidden += t.markers
        return hidden
