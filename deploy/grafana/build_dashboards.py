"""Build the two AINS Grafana dashboards (schemaVersion 39) from one list of panels.

    python deploy/grafana/build_dashboards.py            # rewrite deploy/grafana/dashboards/*.json
    python deploy/grafana/build_dashboards.py --markdown # print the panel table for the docs

Edit the panels here, not the JSON: tests/metrics/test_dashboards.py checks they agree.

PromQL conventions: counters are per process, so they are `sum`med over replicas; state gauges
(queue depth, agents, trust, tasks in state) are the same on every replica, so they are `max`ed.
A series that only exists once something happened (a capability, a failure) ends in
`or on() vector(0)` so the panel shows 0 rather than "No data". The fallback must never hide a
metric the server does not have: tests/metrics/test_dashboard_metrics.py checks that every metric
named here is exposed by a running server, and the live Prometheus test that every expression
answers without its fallback (only the 5xx panels may be empty). The cache panels chart
`ains_cache_hits_total` / `ains_cache_misses_total`, which the API-key cache records.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
ZERO = " or on() vector(0)"


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    targets: tuple[Target, ...]
    unit: str = "short"
    kind: str = "timeseries"  # timeseries | stat | bargauge
    width: int = 12
    height: int = 8
    stacked: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def rate(metric: str, selector: str = "", by: str = "", window: str = "1m") -> str:
    grouping = f" by ({by}) " if by else ""
    return f"sum{grouping}(rate({metric}{selector}[{window}]))"


def quantile(q: float, histogram: str, by: str = "", window: str = "1m") -> str:
    grouping = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({grouping}) (rate({histogram}_bucket[{window}])))"


def ratio(part: str, whole: str) -> str:
    return f"({part}) / ({whole})"


HTTP_CORE = (
    Panel(
        "Request rate",
        "All HTTP requests per second, every route and status.",
        (Target(rate("ains_http_requests_total"), "req/s"),),
        unit="reqps", kind="stat", width=6, height=4,
    ),
    Panel(
        "4xx rate",
        "Client errors per second (validation, auth, not found, conflicts).",
        (Target(rate("ains_http_requests_total", '{status=~"4.."}') + " or vector(0)", "4xx/s"),),
        unit="reqps", kind="stat", width=6, height=4,
    ),
    Panel(
        "5xx rate",
        "Server errors per second. Should be 0.",
        (Target(rate("ains_http_requests_total", '{status=~"5.."}') + " or vector(0)", "5xx/s"),),
        unit="reqps", kind="stat", width=6, height=4,
        extra={"thresholds": [("green", None), ("red", 0.01)]},
    ),
    Panel(
        "5xx ratio",
        "Share of requests answered with a 5xx over 5 minutes.",
        (
            Target(
                ratio(
                    rate("ains_http_requests_total", '{status=~"5.."}', window="5m")
                    + " or vector(0)",
                    rate("ains_http_requests_total", window="5m"),
                ),
                "5xx share",
            ),
        ),
        unit="percentunit", kind="stat", width=6, height=4,
        extra={"thresholds": [("green", None), ("orange", 0.001), ("red", 0.01)]},
    ),
    Panel(
        "Request rate by route and status",
        "Requests per second by matched route template and status code.",
        (Target(rate("ains_http_requests_total", by="route, status"), "{{route}} {{status}}"),),
        unit="reqps", width=24,
    ),
    Panel(
        "Latency p95 by route",
        "95th percentile request duration (received → response sent), by route.",
        (Target(quantile(0.95, "ains_http_request_duration_seconds", "route"), "{{route}}"),),
        unit="s",
    ),
    Panel(
        "Latency p99 by route",
        "99th percentile request duration by route; long-polls (claim) sit near their wait.",
        (Target(quantile(0.99, "ains_http_request_duration_seconds", "route"), "{{route}}"),),
        unit="s",
    ),
    Panel(
        "4xx by route",
        "Client errors per second by route and status.",
        (
            Target(
                rate("ains_http_requests_total", '{status=~"4.."}', by="route, status") + ZERO,
                "{{route}} {{status}}",
            ),
        ),
        unit="reqps",
    ),
    Panel(
        "5xx by route",
        "Server errors per second by route and status.",
        (
            Target(
                rate("ains_http_requests_total", '{status=~"5.."}', by="route, status") + ZERO,
                "{{route}} {{status}}",
            ),
        ),
        unit="reqps",
    ),
    Panel(
        "DB query p95 by operation",
        "95th percentile database statement time by operation.",
        (Target(quantile(0.95, "ains_db_query_duration_seconds", "operation"), "{{operation}}"),),
        unit="s",
    ),
    Panel(
        "DB queries by operation",
        "Database statements per second by operation.",
        (Target(rate("ains_db_query_duration_seconds_count", by="operation"), "{{operation}}"),),
        unit="ops",
    ),
    Panel(
        "Cache hit ratio by cache",
        "Share of lookups answered from the replicas' in-process caches over 5 minutes "
        "(api_keys: the API-key lookup every authenticated request makes).",
        (
            Target(
                ratio(
                    rate("ains_cache_hits_total", by="cache", window="5m"),
                    rate("ains_cache_hits_total", by="cache", window="5m")
                    + " + "
                    + rate("ains_cache_misses_total", by="cache", window="5m"),
                ),
                "{{cache}}",
            ),
        ),
        unit="percentunit",
    ),
    Panel(
        "Cache lookups by cache and result",
        "Cache hits and misses (misses go to the database) per second, by cache.",
        (
            Target(rate("ains_cache_hits_total", by="cache"), "{{cache}} hit"),
            Target(rate("ains_cache_misses_total", by="cache"), "{{cache}} miss"),
        ),
        unit="ops",
    ),
    Panel(
        "Events published",
        "Events published per second by type.",
        (Target(rate("ains_events_published_total", by="type") + ZERO, "{{type}}"),),
        unit="ops",
    ),
    Panel(
        "Metrics snapshot time",
        "Time the scrape-time database snapshot (queue, agents, trust, states) takes.",
        (Target("max(ains_state_snapshot_seconds)", "snapshot"),),
        unit="s",
    ),
    Panel(
        "Metrics snapshot OK",
        "1 when every scraped replica read its state snapshot from the database, else 0.",
        (Target("min(ains_state_snapshot_ok)", "ok"),),
        kind="stat", width=6, height=4,
        extra={"thresholds": [("red", None), ("green", 1)]},
    ),
)  # fmt: skip


def _task_rate(metric: str, legend: str, window: str = "1m") -> Target:
    return Target(rate(metric, window=window) + ZERO, legend)


TASKS_AGENTS = (
    Panel(
        "Agents online",
        "Agents with a recent heartbeat.",
        (Target("max(ains_agents_online)", "online"),),
        kind="stat", width=6, height=4,
    ),
    Panel(
        "Queue depth",
        "Tasks waiting to be routed (PENDING), all priorities.",
        (Target("sum(max by (priority) (ains_queue_depth))", "waiting"),),
        kind="stat", width=6, height=4,
    ),
    Panel(
        "Oldest wait",
        "Age of the oldest waiting task.",
        (Target("max(ains_queue_oldest_wait_seconds)", "oldest"),),
        unit="s", kind="stat", width=6, height=4,
        extra={"thresholds": [("green", None), ("orange", 10), ("red", 60)]},
    ),
    Panel(
        "Dead-lettered (1h)",
        "Tasks moved to the dead-letter queue in the last hour.",
        (Target('sum(increase(ains_tasks_dead_lettered_total[1h]))' + ZERO, "dead-lettered"),),
        kind="stat", width=6, height=4,
        extra={"thresholds": [("green", None), ("red", 1)]},
    ),
    Panel(
        "Task creation and completion rate",
        "Tasks created and completed per second.",
        (
            _task_rate("ains_tasks_created_total", "created"),
            _task_rate("ains_tasks_completed_total", "completed"),
        ),
        unit="ops",
    ),
    Panel(
        "Task failure rate",
        "Failed attempts, timeouts and cancellations per second, and the failed share.",
        (
            _task_rate("ains_tasks_failed_total", "failed"),
            _task_rate("ains_tasks_timed_out_total", "timed out"),
            _task_rate("ains_tasks_cancelled_total", "cancelled"),
        ),
        unit="ops",
    ),
    Panel(
        "Retry rate",
        "Retries scheduled per second, by capability.",
        (Target(rate("ains_tasks_retried_total", by="capability") + ZERO, "{{capability}}"),),
        unit="ops",
    ),
    Panel(
        "Dead-lettered",
        "Tasks moved to the dead-letter queue per 5 minutes, by capability.",
        (
            Target(
                "sum by (capability) (increase(ains_tasks_dead_lettered_total[5m]))" + ZERO,
                "{{capability}}",
            ),
        ),
    ),
    Panel(
        "Queue depth by priority",
        "Waiting tasks by priority (10 highest), over time.",
        (Target("max by (priority) (ains_queue_depth)", "p{{priority}}"),),
        stacked=True,
    ),
    Panel(
        "Queue depth by capability",
        "Waiting tasks by required capability.",
        (Target("max by (capability) (ains_queue_depth_by_capability)" + ZERO, "{{capability}}"),),
    ),
    Panel(
        "Oldest wait over time",
        "Age of the oldest waiting task; climbing means no capable agent is taking work.",
        (Target("max(ains_queue_oldest_wait_seconds)", "oldest wait"),),
        unit="s",
    ),
    Panel(
        "Dispatch latency",
        "Queued → handed to an agent: p50 and p99.",
        (
            Target(quantile(0.5, "ains_dispatch_latency_seconds"), "p50"),
            Target(quantile(0.99, "ains_dispatch_latency_seconds"), "p99"),
        ),
        unit="s",
    ),
    Panel(
        "Task execution p95 by capability",
        "95th percentile of start → completion report, by capability.",
        (
            Target(
                quantile(0.95, "ains_task_execution_seconds", "capability", "5m") + ZERO,
                "{{capability}}",
            ),
        ),
        unit="s",
    ),
    Panel(
        "Tasks by state",
        "Tasks in each state, from the database.",
        (Target("max by (status) (ains_tasks_in_state)", "{{status}}"),),
    ),
    Panel(
        "Agents by status",
        "Registered agents by status.",
        (
            Target("max(ains_agents_online)", "online"),
            Target("max by (status) (ains_agents_total)" + ZERO, "{{status}}"),
        ),
    ),
    Panel(
        "Heartbeats and offline transitions",
        "Heartbeats per second; agents going offline and registering, per 5 minutes.",
        (
            Target(rate("ains_agent_heartbeats_total"), "heartbeats/s"),
            Target("sum(increase(ains_agents_offline_total[5m]))", "went offline (5m)"),
            Target("sum(increase(ains_agents_registered_total[5m]))", "registered (5m)"),
        ),
    ),
    Panel(
        "Trust score distribution",
        "Agents per trust-score tenth.",
        (Target("max by (bucket) (ains_agents_by_trust)", "{{bucket}}"),),
        kind="bargauge",
    ),
    Panel(
        "Trust score by agent",
        "Trust score of each agent over time (lowest 20).",
        (Target("bottomk(20, max by (agent_id) (ains_agent_trust_score))" + ZERO, "{{agent_id}}"),),
        unit="percentunit",
    ),
    Panel(
        "Webhook deliveries",
        "Delivery attempts per second by outcome (success, failure, timeout, refused).",
        (Target(rate("ains_webhook_deliveries_total", by="outcome"), "{{outcome}}"),),
        unit="ops",
    ),
    Panel(
        "Webhook success rate",
        "Share of delivery attempts that succeeded over 5 minutes (empty without deliveries).",
        (
            Target(
                ratio(
                    rate("ains_webhook_deliveries_total", '{outcome="success"}', window="5m"),
                    rate("ains_webhook_deliveries_total", window="5m"),
                ),
                "success",
            ),
        ),
        unit="percentunit",
    ),
    Panel(
        "Webhook delivery latency",
        "Event → receiver answered: p50 and p95.",
        (
            Target(quantile(0.5, "ains_webhook_delivery_seconds", window="5m"), "p50"),
            Target(quantile(0.95, "ains_webhook_delivery_seconds", window="5m"), "p95"),
        ),
        unit="s",
    ),
)  # fmt: skip

EN_DASH = "\N{EN DASH}"  # the titles are spelled with an en dash, not a hyphen
DASHBOARDS = {
    "ains-http-core": (f"AINS {EN_DASH} HTTP & Core", HTTP_CORE, "ains-tasks-agents"),
    "ains-tasks-agents": (f"AINS {EN_DASH} Tasks & Agents", TASKS_AGENTS, "ains-http-core"),
}


def _thresholds(steps: list[tuple[str, float | None]]) -> dict[str, Any]:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    instant = panel.kind == "bargauge"
    defaults: dict[str, Any] = {
        "unit": panel.unit,
        "color": {"mode": "palette-classic" if panel.kind == "timeseries" else "thresholds"},
        "thresholds": _thresholds(panel.extra.get("thresholds", [("green", None)])),
    }
    if panel.kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 25 if panel.stacked else 10,
            "showPoints": "never",
            "spanNulls": True,
            "stacking": {"mode": "normal" if panel.stacked else "none", "group": "A"},
        }
        options: dict[str, Any] = {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    else:
        options = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "horizontal" if panel.kind == "bargauge" else "auto",
        }
        if panel.kind == "stat":
            options |= {"colorMode": "value", "graphMode": "area", "textMode": "auto"}
        else:
            options |= {"displayMode": "gradient", "showUnfilled": True}
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
        "targets": [
            {
                "refId": chr(ord("A") + index),
                "datasource": DATASOURCE,
                "editorMode": "code",
                "expr": target.expr,
                "legendFormat": target.legend,
                "range": not instant,
                "instant": instant,
            }
            for index, target in enumerate(panel.targets)
        ],
    }


def _layout(panels: tuple[Panel, ...]) -> list[dict[str, Any]]:
    placed, x, y, row_height = [], 0, 0, 0
    for panel_id, panel in enumerate(panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        placed.append(_panel_json(panel, panel_id, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    return placed


def dashboard(uid: str) -> dict[str, Any]:
    """The Grafana JSON model of dashboard `uid`."""
    title, panels, other = DASHBOARDS[uid]
    return {
        "annotations": {"list": []},
        "description": f"{title}: DukeNet AINS metrics (docs/monitoring.md).",
        "editable": True,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "title": DASHBOARDS[other][0],
                "type": "link",
                "url": f"/d/{other}",
                "targetBlank": False,
                "keepTime": True,
            }
        ],
        "panels": _layout(panels),
        "refresh": "5s",
        "schemaVersion": 39,
        "tags": ["ains"],
        "templating": {
            "list": [
                {
                    "name": "DS_PROMETHEUS",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {"selected": True, "text": "Prometheus", "value": "prometheus"},
                    "hide": 0,
                    "refresh": 1,
                    "regex": "",
                    "options": [],
                }
            ]
        },
        "time": {"from": "now-30m", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
    }


def render(uid: str) -> str:
    """Dashboard `uid` as the exact text stored in deploy/grafana/dashboards/."""
    return json.dumps(dashboard(uid), indent=2, ensure_ascii=False) + "\n"


def markdown() -> str:
    """A Markdown table of every panel: dashboard, panel, expression, meaning."""
    lines = ["| dashboard | panel | expression | what it shows |", "|---|---|---|---|"]
    for title, panels, _ in DASHBOARDS.values():
        for panel in panels:
            exprs = "<br>".join(f"`{t.expr}`".replace("|", "\\|") for t in panel.targets)
            lines.append(f"| {title} | {panel.title} | {exprs} | {panel.description} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    if "--markdown" in argv:
        sys.stdout.write(markdown())
        return
    for uid in DASHBOARDS:
        (HERE / "dashboards" / f"{uid}.json").write_text(render(uid), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
