"""Render `/metrics`, in one process or aggregated over `ains serve --workers N`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from ains.metrics.registry import MULTIPROC_ENV

# The classic text format: every Prometheus 2.x and 3.x parses it.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class _Union(Collector):
    """Yields the metrics of several collectors, without registering anything."""

    def __init__(self, *collectors: Collector) -> None:
        self._collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


def multiprocess_dir() -> str | None:
    """The multi-process directory in effect, or None in single-process mode."""
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(path: str | os.PathLike[str]) -> None:
    """Create `path` and delete metric files left there by an earlier run.

    Call it in the parent before any worker starts, then set ``PROMETHEUS_MULTIPROC_DIR=path``
    in the environment the workers inherit.
    """
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def mark_process_dead(pid: int, path: str | None = None) -> None:
    """Tell prometheus_client that worker `pid` exited (drops its live-gauge files)."""
    directory = path or multiprocess_dir()
    if directory is not None:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def render_metrics(state_collector: Collector | None = None) -> tuple[bytes, str]:
    """Return the `/metrics` body and its content type.

    Counters and histograms come from this process, or from every worker's files when
    ``PROMETHEUS_MULTIPROC_DIR`` is set; the state collector is added exactly once. Blocking
    (the state collector reads the database): run it in a worker thread.
    """
    directory = multiprocess_dir()
    if directory is None:
        source: Collector = REGISTRY
    else:
        source = CollectorRegistry()
        multiprocess.MultiProcessCollector(source, path=directory)  # type: ignore[no-untyped-call]
    if state_collector is not None:
        source = _Union(source, state_collector)
    return generate_latest(source), CONTENT_TYPE
