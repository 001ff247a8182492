"""Every metric a dashboard panel names is one a running server really exposes, with a series,
after a known workload: an `or on() vector(0)` fallback can then only stand for "nothing has
happened yet", never for a metric that does not exist."""

from __future__ import annotations

import httpx

from tests.metrics.test_dashboards import METRIC_NAME, exprs
from tests.metrics.workload import exercise, exposed_series
from tests.support.server import ServerProcess


def dashboard_metrics() -> set[str]:
    return {metric for expr in exprs() for metric in METRIC_NAME.findall(expr)}


def test_every_dashboard_metric_is_exposed_by_a_running_server(
    server: ServerProcess, api: httpx.Client, uid: str
) -> None:
    exercise(api, uid)
    exposed = exposed_series(server.url)
    missing = sorted(dashboard_metrics() - exposed)
    assert not missing, f"panels chart metrics /metrics does not expose: {missing}"


def test_the_name_check_sees_suffixed_series() -> None:
    """The check compares exposition names: histograms by `_bucket`/`_count`, counters by
    `_total` — so a panel naming a bare family name would be reported missing."""
    names = dashboard_metrics()
    assert "ains_http_request_duration_seconds_bucket" in names
    assert "ains_db_query_duration_seconds_count" in names
    assert "ains_tasks_created_total" in names
    assert {"ains_cache_hits_total", "ains_cache_misses_total"} <= names
