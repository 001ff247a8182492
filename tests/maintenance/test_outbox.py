"""A prune never deletes an event the webhook fan-out has not read yet, however old. PostgreSQL
only: the test holds the fan-out cursor's row lock (as a replica mid-fan-out does) to keep the
server's fan-out behind an event, which SQLite's single writer cannot do without stopping the
server as a whole."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ains.models import events, webhook_cursor
from tests.maintenance.helpers import LONG_AGO, execute, scalar
from tests.support.server import running_server, wait_for


def _old_event(url: str, agent: str) -> int:
    execute(
        url,
        sa.insert(events).values(event_type="agent.online", agent_id=agent, occurred_at=LONG_AGO),
    )
    return int(
        scalar(url, sa.select(sa.func.max(events.c.event_id)).where(events.c.agent_id == agent))
    )


def _cursor(url: str) -> int:
    return int(scalar(url, sa.select(webhook_cursor.c.last_event_id)) or 0)


@contextmanager
def cursor_locked(url: str) -> Iterator[None]:
    """Holds the fan-out cursor row FOR UPDATE in a transaction of its own until the block ends."""
    import asyncpg

    locked, release = threading.Event(), threading.Event()

    async def hold() -> None:
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT * FROM webhook_cursor WHERE name = 'webhooks' FOR UPDATE"
                )
                locked.set()
                await asyncio.to_thread(release.wait)
        finally:
            await conn.close()

    thread = threading.Thread(target=asyncio.run, args=(hold(),))
    thread.start()
    try:
        assert locked.wait(10), "could not lock the webhook cursor"
        yield
    finally:
        release.set()
        thread.join(10)


@pytest.mark.pg_only
def test_events_the_webhook_fan_out_has_not_read_are_kept(
    backend: str, tmp_path: Path, uid: str
) -> None:
    with running_server(backend, tmp_path) as server, server.client() as api:
        url = server.database_url
        # an enabled webhook (no event of this test matches its filter) makes the cursor count
        hook = api.post(
            "/aitp/webhooks",
            json={"url": "http://93.184.216.34/hook", "events": ["batch.completed"]},
        )
        assert hook.status_code == 201, hook.text
        read = _old_event(url, f"agent-read-{uid}")
        wait_for(lambda: _cursor(url) >= read, timeout=15, message="the fan-out read the event")

        def counts(**body: Any) -> dict[str, int]:
            r = api.post("/ains/admin/cleanup", json=body)
            assert r.status_code == 200, r.text
            return dict(r.json()["counts"])

        with cursor_locked(url):
            unread = _old_event(url, f"agent-unread-{uid}")
            assert _cursor(url) < unread
            assert counts(dry_run=True)["events"] == 1
            assert counts()["events"] == 1
            remaining = scalar(url, sa.select(sa.func.count()).select_from(events).where(
                events.c.event_id.in_([read, unread])))  # fmt: skip
            assert remaining == 1
        wait_for(lambda: _cursor(url) >= unread, timeout=15, message="the fan-out caught up")
        assert counts()["events"] == 1
