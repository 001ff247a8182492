"""State gauges computed at scrape time from a database snapshot.

Counters live in each process; state does not: every replica and worker reads the same database,
so `ains_queue_depth` is the same whichever of them Prometheus scrapes. Dashboards aggregate these
gauges with `max`, never `sum`, for that reason.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ains.tasks.states import TaskStatus

logger = logging.getLogger(__name__)

PRIORITIES: Final = tuple(range(1, 11))
# Reported at 0 when absent so that every state has a series from the first scrape.
TASK_STATUSES: Final = tuple(s.value for s in TaskStatus)
TRUST_BUCKETS: Final = tuple(f"{i / 10:.1f}-{(i + 1) / 10:.1f}" for i in range(10))


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """What the database says right now; built by the server's snapshot function."""

    queue_depth_by_priority: dict[int, int] = field(default_factory=dict)
    queue_depth_by_capability: dict[str, int] = field(default_factory=dict)
    oldest_wait_seconds: float = 0.0
    agents_online: int = 0
    agents_by_status: dict[str, int] = field(default_factory=dict)
    trust_scores: dict[str, float] = field(default_factory=dict)
    # per (agent_id, capability) with a recorded score: trust now (decayed), and quarantine
    capability_trust: dict[tuple[str, str], float] = field(default_factory=dict)
    quarantined: dict[tuple[str, str], bool] = field(default_factory=dict)
    tasks_by_status: dict[str, int] = field(default_factory=dict)


def trust_bucket(score: float) -> str:
    """Name the tenth of [0, 1] that `score` falls in; 1.0 belongs to ``"0.9-1.0"``."""
    # The epsilon keeps 0.3 (2.9999… after scaling on some inputs) in "0.3-0.4".
    index = min(max(math.floor(score * 10 + 1e-9), 0), 9)
    return TRUST_BUCKETS[index]


def _gauge(name: str, doc: str, label: str, values: Mapping[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family


def _pair_gauge(name: str, doc: str, values: Mapping[tuple[str, str], float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["agent_id", "capability"])
    for (agent_id, capability), value in values.items():
        family.add_metric([agent_id, capability], value)
    return family


def _with_defaults(values: Mapping[str, int], keys: Iterable[str]) -> dict[str, int]:
    merged = dict.fromkeys(keys, 0)
    merged.update(values)
    return merged


def state_families(snapshot: StateSnapshot) -> list[Metric]:
    """Turn a snapshot into the `ains_*` state gauge families."""
    by_priority = _with_defaults(
        {str(p): n for p, n in snapshot.queue_depth_by_priority.items()}, map(str, PRIORITIES)
    )
    by_trust = dict.fromkeys(TRUST_BUCKETS, 0)
    for score in snapshot.trust_scores.values():
        by_trust[trust_bucket(score)] += 1
    return [
        _gauge("ains_queue_depth", "Tasks waiting (PENDING) by priority.", "priority", by_priority),
        _gauge(
            "ains_queue_depth_by_capability",
            "Tasks waiting (PENDING) by required capability.",
            "capability",
            snapshot.queue_depth_by_capability,
        ),
        GaugeMetricFamily(
            "ains_queue_oldest_wait_seconds",
            "Age of the oldest waiting task (0 when the queue is empty).",
            value=snapshot.oldest_wait_seconds,
        ),
        GaugeMetricFamily(
            "ains_agents_online", "Agents currently online.", value=snapshot.agents_online
        ),
        _gauge("ains_agents_total", "Agents by status.", "status", snapshot.agents_by_status),
        _gauge(
            "ains_agent_trust_score", "Trust score per agent.", "agent_id", snapshot.trust_scores
        ),
        _pair_gauge(
            "ains_agent_trust",
            "Trust score per agent and capability (decayed toward 0.5 while idle).",
            snapshot.capability_trust,
        ),
        _pair_gauge(
            "ains_agent_quarantined",
            "1 when the agent is quarantined for the capability (canary tasks only), else 0.",
            {k: float(v) for k, v in snapshot.quarantined.items()},
        ),
        _gauge("ains_agents_by_trust", "Agents per trust-score tenth.", "bucket", by_trust),
        _gauge(
            "ains_tasks_in_state",
            "Tasks by status.",
            "status",
            _with_defaults(snapshot.tasks_by_status, TASK_STATUSES),
        ),
    ]


class StateCollector(Collector):
    """A prometheus_client collector that reads a `StateSnapshot` at every scrape.

    `snapshot` is synchronous and may block on the database: call `render_metrics` from a worker
    thread. A failing snapshot is logged and reported as ``ains_state_snapshot_ok 0`` instead of
    failing the whole scrape.
    """

    def __init__(self, snapshot: Callable[[], StateSnapshot]) -> None:
        self._snapshot = snapshot

    def describe(self) -> list[Metric]:
        """Name the families without touching the database (used on registration)."""
        return [*state_families(StateSnapshot()), *_health_families(ok=True, seconds=0.0)]

    def collect(self) -> Iterator[Metric]:
        """Take a snapshot and yield the state gauges."""
        started = time.perf_counter()
        try:
            snapshot = self._snapshot()
        except Exception:
            logger.exception("metrics state snapshot failed")
            yield from _health_families(ok=False, seconds=time.perf_counter() - started)
            return
        yield from state_families(snapshot)
        yield from _health_families(ok=True, seconds=time.perf_counter() - started)


def _health_families(*, ok: bool, seconds: float) -> list[Metric]:
    return [
        GaugeMetricFamily(
            "ains_state_snapshot_ok",
            "1 when the last scrape-time database snapshot succeeded, else 0.",
            value=1.0 if ok else 0.0,
        ),
        GaugeMetricFamily(
            "ains_state_snapshot_seconds",
            "Time taken by the scrape-time database snapshot.",
            value=seconds,
        ),
    ]
