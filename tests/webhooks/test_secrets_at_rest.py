"""With AINS_ENCRYPTION_KEYS set, webhook signing secrets are sealed in the database (never
stored as given) and deliveries are still signed with the secret the user gave; a server
started without the key records a failed attempt instead of signing with garbage, and the
secret opens again once the key is back. Without keys, secrets are stored as given."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from ains.db.engine import create_engine
from ains.models import webhooks
from ains.security.crypto import generate_key
from tests.support.flows import submit
from tests.support.receiver import Received, receiver
from tests.support.server import ServerProcess, drop_pg_database, migrated_database_url, wait_for
from tests.webhooks.conftest import LOOPBACK_ALLOWED
from tests.webhooks.helpers import register


def stored_secret(url: str, webhook_id: str) -> str:
    async def read() -> str:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                stmt = sa.select(webhooks.c.secret).where(webhooks.c.webhook_id == webhook_id)
                return str(await conn.scalar(stmt))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def verify(request: Received, plain_secret: str) -> None:
    secret = "whsec_" + base64.b64encode(plain_secret.encode()).decode()
    headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
    Webhook(secret).verify(request.body, headers)


def start(url: str, **env: str) -> ServerProcess:
    return ServerProcess(url, env={"AINS_WEBHOOK_ALLOWED_HOSTS": LOOPBACK_ALLOWED, **env}).start()


def test_secrets_are_sealed_at_rest_and_still_sign(backend: str, tmp_path: Path, uid: str) -> None:
    url = migrated_database_url(backend, tmp_path)
    keys = {"AINS_ENCRYPTION_KEYS": f"k1:{generate_key()}"}
    try:
        with receiver() as rec:
            server = start(url, **keys)
            try:
                with server.client() as api:
                    hook = register(api, rec.url, ["task.created"], secret=f"plain-{uid}")
                    hook_id = hook["webhook_id"]
                    sealed = stored_secret(url, hook_id)
                    assert sealed.startswith("ains-sealed:") and f"plain-{uid}" not in sealed

                    capability = f"sealed-{uid}:v1"
                    submit(api, capability)
                    wait_for(lambda: rec.requests, message="task.created delivered")
                    verify(rec.requests[0], f"plain-{uid}")

                    r = api.patch(f"/aitp/webhooks/{hook_id}", json={"secret": f"new-{uid}"})
                    assert r.status_code == 200, r.text
                    assert stored_secret(url, hook_id).startswith("ains-sealed:")
                    assert stored_secret(url, hook_id) != sealed
                    assert api.post(f"/aitp/webhooks/{hook_id}/test").json()["success"] is True
                    verify(rec.requests[-1], f"new-{uid}")

                    bad = api.patch(
                        f"/aitp/webhooks/{hook_id}", json={"secret": "ains-sealed:forged"}
                    )
                    assert bad.status_code == 422 and "secret" in bad.text
            finally:
                server.stop()

            delivered = len(rec.requests)
            server = start(url)  # the key is gone
            try:
                with server.client() as api:
                    result: dict[str, Any] = api.post(f"/aitp/webhooks/{hook_id}/test").json()
                    assert result["success"] is False
                    assert "cannot open the secret" in result["error"]
                    assert len(rec.requests) == delivered  # nothing signed with garbage
                    plain = register(api, rec.url, ["task.created"], secret=f"open-{uid}")
                    assert stored_secret(url, plain["webhook_id"]) == f"open-{uid}"
            finally:
                server.stop()

            server = start(url, **keys)  # the key is back
            try:
                with server.client() as api:
                    r = api.post(f"/aitp/webhooks/{hook_id}/test")
                    assert r.json()["success"] is True, r.text
                    verify(rec.requests[-1], f"new-{uid}")
            finally:
                server.stop()
    finally:
        if backend == "postgresql":
            drop_pg_database(url)


def test_client_cannot_read_a_secret_back(api: httpx.Client) -> None:
    hook = register(api, "http://93.184.216.34/hook", ["task.completed"], secret="shown-once")
    assert hook["secret"] == "shown-once"
    r = api.get(f"/aitp/webhooks/{hook['webhook_id']}")
    assert r.status_code == 200, r.text
    assert r.json()["webhook_id"] == hook["webhook_id"] and "secret" not in r.json()
