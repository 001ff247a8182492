"""Deliveries survive a crash, and replicas on one PostgreSQL deliver each webhook once."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.support.flows import submit
from tests.support.receiver import receiver
from tests.support.server import (
    ServerProcess,
    drop_pg_database,
    migrated_database_url,
    wait_for,
)
from tests.webhooks.conftest import LOOPBACK_ALLOWED
from tests.webhooks.helpers import register

ENV = {"AINS_WEBHOOK_ALLOWED_HOSTS": LOOPBACK_ALLOWED, "AINS_WEBHOOK_TIMEOUT_SECONDS": "1"}


def test_a_crash_between_commit_and_delivery_still_delivers_after_restart(
    backend: str, tmp_dir: Path, uid: str
) -> None:
    url = migrated_database_url(backend, tmp_dir)
    first = ServerProcess(url, env=ENV).start()
    second: ServerProcess | None = None

    def answer(n: int) -> int:
        if n == 0:
            time.sleep(3)  # the server is killed while this request is in flight
        return 200

    try:
        with receiver(answer) as rec:
            with first.client() as api:
                register(api, rec.url, ["task.created"])
                task = submit(api, f"crash-{uid}:v1")
            wait_for(lambda: rec.requests, timeout=10, message="the first attempt")
            first.kill()
            second = ServerProcess(url, env=ENV).start()
            delivered = wait_for(
                lambda: [e for e in rec.events() if e["task_id"] == task["task_id"]],
                timeout=30,
                message="redelivery after restart",
            )
            # the same webhook-id on the redelivery: the receiver can deduplicate
            assert len({r.headers["webhook-id"] for r in rec.requests}) == 1
            assert delivered[0]["type"] == "task.created"
    finally:
        first.stop()
        if second is not None:
            second.stop()
        if backend == "postgresql":
            drop_pg_database(url)


@pytest.mark.pg_only
def test_two_replicas_share_events_and_deliver_each_webhook_once(
    backend: str, tmp_dir: Path, uid: str
) -> None:
    url = migrated_database_url(backend, tmp_dir)
    a = ServerProcess(url, env=ENV).start()
    b = ServerProcess(url, env=ENV).start()
    try:
        with receiver() as rec, a.client() as api_a, b.client() as api_b:
            register(api_a, rec.url, ["task.created"])
            ids = [submit(api, f"rep-{uid}:v1")["task_id"] for api in [api_a, api_b] * 15]
            wait_for(
                lambda: {e["task_id"] for e in rec.events()} >= set(ids),
                timeout=20,
                message="every event delivered",
            )
            time.sleep(1.0)  # room for a duplicate to show up
            counts = Counter(e["task_id"] for e in rec.events())
            assert all(counts[t] == 1 for t in ids), counts
            assert len(rec.requests) == len(ids)
            # a subscriber of replica b sees a change made through replica a
            ws_url = b.url.replace("http://", "ws://") + "/ws/tasks?types=task.created"
            with connect(ws_url, open_timeout=10) as ws:
                assert json.loads(ws.recv(timeout=10))["type"] == "queue.stats"
                task_id = submit(api_a, f"rep-{uid}:v1")["task_id"]
                message = json.loads(ws.recv(timeout=5))
                while message["type"] == "queue.stats":
                    message = json.loads(ws.recv(timeout=5))
                assert message["task_id"] == task_id
    finally:
        a.stop()
        b.stop()
        drop_pg_database(url)
