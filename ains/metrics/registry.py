"""Every AINS metric, defined once.

Counters and histograms record what *this* process did; state (queue depth, agents online,
trust) is read from the database at scrape time by `ains.metrics.state.StateCollector`, so it is
the same whichever replica or worker answers.

Multi-process mode: with `PROMETHEUS_MULTIPROC_DIR` set, prometheus_client backs every value with
a per-process mmap file that `render_metrics` aggregates. The library chooses that backing when
`prometheus_client` is first imported; if something imported it before the variable was set, we
re-choose it here, before creating any metric, so importing this module in a worker whose parent
set the variable always gives file-backed metrics.
"""

from __future__ import annotations

import os
from typing import Final

import prometheus_client
from prometheus_client import Counter, Histogram, values

MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
# the caches that count hits and misses: API-key lookups (ains/security/auth.py)
CACHES: Final = ("api_keys",)


def _ensure_value_class() -> None:
    if os.environ.get(MULTIPROC_ENV) and not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


_ensure_value_class()
# `_created` series double the series count and no dashboard uses them.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

# 0.5 ms … 10 s: an API call answered from memory up to a slow long-poll.
HTTP_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# Queued → handed to an agent: sub-millisecond when an agent waits, minutes when none does.
DISPATCH_BUCKETS: Final = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 300.0,
)  # fmt: skip
EXECUTION_BUCKETS: Final = (
    0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    1800.0, 3600.0,
)  # fmt: skip
WEBHOOK_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
DB_BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0,
)  # fmt: skip

WEBHOOK_OUTCOMES: Final = ("success", "failure", "timeout", "refused")
CACHE_RESULTS: Final = ("hit", "miss")
DB_OPERATIONS: Final = ("select", "insert", "update", "delete", "other")

# HTTP
http_requests_total = Counter(
    "ains_http_requests_total",
    "HTTP requests answered, by method, matched route template and status code.",
    ["method", "route", "status"],
)
http_request_duration_seconds = Histogram(
    "ains_http_request_duration_seconds",
    "Time from request received to response fully sent, by method and route template.",
    ["method", "route"],
    buckets=HTTP_BUCKETS,
)

# Tasks
tasks_created_total = Counter(
    "ains_tasks_created_total", "Tasks created (single, batch, schedule).", ["capability"]
)
tasks_completed_total = Counter(
    "ains_tasks_completed_total", "Tasks that reached COMPLETED.", ["capability"]
)
tasks_failed_total = Counter(
    "ains_tasks_failed_total", "Task attempts reported as failed.", ["capability"]
)
tasks_retried_total = Counter(
    "ains_tasks_retried_total", "Task retries scheduled (automatic or manual).", ["capability"]
)
tasks_cancelled_total = Counter(
    "ains_tasks_cancelled_total", "Tasks that reached CANCELLED.", ["capability"]
)
tasks_timed_out_total = Counter(
    "ains_tasks_timed_out_total", "Task attempts that timed out.", ["capability"]
)
tasks_dead_lettered_total = Counter(
    "ains_tasks_dead_lettered_total", "Tasks moved to the dead-letter queue.", ["capability"]
)
task_execution_seconds = Histogram(
    "ains_task_execution_seconds",
    "Time from an attempt's start to its completion report, by capability.",
    ["capability"],
    buckets=EXECUTION_BUCKETS,
)
dispatch_latency_seconds = Histogram(
    "ains_dispatch_latency_seconds",
    "Time from a task becoming PENDING to it being handed to an agent.",
    buckets=DISPATCH_BUCKETS,
)

# Agents
agent_heartbeats_total = Counter("ains_agent_heartbeats_total", "Agent heartbeats received.")
agents_offline_total = Counter(
    "ains_agents_offline_total", "Agent transitions from online to offline."
)
agents_registered_total = Counter("ains_agents_registered_total", "Agents registered.")

# Webhooks
webhook_deliveries_total = Counter(
    "ains_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (success|failure|timeout|refused).",
    ["outcome"],
)
webhook_delivery_seconds = Histogram(
    "ains_webhook_delivery_seconds",
    "Time from the event to the receiver's answer, for answered deliveries.",
    buckets=WEBHOOK_BUCKETS,
)

# Cache, database, events
cache_hits_total = Counter(
    "ains_cache_hits_total", "Lookups answered from this process's cache, by cache name.",
    ["cache"],
)  # fmt: skip
cache_misses_total = Counter(
    "ains_cache_misses_total", "Lookups that went to the database, by cache name.", ["cache"]
)
db_query_duration_seconds = Histogram(
    "ains_db_query_duration_seconds",
    "Database statement time by operation (select|insert|update|delete|other).",
    ["operation"],
    buckets=DB_BUCKETS,
)
events_published_total = Counter(
    "ains_events_published_total", "Events published, by event type.", ["type"]
)

# Series with a known, closed label set exist from the start (at 0), so rates and ratios
# over them are never empty just because nothing has happened yet.
for _outcome in WEBHOOK_OUTCOMES:
    webhook_deliveries_total.labels(outcome=_outcome)
for _operation in DB_OPERATIONS:
    db_query_duration_seconds.labels(operation=_operation)
for _cache in CACHES:
    cache_hits_total.labels(cache=_cache)
    cache_misses_total.labels(cache=_cache)


def record_cache(cache: str, *, hit: bool) -> None:
    """Count one lookup in the cache named `cache` (e.g. ``"api_keys"``)."""
    (cache_hits_total if hit else cache_misses_total).labels(cache=cache).inc()


def record_webhook_delivery(outcome: str, seconds: float | None = None) -> None:
    """Count one webhook delivery attempt; `seconds` is event → answer when there was one.

    `outcome` must be one of `WEBHOOK_OUTCOMES`.
    """
    if outcome not in WEBHOOK_OUTCOMES:
        raise ValueError(f"unknown webhook outcome {outcome!r}")
    webhook_deliveries_total.labels(outcome=outcome).inc()
    if seconds is not None:
        webhook_delivery_seconds.observe(seconds)
