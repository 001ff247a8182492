"""A stand-in AINS process for the dashboard test: does some work, then serves /metrics.

python tests/metrics/_exporter.py   # prints the port it listens on, serves until killed
"""

from __future__ import annotations

import asyncio
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from sqlalchemy import create_engine, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ains.metrics import (
    MetricsMiddleware,
    StateCollector,
    StateSnapshot,
    instrument_engine,
    registry,
    render_metrics,
)


async def get_task(request: Request) -> Response:
    return JSONResponse({"task_id": request.path_params["task_id"]})


async def create_task(request: Request) -> Response:
    registry.tasks_created_total.labels(capability="echo:v1").inc()
    return JSONResponse({}, status_code=201)


APP = Starlette(
    routes=[
        Route("/aitp/tasks/{task_id}", get_task),
        Route("/aitp/tasks", create_task, methods=["POST"]),
    ]
)
APP.add_middleware(MetricsMiddleware)
ENGINE = create_engine("sqlite://")
instrument_engine(ENGINE)


def snapshot() -> StateSnapshot:
    with ENGINE.connect() as conn:
        conn.execute(text("SELECT 1")).all()
    return StateSnapshot(
        queue_depth_by_priority={5: 1},
        oldest_wait_seconds=0.5,
        agents_online=1,
        agents_by_status={"ACTIVE": 1},
        trust_scores={"agent-1": 0.5},
        tasks_by_status={"PENDING": 1, "COMPLETED": 3},
    )


COLLECTOR = StateCollector(snapshot)


async def _requests() -> None:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        await client.post("/aitp/tasks")
        await client.get("/aitp/tasks/t-1")
        await client.get("/nowhere")


def work_forever() -> None:
    """What a lightly used server does: some requests, tasks, heartbeats, a webhook."""
    while True:
        asyncio.run(_requests())
        registry.tasks_completed_total.labels(capability="echo:v1").inc()
        registry.task_execution_seconds.labels(capability="echo:v1").observe(0.02)
        registry.dispatch_latency_seconds.observe(0.001)
        registry.agent_heartbeats_total.inc()
        registry.record_webhook_delivery("success", 0.01)
        with ENGINE.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS t (a INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        time.sleep(0.2)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body, content_type = render_metrics(COLLECTOR)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=work_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
