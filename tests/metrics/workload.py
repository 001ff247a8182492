"""A small, deterministic workload driven over HTTP as a client and a hand-driven agent, so that
every metric a dashboard panel reads has a series afterwards: tasks created, completed, failed,
retried, dead-lettered, timed out and cancelled, a task left waiting, a 404."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.reliability.helpers import claim, complete, fail, register, start, submit, wait_status

NO_RETRY = {"max_retries": 0}
ONE_LATE_RETRY = {"max_retries": 1, "base_delay_seconds": 30, "max_delay_seconds": 30}


def exercise(api: httpx.Client, uid: str) -> None:
    capability, client = f"workload-{uid}:v1", f"workload-{uid}"
    agent = register(api, capability)

    done = claim(api, agent, submit(api, capability, client)["task_id"])
    start(api, done)
    assert complete(api, done).status_code == 200

    retried = claim(
        api, agent, submit(api, capability, client, retry_policy=ONE_LATE_RETRY)["task_id"]
    )
    assert fail(api, retried).status_code == 200
    wait_status(api, retried["task_id"], "RETRY_SCHEDULED")

    dead = claim(api, agent, submit(api, capability, client, retry_policy=NO_RETRY)["task_id"])
    assert fail(api, dead, retryable=False).status_code == 200
    wait_status(api, dead["task_id"], "FAILED")

    slow = submit(api, capability, client, timeout_seconds=0.3, retry_policy=NO_RETRY)
    start(api, claim(api, agent, slow["task_id"]))
    wait_status(api, slow["task_id"], "TIMED_OUT")

    cancelled = submit(api, capability, client)["task_id"]
    r = api.request("DELETE", f"/aitp/tasks/{cancelled}", json={"reason": "workload"})
    assert r.status_code == 200, r.text

    # no agent has this capability: the task waits, so the queue gauges have series
    submit(api, f"workload-waiting-{uid}:v1", client)
    assert api.get(f"/aitp/tasks/task_missing_{uid}").status_code == 404


def exposed_series(base_url: str) -> set[str]:
    """The names of the samples `/metrics` exposes (counters with `_total`, histograms with
    `_bucket`/`_sum`/`_count`) — names declared without a sample do not count."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}
