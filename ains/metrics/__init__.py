"""Prometheus metrics: definitions, HTTP middleware, database timing, scrape-time state.

Wiring (see docs/monitoring.md): wrap the app in `MetricsMiddleware`, call `instrument_engine` on
the engine, and answer `GET /metrics` with `render_metrics(StateCollector(snapshot))` run in a
worker thread. Services record business events through the objects in `ains.metrics.registry`.
"""

from ains.metrics import registry
from ains.metrics.db import instrument_engine
from ains.metrics.exposition import (
    CONTENT_TYPE,
    mark_process_dead,
    multiprocess_dir,
    prepare_multiprocess_dir,
    render_metrics,
)
from ains.metrics.middleware import MetricsMiddleware
from ains.metrics.state import StateCollector, StateSnapshot

__all__ = [
    "CONTENT_TYPE",
    "MetricsMiddleware",
    "StateCollector",
    "StateSnapshot",
    "instrument_engine",
    "mark_process_dead",
    "multiprocess_dir",
    "prepare_multiprocess_dir",
    "registry",
    "render_metrics",
]
