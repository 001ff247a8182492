"""A real Prometheus scraping a live AINS server (`ains serve`) while two sample agents work
through ~50 tasks (some failing, some retried, a webhook receiving events): every panel
expression of both dashboards must return data. Plus exact metric values after a known
workload and bounded route labels under random paths.

Without the `prometheus` binary the Prometheus test skips locally and fails in CI
(AINS_TEST_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.metrics.test_dashboards import exprs, free_port
from tests.metrics.workload import exercise
from tests.support.receiver import receiver
from tests.support.server import AgentProcess, ServerProcess, running_server
from tests.support.server import wait_for as wait_until
from tests.support.services import require_executable

CAPABILITY = "live:v1"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A live server on SQLite with two sample agents and a webhook receiver."""
    tmp = tmp_path_factory.mktemp("live")
    with (
        receiver() as hook,
        running_server("sqlite", tmp, AINS_WEBHOOK_ALLOWED_HOSTS='["127.0.0.1"]') as server,
    ):
        with server.client() as api:
            r = api.post("/aitp/webhooks", json={"url": hook.url, "events": ["*"]})
            assert r.status_code == 201, r.text
        agents = [
            AgentProcess(server.url, ["-c", CAPABILITY, "--handler", "echo", "--fail-rate", "0.2",
                                      "--permanent-fail-rate", "0.05", "--heartbeat-interval",
                                      "0.5", "--wait-seconds", "1", "--name", f"live-{i}"]).start()
            for i in range(2)
        ]  # fmt: skip
        try:
            yield server
        finally:
            for agent in agents:
                agent.stop()


def _submit(api: httpx.Client, capability: str, n: int, **fields: object) -> list[str]:
    ids = []
    for i in range(n):
        body = {"client_id": "live", "task_type": "demo", "capability_required": capability,
                "input_data": {"i": i}, **fields}  # fmt: skip
        r = api.post("/aitp/tasks", json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["task_id"])
    return ids


def _series(server: ServerProcess, name: str) -> dict[frozenset[tuple[str, str]], float]:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[frozenset(sample.labels.items())] = sample.value
    return found


@pytest.fixture(scope="module")
def prometheus(
    live: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    binary = require_executable("prometheus", "apt-get install prometheus")
    tmp = tmp_path_factory.mktemp("prom")
    config = tmp / "prometheus.yml"
    target = f"127.0.0.1:{live.port}"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs: [{{job_name: ains, static_configs: [{{targets: ['{target}']}}]}}]\n"
    )
    address = f"127.0.0.1:{free_port()}"
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
         f"--web.listen-address={address}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://{address}", timeout=10) as client:

            def ready() -> bool:
                try:
                    return client.get("/-/ready").status_code == 200
                except httpx.HTTPError:
                    return False

            wait_until(ready, 30, message="prometheus ready")
            yield client
    finally:
        proc.terminate()
        proc.wait(timeout=15)


# `or on() vector(0)` turns "no series" into 0 on a dashboard. After the workload every expression
# must answer without it too, so that a fallback never stands in for a missing metric; only the
# 5xx selectors are rightly empty (a healthy server answers no 5xx).
FALLBACK = re.compile(r"\s+or\s+(on\(\)\s+)?vector\(0\)")
NO_5XX_EXPECTED = re.compile(r'status=~"5\.\."')


def without_fallback(expr: str) -> str:
    return FALLBACK.sub("", expr)


def _query(prom: httpx.Client, expr: str) -> dict[str, object]:
    answer: dict[str, object] = prom.get("/api/v1/query", params={"query": expr}).json()
    return answer


@pytest.mark.slow
def test_every_dashboard_expression_returns_data_from_a_live_server(
    live: ServerProcess, prometheus: httpx.Client
) -> None:
    with live.client() as api:
        ids = _submit(api, CAPABILITY, 50, max_retries=1)

        def all_finished() -> bool:
            s = api.get("/aitp/analytics/summary", params={"period": "all"}).json()
            return bool(s["total_tasks"] >= len(ids) and s["pending"] == 0)

        wait_until(all_finished, 90, interval=0.5, message="the workload to finish")
        # a retry, a dead letter, a timeout, a cancel (last), a task left waiting, a 404
        exercise(api, uuid.uuid4().hex[:8])

    def scraped(expr: str, times: int) -> bool:
        result = _query(prometheus, f"count_over_time({expr}[5m])")
        data = result.get("data", {})
        values = data.get("result", []) if isinstance(data, dict) else []
        return bool(values) and min(float(v["value"][1]) for v in values) >= times

    wait_until(lambda: scraped("ains_tasks_created_total", 5), 60, interval=0.5,
               message="five scrapes of the live server")  # fmt: skip
    # a rate needs two samples: the cancel happened last, so its series was scraped twice by then
    wait_until(lambda: scraped("ains_tasks_cancelled_total", 2), 30, interval=0.5,
               message="two scrapes after the workload")  # fmt: skip
    empty, failed = [], []
    for expr in exprs():
        for query in (expr, without_fallback(expr)):
            answer = _query(prometheus, query)
            data = answer.get("data")
            has_rows = isinstance(data, dict) and bool(data["result"])
            if answer["status"] != "success":
                failed.append((query, answer.get("error")))
            elif not has_rows and not NO_5XX_EXPECTED.search(query):
                empty.append(query)
    assert not failed, failed
    assert not empty, f"no data even after a workload that exercises every metric: {empty}"


def test_metric_values_after_a_known_workload(live: ServerProcess) -> None:
    capability = f"known-{uuid.uuid4().hex[:6]}"
    agent = AgentProcess(live.url, ["-c", capability, "--handler", "echo", "--wait-seconds", "1"])
    agent.start()
    try:
        with live.client() as api:
            ids = _submit(api, capability, 5)
            for task_id in ids:
                wait_until(
                    lambda t=task_id: api.get(f"/aitp/tasks/{t}").json()["status"] == "COMPLETED",
                    30,
                    message=f"{task_id} completed",
                )
    finally:
        agent.stop()
    label = frozenset({("capability", capability)})
    assert _series(live, "ains_tasks_created_total")[label] == 5
    assert _series(live, "ains_tasks_completed_total")[label] == 5
    assert label not in _series(live, "ains_tasks_failed_total")


def test_random_paths_do_not_create_route_labels(live: ServerProcess) -> None:
    def routes() -> set[str]:
        return {dict(k)["route"] for k in _series(live, "ains_http_requests_total")}

    noises: list[str] = []
    with live.client() as api:
        api.get("/nowhere-warmup")  # the one label unmatched paths share
        api.get("/aitp/tasks/warmup-id")
        before = routes()
        for _ in range(200):
            noise = uuid.uuid4().hex
            noises.append(noise)
            api.get(f"/{noise}/{noise[:4]}")
            api.get(f"/aitp/tasks/{noise}")
    after = routes()
    # Other tests' agents share this server, so real routes may appear meanwhile; what must
    # never appear is a label made from a raw path.
    leaked = sorted(r for r in after - before if any(n[:8] in r for n in noises))
    assert not leaked, leaked
    assert "<unmatched>" in after and "/aitp/tasks/{task_id}" in after
    assert not any(len(r) >= 32 and r.strip("/").isalnum() for r in after)
    assert len(after) < 100
