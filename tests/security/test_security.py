"""Protected mode, API keys, visibility (404 vs 403), problem+json errors and limits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.flows import submit
from tests.support.server import ROOT, free_port, fresh_database_url, running_server


def _key(api: httpx.Client, role: str, principal_id: str, team: str | None = None) -> str:
    r = api.post(
        "/ains/keys",
        json={"role": role, "principal_id": principal_id, "name": principal_id, "team": team},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["api_key"])


def test_refuses_to_listen_beyond_loopback_without_an_admin_key(
    backend: str, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, tmp_path)
    env = {
        "AINS_DATABASE_URL": url,
        "AINS_HOST": "0.0.0.0",
        "AINS_PORT": str(free_port()),
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-m", "ains.cli", "serve"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        text=True,
    )
    assert out.returncode == 2
    assert "ains keys create --role admin" in out.stderr


def test_keys_cli_prints_the_key_alone_on_its_last_line(backend: str, tmp_path: Path) -> None:
    url = fresh_database_url(backend, tmp_path)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ains.cli",
            "keys",
            "create",
            "--role",
            "client",
            "--principal-id",
            "c9",
        ],
        env={"AINS_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("ains_") and " " not in last


def test_private_task_is_invisible_to_another_client_and_public_is_read_only(
    backend: str, tmp_path: Path
) -> None:
    with running_server(backend, tmp_path) as server, server.client() as admin:
        alice = _key(admin, "client", "alice", team="red")
        bob = _key(admin, "client", "bob", team="blue")
        carol = _key(admin, "client", "carol", team="red")
        admin_key = _key(admin, "admin", "root")
        with server.client(alice) as a, server.client(bob) as b, server.client(carol) as c:
            private = submit(a, "x:v1", client_id="alice")
            public = submit(a, "x:v1", client_id="alice", visibility="public")
            team = submit(a, "x:v1", client_id="alice", visibility="team")
            shared = submit(a, "x:v1", client_id="alice", allowed_viewers=["bob"])
            assert b.get(f"/aitp/tasks/{private['task_id']}").status_code == 404
            assert b.delete(f"/aitp/tasks/{private['task_id']}").status_code == 404
            assert b.get(f"/aitp/tasks/{public['task_id']}").status_code == 200
            assert b.delete(f"/aitp/tasks/{public['task_id']}").status_code == 403
            assert b.get(f"/aitp/tasks/{team['task_id']}").status_code == 404
            assert c.get(f"/aitp/tasks/{team['task_id']}").status_code == 200
            assert b.get(f"/aitp/tasks/{shared['task_id']}").status_code == 200
            listed = {
                t["task_id"] for t in b.get("/aitp/tasks", params={"limit": 100}).json()["items"]
            }
            assert listed == {public["task_id"], shared["task_id"]}
            # a client may not submit in another client's name
            r = b.post(
                "/aitp/tasks",
                json={"client_id": "alice", "task_type": "t", "capability_required": "x:v1"},
            )
            assert r.status_code == 403
            assert a.get(f"/aitp/tasks/{private['task_id']}").status_code == 200
        # with an admin key in place, anonymous requests are refused, wrong keys are 401
        assert httpx.get(f"{server.url}/aitp/tasks").status_code == 401
        wrong = httpx.get(f"{server.url}/aitp/tasks", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["content-type"].startswith("application/problem+json")
        with server.client(admin_key) as root:
            assert root.get(f"/aitp/tasks/{private['task_id']}").status_code == 200
            keys = root.get("/ains/keys").json()["items"]
            bob_key = next(k for k in keys if k["principal_id"] == "bob")
            assert "key_hash" not in bob_key and "api_key" not in bob_key
            assert root.delete(f"/ains/keys/{bob_key['key_id']}").status_code == 204
            audit = root.get("/ains/audit", params={"outcome": "denied"}).json()["items"]
            assert audit, "denied requests are audited"
        revoked = httpx.get(f"{server.url}/aitp/tasks", headers={"Authorization": f"Bearer {bob}"})
        assert revoked.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"task_type": "t", "capability_required": "c", "priority": 11}, "priority"),
        ({"task_type": "t"}, "capability_required"),
        (
            {"task_type": "t", "capability_required": "c", "retry_policy": {"strategy": "random"}},
            "retry_policy.strategy",
        ),
        (
            {"task_type": "t", "capability_required": "c", "deadline": "2030-01-01T00:00:00"},
            "deadline",
        ),
        (
            {"task_type": "t", "capability_required": "c", "depends_on": ["task_missing"]},
            "depends_on[0]",
        ),
        ({"task_type": "t", "capability_required": "c", "surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    api: httpx.Client, body: dict[str, object], field: str
) -> None:
    r = api.post("/aitp/tasks", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == 422
    assert field in [e["field"] for e in problem["errors"]]


def test_malformed_requests_never_500(api: httpx.Client) -> None:
    cases = [
        api.post("/aitp/tasks", content=b"{not json", headers={"content-type": "application/json"}),
        api.post("/aitp/tasks", content=b"[]", headers={"content-type": "application/json"}),
        api.post(
            "/aitp/tasks", content=b"x" * 2_000_000, headers={"content-type": "application/json"}
        ),
        api.get("/aitp/tasks", params={"limit": 100000}),
        api.get("/aitp/tasks", params={"cursor": "%%%"}),
        api.get("/aitp/tasks", params={"status": "NOPE"}),
        api.get("/aitp/tasks", params={"created_after": "yesterday"}),
        api.post("/aitp/agents/none/claim", json={"max_tasks": 0}),
        api.post("/aitp/agents/none/claim", json={"max_tasks": 1}),
        api.post("/ains/agents", json={"name": "a", "capabilities": ["bad cap"]}),
        api.get("/aitp/tasks/does-not-exist"),
        api.delete("/aitp/tasks/does-not-exist"),
    ]
    statuses = [c.status_code for c in cases]
    assert all(400 <= s < 500 for s in statuses), statuses
    assert statuses[2] == 413
    assert all(c.headers["content-type"].startswith("application/problem+json") for c in cases)


def test_health_ready_and_openapi(api: httpx.Client) -> None:
    assert api.get("/health").json()["status"] == "ok"
    assert api.get("/ready").json()["status"] == "ready"
    spec = api.get("/openapi.json").json()
    assert "/aitp/tasks" in spec["paths"] and "/aitp/agents/{agent_id}/claim" in spec["paths"]
