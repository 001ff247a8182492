"""A console test world: one server per backend with an admin and two clients, and helpers
that put tasks into the states the pages show."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.server import ServerProcess

DEAD_URL = "http://127.0.0.1:9/hook"  # nothing listens there


@dataclass
class ConsoleWorld:
    server: ServerProcess
    keys: dict[str, str] = field(default_factory=dict)
    uid: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def setup(self) -> ConsoleWorld:
        # protected mode: the first (admin) key is made from loopback, the others with it
        with self.server.client() as anyone_local:
            self.keys["admin"] = self._new_key(anyone_local, "admin", "admin")
        with self.client("admin") as admin:
            for name in ("client_a", "client_b"):
                self.keys[name] = self._new_key(admin, "client", name)
        return self

    def _new_key(self, api: httpx.Client, role: str, name: str) -> str:
        body = {"role": role, "principal_id": f"{name}-{self.uid}", "name": name}
        r = api.post("/ains/keys", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["api_key"])

    def client(self, who: str) -> httpx.Client:
        return self.server.client(self.keys[who])

    def principal_id(self, who: str) -> str:
        return f"{who}-{self.uid}"

    def submit(self, who: str, capability: str, **fields: Any) -> dict[str, Any]:
        body = {"task_type": "console", "capability_required": capability, "input_data": {}}
        with self.client(who) as api:
            r = api.post("/aitp/tasks", json={**body, **fields})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def dead_letter(self, who: str) -> dict[str, Any]:
        """A task of `who`'s that failed for good: claimed by a fresh agent and failed with a
        permanent error."""
        capability = f"dlq-{uuid.uuid4().hex[:8]}"
        task = self.submit(who, capability, retry_policy={"max_retries": 0})
        with self.client("admin") as admin:
            body = {"name": "dlq-agent", "capabilities": [capability], "max_concurrency": 1}
            agent = admin.post("/ains/agents", json=body).json()
            r = admin.post(f"/aitp/agents/{agent['agent_id']}/claim", json={"max_tasks": 1})
            [held] = r.json()["tasks"]
            fail = {"attempt_id": held["attempt_id"], "error": "bad input", "retryable": False}
            r = admin.post(f"/aitp/tasks/{held['task_id']}/fail", json=fail)
            assert r.status_code == 200, r.text
            assert r.json()["dead_lettered"] is True, r.json()
        return task

    def completed(self, who: str) -> dict[str, Any]:
        """A task of `who`'s that an agent ran to completion (a trust record for the agent)."""
        capability = f"done-{uuid.uuid4().hex[:8]}"
        task = self.submit(who, capability, input_data={"text": "hello"})
        with self.client("admin") as admin:
            body = {"name": "worker", "capabilities": [capability], "max_concurrency": 4}
            agent = admin.post("/ains/agents", json=body).json()
            r = admin.post(f"/aitp/agents/{agent['agent_id']}/claim", json={"max_tasks": 1})
            [held] = r.json()["tasks"]
            done = {"attempt_id": held["attempt_id"], "result_data": {"words": 1}}
            r = admin.post(f"/aitp/tasks/{held['task_id']}/complete", json=done)
            assert r.status_code == 200, r.text
        return task

    def schedule(self, who: str) -> dict[str, Any]:
        body = {"task_type": "nightly", "capability_required": f"sched-{self.uid}",
                "cron_expression": "0 3 * * *", "description": "nightly report"}  # fmt: skip
        with self.client(who) as api:
            r = api.post("/aitp/tasks/schedule", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def webhook(self, who: str) -> dict[str, Any]:
        """A disabled webhook whose destination listens to nothing (its tests fail)."""
        body = {"url": DEAD_URL, "events": ["task.completed"], "enabled": False}
        with self.client(who) as api:
            r = api.post("/aitp/webhooks", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def get(self, who: str, path: str) -> dict[str, Any]:
        with self.client(who) as api:
            r = api.get(path)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def status(self, task_id: str) -> dict[str, Any]:
        with self.client("admin") as admin:
            r = admin.get(f"/aitp/tasks/{task_id}")
        assert r.status_code == 200, r.text
        return dict(r.json())
