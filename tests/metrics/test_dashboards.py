"""The Grafana dashboards: titles, targets, metric names, PromQL that a Prometheus answers."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

import ains.metrics.registry  # noqa: F401  (registers every ains_ metric)
from ains.metrics.state import StateCollector, StateSnapshot
from tests.support.services import require_executable

REPO = Path(__file__).resolve().parents[2]
DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
TITLES = {
    "ains-http-core.json": "AINS \N{EN DASH} HTTP & Core",
    "ains-tasks-agents.json": "AINS \N{EN DASH} Tasks & Agents",
}
METRIC_NAME = re.compile(r"\bains_[a-zA-Z0-9_]*")
PROMETHEUS_INSTALL = "apt-get install prometheus"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))
    return data


def panels() -> Iterator[tuple[str, dict[str, Any]]]:
    for name in TITLES:
        for panel in load(name)["panels"]:
            yield name, panel


def exprs() -> list[str]:
    return [target["expr"] for _, panel in panels() for target in panel["targets"]]


def defined_series() -> set[str]:
    """Every series name the registry and the state collector can expose."""
    families = [f for f in REGISTRY.collect() if f.name.startswith("ains_")]
    families += StateCollector(StateSnapshot).describe()
    return {f.name + suffix for f in families for suffix in SUFFIXES[f.type]}


def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_dashboards", REPO / "deploy" / "grafana" / "build_dashboards.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def balanced(expr: str) -> bool:
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote: str | None = None
    for char in expr:
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            stack.append(char)
        elif char in pairs and (not stack or stack.pop() != pairs[char]):
            return False
    return not stack and quote is None


@pytest.mark.parametrize("name", sorted(TITLES))
def test_dashboard_titles_uids_and_schema(name: str) -> None:
    dashboard = load(name)
    assert dashboard["title"] == TITLES[name]
    assert dashboard["uid"] == name.removesuffix(".json")
    assert dashboard["schemaVersion"] == 39
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["current"]["value"] == "prometheus"


def test_every_panel_has_targets_with_expressions() -> None:
    for name, panel in panels():
        assert panel["targets"], f"{name}: {panel['title']} has no target"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids)
        for target in panel["targets"]:
            assert target["expr"].strip(), f"{name}: {panel['title']}"
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}"
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24


def test_panel_ids_are_unique_per_dashboard() -> None:
    for name in TITLES:
        ids = [panel["id"] for panel in load(name)["panels"]]
        assert len(set(ids)) == len(ids), name


def test_expressions_only_use_defined_metrics() -> None:
    known = defined_series()
    for expr in exprs():
        for metric in METRIC_NAME.findall(expr):
            assert metric in known, f"{metric} in {expr!r} is not defined in ains.metrics"


def test_expressions_are_balanced() -> None:
    for expr in exprs():
        assert balanced(expr), expr


def test_seed_panels_are_all_there() -> None:
    """Seed 003 §4: the panels each dashboard must have, by the metric they read (the cache
    panels come back with the cache itself)."""
    http = " ".join(t["expr"] for p in load("ains-http-core.json")["panels"] for t in p["targets"])
    tasks = " ".join(
        t["expr"] for p in load("ains-tasks-agents.json")["panels"] for t in p["targets"]
    )
    for needle in (
        "by (route, status)", 'status=~"4.."', 'status=~"5.."', "histogram_quantile(0.95",
        "histogram_quantile(0.99", "ains_db_query_duration_seconds_bucket",
    ):  # fmt: skip
        assert needle in http, needle
    for metric in (
        "ains_tasks_created_total", "ains_tasks_completed_total", "ains_tasks_failed_total",
        "ains_tasks_retried_total", "ains_tasks_dead_lettered_total", "ains_queue_depth",
        "ains_queue_oldest_wait_seconds", "ains_dispatch_latency_seconds_bucket",
        "ains_agents_online", "ains_agent_heartbeats_total", "ains_agents_offline_total",
        "ains_agents_by_trust", "ains_webhook_deliveries_total",
        "ains_webhook_delivery_seconds_bucket",
    ):  # fmt: skip
        assert re.search(rf"\b{metric}\b", tasks), metric


def test_json_matches_its_builder() -> None:
    module = builder()
    for name in TITLES:
        expected = module.render(name.removesuffix(".json"))
        assert (DASHBOARDS / name).read_text(encoding="utf-8") == expected, (
            f"{name} is stale: run python deploy/grafana/build_dashboards.py"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[httpx.Client]:
    """A real Prometheus scraping a stand-in AINS process every second."""
    binary = require_executable("prometheus", PROMETHEUS_INSTALL)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    exporter = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_exporter.py"))],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert exporter.stdout is not None
    target = f"127.0.0.1:{exporter.stdout.readline().strip()}"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs: [{{job_name: ains, static_configs: [{{targets: ['{target}']}}]}}]\n"
    )
    address = f"127.0.0.1:{free_port()}"
    server = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address={address}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://{address}", timeout=5) as client:
            wait_for(lambda: client.get("/-/ready").status_code == 200, 30, "prometheus")

            def scraped_enough() -> bool:
                query = "count_over_time(ains_agents_online[1m])"
                result = client.get("/api/v1/query", params={"query": query}).json()
                return (
                    bool(result["data"]["result"])
                    and float(result["data"]["result"][0]["value"][1]) >= 4
                )

            wait_for(scraped_enough, 30, "four scrapes")
            yield client
    finally:
        for process in (server, exporter):
            process.terminate()
            process.wait(timeout=10)
        exporter.stdout.close()


@pytest.mark.slow
def test_every_expression_returns_data_from_prometheus(prometheus: httpx.Client) -> None:
    empty, failed = [], []
    for expr in exprs():
        answer = prometheus.get("/api/v1/query", params={"query": expr}).json()
        if answer["status"] != "success":
            failed.append((expr, answer.get("error")))
        elif not answer["data"]["result"]:
            empty.append(expr)
    assert not failed, failed
    assert not empty, empty
