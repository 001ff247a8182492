"""Auto-disable counts failed *deliveries* (an event to a webhook that failed all its attempts),
not failed attempts: a burst of first-attempt errors that later succeed leaves the webhook on;
ten deliveries that exhaust their retries turn it off, and the counters and the recorded reason
agree with the delivery logs. A server with 3 attempts per delivery keeps the tests short."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.flows import submit
from tests.support.receiver import receiver
from tests.support.server import ServerProcess, running_server, wait_for
from tests.webhooks.conftest import LOOPBACK_ALLOWED
from tests.webhooks.helpers import deliveries, register

MAX_ATTEMPTS = 3


@pytest.fixture(scope="module")
def retry_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(
        backend,
        tmp_path_factory.mktemp("auto-disable"),
        AINS_WEBHOOK_ALLOWED_HOSTS=LOOPBACK_ALLOWED,
        AINS_WEBHOOK_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        AINS_WEBHOOK_RETRY_BASE_SECONDS="1.0",  # retries come after the burst of first tries
    ) as server:
        yield server


@pytest.fixture
def rapi(retry_server: ServerProcess) -> Iterator[httpx.Client]:
    with retry_server.client() as client:
        yield client


def _hook(api: httpx.Client, hook_id: str) -> dict[str, Any]:
    r = api.get(f"/aitp/webhooks/{hook_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_first_attempt_failures_of_deliveries_that_later_succeed_do_not_disable(
    rapi: httpx.Client, uid: str
) -> None:
    seen: set[str] = set()
    lock = threading.Lock()

    def first_try_fails(_n: int, headers: dict[str, str]) -> int:
        with lock:
            first = headers["webhook-id"] not in seen
            seen.add(headers["webhook-id"])
        return 500 if first else 200

    with receiver(status_by_request=first_try_fails) as rec:
        hook_id = register(rapi, rec.url, ["task.created"])["webhook_id"]
        for _ in range(12):
            submit(rapi, f"flaky-{uid}:v1")
        done = wait_for(
            lambda: (
                len(d := [x for x in deliveries(rapi, hook_id) if x["status"] == "delivered"]) == 12
                and d
            ),
            timeout=30,
            message="12 deliveries delivered on their second attempt",
        )
        assert all(d["attempts"] == 2 for d in done)
        assert [a["status_code"] for a in done[0]["attempt_log"]] == [500, 200]
        hook = _hook(rapi, hook_id)
        assert hook["enabled"] is True and hook["disabled_reason"] is None
        assert hook["consecutive_failures"] == 0
        assert len(rec.requests) == 24
        rapi.delete(f"/aitp/webhooks/{hook_id}")


def test_ten_deliveries_that_exhaust_their_retries_disable_and_counters_agree(
    rapi: httpx.Client, uid: str
) -> None:
    failing = True
    with receiver(lambda _n: 503 if failing else 200) as rec:
        hook_id = register(rapi, rec.url, ["task.created"])["webhook_id"]
        for _ in range(9):
            submit(rapi, f"down-{uid}:v1")
        wait_for(
            lambda: sum(d["status"] == "failed" for d in deliveries(rapi, hook_id)) == 9,
            timeout=30,
            message="9 failed deliveries",
        )
        nine = _hook(rapi, hook_id)
        assert nine["enabled"] is True and nine["consecutive_failures"] == 9
        submit(rapi, f"down-{uid}:v1")
        disabled = wait_for(
            lambda: (h := _hook(rapi, hook_id))["enabled"] is False and h,
            timeout=30,
            message="webhook disabled",
        )
        assert disabled["consecutive_failures"] == 10
        assert disabled["disabled_reason"].startswith(
            f"10 consecutive failed deliveries (the last after {MAX_ATTEMPTS} attempts: HTTP 503"
        )
        items = deliveries(rapi, hook_id)
        assert len(items) == 10
        assert all(d["status"] == "failed" and d["attempts"] == MAX_ATTEMPTS for d in items)
        assert all(len(d["attempt_log"]) == MAX_ATTEMPTS for d in items)
        logs = rapi.get(f"/aitp/webhooks/{hook_id}/logs", params={"limit": 500}).json()
        assert logs["count"] == 10 * MAX_ATTEMPTS == len(rec.requests)
        assert not any(a["success"] for a in logs["items"])

        submit(rapi, f"down-{uid}:v1")
        time.sleep(1.0)
        assert len(rec.requests) == 10 * MAX_ATTEMPTS  # disabled: nothing sent
        failing = False
        r = rapi.post(f"/aitp/webhooks/{hook_id}/enable")
        assert r.status_code == 200 and r.json()["enabled"] is True
        assert r.json()["disabled_reason"] is None and r.json()["consecutive_failures"] == 0
        submit(rapi, f"down-{uid}:v1")
        wait_for(lambda: rec.events(), timeout=30, message="delivery after re-enable")
        rapi.delete(f"/aitp/webhooks/{hook_id}")
