"""The Celery side of `bench.compare`: one no-op task that counts its completions in Redis.

Started by `bench.compare` as `celery -A bench.celery_app worker …`; configured through the
environment so that every run has its own queue and counter (BENCH_CELERY_BROKER,
BENCH_CELERY_QUEUE, BENCH_CELERY_COUNTER)."""

from __future__ import annotations

import os

import redis
from celery import Celery

BROKER = os.environ.get("BENCH_CELERY_BROKER", "redis://127.0.0.1:6379/15")
QUEUE = os.environ.get("BENCH_CELERY_QUEUE", "ains-bench")
COUNTER = os.environ.get("BENCH_CELERY_COUNTER", "ains-bench-done")

app = Celery("ains_bench", broker=BROKER)
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,  # no result backend: completions are counted below
    worker_prefetch_multiplier=100,  # as AINS agents claim up to 100
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
_counter: redis.Redis | None = None


@app.task(name="ains_bench.noop")
def noop(i: int) -> None:
    """No work; one INCR so that the bench sees the completion (the only cost we add)."""
    global _counter
    if _counter is None:
        _counter = redis.Redis.from_url(BROKER)
    _counter.incr(COUNTER)
