"""Issue 16: `ains keys rotate-encryption` re-seals every stored payload (an encrypted task's
input, result, metadata, progress, errors, cancellation reason, its attempts' errors and its
events' texts; webhook secrets) with the newest key, in batches and idempotently, so that the
old key can then be dropped from the ring. Real server processes and the real CLI, read back
from the database on both backends."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks.webhooks import Webhook

from ains.security.crypto import generate_key
from tests.support.database import rows_containing
from tests.support.flows import claim, register_agent, wait_status
from tests.support.receiver import Received, receiver
from tests.support.server import (
    ROOT,
    ServerProcess,
    drop_pg_database,
    migrated_database_url,
    wait_for,
)
from tests.webhooks.helpers import register

NO_DELAY = {"max_retries": 1, "strategy": "fixed", "base_delay_seconds": 0, "jitter": False}
OLD, NEW = f"old:{generate_key()}", f"new:{generate_key()}"
HOOKS = {"AINS_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}


def _rotate(url: str, keys: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ains.cli", "keys", "rotate-encryption", *args],
        env={"AINS_DATABASE_URL": url, "AINS_ENCRYPTION_KEYS": keys, "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        text=True,
    )


def _post(api: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = api.post(path, json=body)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def _sealed_tasks(api: httpx.Client, uid: str) -> tuple[str, str, str]:
    """A completed, a failed (twice, with progress) and a cancelled encrypted task."""
    agent = register_agent(api, f"rot-{uid}")
    body = {"client_id": f"c-{uid}", "task_type": "t", "capability_required": f"rot-{uid}",
            "input_data": {"pw": f"in-{uid}"}, "metadata": {"note": f"meta-{uid}"},
            "retry_policy": NO_DELAY, "encrypt": True}  # fmt: skip
    done = _post(api, "/aitp/tasks", body)["task_id"]
    [job] = claim(api, agent["agent_id"], wait=5)
    _post(api, f"/aitp/tasks/{done}/complete",
          {"attempt_id": job["attempt_id"], "result_data": {"out": f"res-{uid}"}})  # fmt: skip
    failed = _post(api, "/aitp/tasks", body)["task_id"]
    for retryable in (True, False):
        [job] = wait_for(lambda: claim(api, agent["agent_id"], wait=2), message="work")
        _post(api, f"/aitp/tasks/{failed}/heartbeat",
              {"attempt_id": job["attempt_id"], "progress": {"p": f"prog-{uid}"}})  # fmt: skip
        report = {"attempt_id": job["attempt_id"], "error": f"err-{uid}", "retryable": retryable}
        _post(api, f"/aitp/tasks/{failed}/fail", report)
    wait_status(api, failed, "FAILED")
    cancelled = _post(api, "/aitp/tasks", {**body, "capability_required": f"none-{uid}"})
    r = api.request("DELETE", f"/aitp/tasks/{cancelled['task_id']}", json={"reason": f"why-{uid}"})
    assert r.status_code == 200, r.text
    return done, failed, cancelled["task_id"]


def test_rotate_encryption_reseals_everything_with_the_newest_key(
    backend: str, tmp_path: Path, uid: str
) -> None:
    url = migrated_database_url(backend, tmp_path)
    try:
        with receiver() as rec:
            server = ServerProcess(url, env={"AINS_ENCRYPTION_KEYS": OLD, **HOOKS}).start()
            try:
                with server.client() as api:
                    register(api, rec.url, ["task.created"], secret=f"hooksecret-{uid}")
                    done, failed, cancelled = _sealed_tasks(api, uid)
            finally:
                server.stop()
            assert len(rows_containing(url, "v1.old.")) >= 8, "sealed with the old key"
            assert not rows_containing(url, "v1.new.")

            # the new key first, the old one kept: batches of 2 rows
            out = _rotate(url, f"{NEW},{OLD}", "--batch-size", "2")
            assert out.returncode == 0, out.stderr
            assert "re-sealed with key new" in out.stdout and "1 webhooks" in out.stdout
            assert rows_containing(url, "v1.old.") == []
            assert len(rows_containing(url, "v1.new.")) >= 8
            for plain in ("in-", "res-", "meta-", "prog-", "err-", "why-", "hooksecret-"):
                assert rows_containing(url, plain + uid) == [], f"{plain} in plaintext"
            again = _rotate(url, f"{NEW},{OLD}")  # idempotent: nothing left to do
            assert again.returncode == 0, again.stderr
            assert "0 tasks, 0 task_attempts, 0 events, 0 webhooks" in again.stdout

            # the old key is gone from the ring: everything still reads, and webhooks still sign
            delivered = len(rec.requests)
            server = ServerProcess(url, env={"AINS_ENCRYPTION_KEYS": NEW, **HOOKS}).start()
            try:
                with server.client() as api:
                    shown = {t: api.get(f"/aitp/tasks/{t}").json() for t in (done, failed)}
                    gone = api.get(f"/aitp/tasks/{cancelled}").json()
                    _post(api, "/aitp/tasks", {"client_id": "c", "task_type": "t",
                                               "capability_required": f"x-{uid}"})  # fmt: skip
                    wait_for(lambda: len(rec.requests) > delivered, message="a delivery")
                    signed = rec.requests[delivered]
                    audited = api.get("/ains/audit", params={"action": "encryption.rotate"})
            finally:
                server.stop()
    finally:
        if backend == "postgresql":
            drop_pg_database(url)
    assert shown[done]["input_data"] == {"pw": f"in-{uid}"}
    assert shown[done]["result_data"] == {"out": f"res-{uid}"}
    assert shown[done]["metadata"] == {"note": f"meta-{uid}"}
    assert shown[failed]["last_error"] == f"err-{uid}"
    assert shown[failed]["progress"] == {"p": f"prog-{uid}"}
    assert [a["error"] for a in shown[failed]["attempts"]] == [f"err-{uid}"] * 2
    assert f"err-{uid}" in [h["reason"] for h in shown[failed]["history"]]
    assert gone["cancellation_reason"] == f"why-{uid}"
    _verify(signed, f"hooksecret-{uid}")
    runs = audited.json()["items"]
    assert [r["target_id"] for r in runs] == ["new", "new"]


def _verify(request: Received, plain_secret: str) -> None:
    secret = "whsec_" + base64.b64encode(plain_secret.encode()).decode()
    headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
    Webhook(secret).verify(request.body, headers)


def test_rotate_encryption_without_keys_is_one_clear_line(tmp_path: Path) -> None:
    out = _rotate(f"sqlite:///{tmp_path}/r.db", "")
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(lines) == 1, out.stderr
    assert "AINS_ENCRYPTION_KEYS" in lines[0]
