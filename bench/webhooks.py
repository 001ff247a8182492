"""Webhook delivery benchmark: event → receiver latency (p50/p95) and delivery success against a
receiver that fails a share of requests at random (must still reach 100% with retries).

    .venv/bin/python bench/webhooks.py [--events 200] [--fail-rate 0.3] [--database-url URL]

Starts a real server (SQLite in a temp dir unless --database-url is given) and a real HTTP
receiver on loopback; latency is the receiver's clock minus the event's `timestamp`, for the
first successful delivery of each event (so it includes retries for the unlucky ones), and
separately for first attempts only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    Result,
    add_results_flag,
    bench_database_url,
    emit,
    exit_cleanly_on_sigterm,
)
from tests.support.receiver import receiver
from tests.support.server import ServerProcess, drop_pg_database, wait_for


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--fail-rate", type=float, default=0.3)
    parser.add_argument("--database-url", help="an existing database (default: a fresh one)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--timeout", type=float, default=180)
    add_results_flag(parser)
    args = parser.parse_args()
    url = args.database_url or bench_database_url(args.backend, Path(tempfile.mkdtemp()))
    fresh_pg = args.database_url is None and args.backend == "postgresql"
    server = ServerProcess(url, env={"AINS_WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1"]'})
    rng = random.Random(7)
    try:
        server.start()
        with receiver(lambda _n: 500 if rng.random() < args.fail_rate else 200) as rec:
            with server.client() as api:
                r = api.post("/aitp/webhooks", json={"url": rec.url, "events": ["task.created"]})
                assert r.status_code == 201, r.text
                ids = set()
                for i in range(args.events):
                    body = {"client_id": "bench", "task_type": "t", "input_data": {"i": i}}
                    body["capability_required"] = "bench-webhooks:v1"
                    ids.add(api.post("/aitp/tasks", json=body).json()["task_id"])
                    time.sleep(0.01)  # a steady trickle, not one burst
            wait_for(
                lambda: {e["task_id"] for e in rec.events()} >= ids,
                timeout=args.timeout,
                message="all events delivered",
            )
            first_ok: dict[str, float] = {}
            first_try: dict[str, float] = {}
            for req in rec.requests:
                ev = req.json
                at = datetime.fromisoformat(ev["timestamp"].replace("Z", "+00:00")).timestamp()
                first_try.setdefault(ev["task_id"], req.at - at)
                if req.headers.get("_ok") == "1":
                    first_ok.setdefault(ev["task_id"], req.at - at)
            ok = [v * 1000 for k, v in first_ok.items() if k in ids]
            tries = [v * 1000 for k, v in first_try.items() if k in ids]
            failed = sum(1 for r in rec.requests if r.headers.get("_ok") == "0")
            print(f"backend            {server.backend}")
            print(f"events             {len(ids)}  (receiver fail rate {args.fail_rate:.0%})")
            print(f"requests           {len(rec.requests)}  ({failed} answered 500)")
            print(f"delivered          {len(ok)}/{len(ids)} = {len(ok) / len(ids):.1%}")
            print(f"first attempt      p50 {pct(tries, 0.5):.1f} ms  p95 {pct(tries, 0.95):.1f} ms")
            print(
                f"event -> delivered p50 {pct(ok, 0.5):.1f} ms  p95 {pct(ok, 0.95):.1f} ms  "
                f"max {max(ok):.0f} ms  mean {statistics.mean(ok):.1f} ms (includes retries)",
                flush=True,
            )
            note = f"receiver fails {args.fail_rate:.0%}"
            results = [
                Result("webhooks", server.backend, "first attempt p50", pct(tries, 0.5), "ms"),
                Result("webhooks", server.backend, "first attempt p95", pct(tries, 0.95), "ms"),
                Result("webhooks", server.backend, "event → delivered p95 (with retries)",
                       pct(ok, 0.95), "ms", note),
                Result("webhooks", server.backend, "delivered", 100 * len(ok) / len(ids), "%",
                       note),
            ]  # fmt: skip
            emit(results, args.results)
    finally:
        server.stop()
        if fresh_pg:
            drop_pg_database(url)


if __name__ == "__main__":
    main()
