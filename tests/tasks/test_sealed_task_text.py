"""An `encrypt: true` task keeps everything it says sealed at rest, not only input and result:
error text (task, attempts, events, webhook deliveries), progress, metadata and the
cancellation reason. Read straight from every table of the database on both backends: the
secret is nowhere in plaintext, while GET /aitp/tasks/{id} shows the owner the real text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from ains.security.crypto import generate_key
from tests.support.database import rows_containing
from tests.support.flows import claim, register_agent, wait_status
from tests.support.receiver import receiver
from tests.support.server import running_server, wait_for
from tests.webhooks.helpers import register

NO_DELAY = {"max_retries": 1, "strategy": "fixed", "base_delay_seconds": 0, "jitter": False}


def _fail(api: httpx.Client, task_id: str, attempt_id: str, error: str, retryable: bool) -> None:
    r = api.post(
        f"/aitp/tasks/{task_id}/fail",
        json={"attempt_id": attempt_id, "error": error, "retryable": retryable},
    )
    assert r.status_code == 200, r.text


def _run_and_fail_twice(api: httpx.Client, agent_id: str, task_id: str, secret: str) -> None:
    [first] = claim(api, agent_id, wait=5)
    assert api.post(f"/aitp/tasks/{task_id}/start", json={"attempt_id": first["attempt_id"]})
    beat = api.post(
        f"/aitp/tasks/{task_id}/heartbeat",
        json={"attempt_id": first["attempt_id"], "progress": {"said": secret}},
    )
    assert beat.status_code == 200, beat.text
    _fail(api, task_id, first["attempt_id"], f"boom {secret}", retryable=True)
    [second] = wait_for(lambda: claim(api, agent_id, wait=2), message="the retry")
    _fail(api, task_id, second["attempt_id"], f"boom {secret}", retryable=False)


def test_encrypted_tasks_seal_errors_progress_metadata_and_reasons(
    backend: str, tmp_path: Path, uid: str
) -> None:
    secret = f"hush{uid}"
    env = {
        "AINS_ENCRYPTION_KEYS": f"k1:{generate_key()}",
        "AINS_WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1"]',
    }
    with receiver() as rec, running_server(backend, tmp_path, **env) as server:
        with server.client() as api:
            register(api, rec.url, ["*"])
            r = api.post("/ains/keys", json={"role": "client", "principal_id": f"owner-{uid}"})
            owner_key = r.json()["api_key"]
            agent = register_agent(api, f"seal-{uid}")
            body: dict[str, Any] = {
                "task_type": "t",
                "capability_required": f"seal-{uid}",
                "input_data": {"pw": secret},
                "metadata": {"note": secret},
                "retry_policy": NO_DELAY,
                "encrypt": True,
            }
            with server.client(owner_key) as owner:
                failed = owner.post("/aitp/tasks", json=body).json()
                assert failed["metadata"] == {"note": secret}
                _run_and_fail_twice(api, agent["agent_id"], failed["task_id"], secret)
                wait_status(api, failed["task_id"], "FAILED")
                cancelled = owner.post(
                    "/aitp/tasks", json={**body, "capability_required": f"none-{uid}"}
                ).json()
                r = owner.request(
                    "DELETE", f"/aitp/tasks/{cancelled['task_id']}", json={"reason": secret}
                )
                assert r.status_code == 200, r.text
                wait_for(
                    lambda: {"task.failed", "task.cancelled"} <= set(rec.types()),
                    message="webhook deliveries",
                )
                shown = owner.get(f"/aitp/tasks/{failed['task_id']}").json()
                shown_cancelled = owner.get(f"/aitp/tasks/{cancelled['task_id']}").json()
        leaks = rows_containing(server.database_url, secret)
    assert leaks == []
    assert not [q for q in rec.requests if secret.encode() in q.body]
    assert shown["last_error"] == f"boom {secret}"
    assert shown["progress"] == {"said": secret}
    assert shown["metadata"] == {"note": secret} and shown["input_data"] == {"pw": secret}
    assert [a["error"] for a in shown["attempts"]] == [f"boom {secret}"] * 2
    assert f"boom {secret}" in [h["reason"] for h in shown["history"]]
    assert shown_cancelled["cancellation_reason"] == secret
