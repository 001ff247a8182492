"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response

from ains import __version__
from ains.a2a.endpoints import router as a2a_router
from ains.agents.endpoints import router as agents_router
from ains.analytics.endpoints import router as analytics_router
from ains.audit.endpoints import router as audit_router
from ains.audit.request_ids import RequestIdMiddleware
from ains.batches.endpoints import router as batches_router
from ains.clock import Clock, utcnow
from ains.compat.seed004 import router as seed004_router
from ains.config import Settings
from ains.db.migrate import upgrade
from ains.dlq.endpoints import router as dlq_router
from ains.docs_pages import install_docs
from ains.drain import install_drain_on_signals
from ains.events.endpoints import router as events_router
from ains.graphql.mount import graphql_routes
from ains.http import (
    BodyLimitMiddleware,
    FastJSONResponse,
    install_error_handlers,
    peer_of,
    problem,
)
from ains.maintenance.endpoints import router as maintenance_router
from ains.mcp.endpoints import McpHost
from ains.mcp.endpoints import router as mcp_router
from ains.metrics.access import scrape_refusal
from ains.metrics.db import instrument_engine
from ains.metrics.exposition import render_metrics
from ains.metrics.middleware import MetricsMiddleware
from ains.metrics.snapshot import take_snapshot
from ains.metrics.state import StateCollector, StateSnapshot
from ains.openapi import SERVICE_UNAVAILABLE, HealthOut, ReadyOut, install_openapi, returns
from ains.openapi_links import install_links
from ains.queue.endpoints import router as queue_router
from ains.schedules.endpoints import router as schedules_router
from ains.security.endpoints import router as security_router
from ains.security.ratelimit import install_rate_limits
from ains.services import Services, build_services
from ains.tasks.endpoints import hot_router as tasks_hot_router
from ains.tasks.endpoints import router as tasks_router
from ains.templates.endpoints import router as templates_router
from ains.ui.endpoints import install_console
from ains.webhooks.endpoints import router as webhooks_router


def create_app(settings: Settings | None = None, clock: Clock = utcnow) -> FastAPI:
    settings = settings or Settings()
    services = build_services(settings, clock)
    instrument_engine(services.db.engine.sync_engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            upgrade(settings.database_url)
        await services.start()
        install_drain_on_signals(services.drain)
        try:
            yield
        finally:
            await mcp.stop()
            await services.stop()

    app = FastAPI(
        title="DukeNet AINS",
        version=__version__,
        description="AI task network: agents, tasks, routing, retries, schedules, webhooks.",
        default_response_class=FastJSONResponse,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # our metrics are Prometheus'; FastAPI's OpenTelemetry probe reads the environment on
        # every request (about 8% of a submission's CPU) when left on
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = services
    app.state.mcp = mcp = McpHost(services)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    for router in routers():
        # joined directly (not wrapped per router): measurably less CPU per request
        app.router.routes.extend(router.routes)
    install_console(app)
    install_rate_limits(app.router.routes, services.rate_limits)
    # after the guards: a GraphQL request's class (read or submit) is known once it is read
    app.router.routes.extend(graphql_routes(services))
    # /mcp admits each tool call in its own class (a read or a submission), as GraphQL does
    app.router.routes.extend(mcp_router.routes)
    _add_operational_routes(app, services)
    install_docs(app)
    install_openapi(app)
    install_links(app)
    return app


def routers() -> list[Any]:
    # fixed paths under /aitp/tasks/… (batch, schedule) must come before /aitp/tasks/{task_id}
    return [
        tasks_hot_router,
        security_router,
        audit_router,
        agents_router,
        analytics_router,
        dlq_router,
        schedules_router,
        batches_router,
        queue_router,
        templates_router,
        webhooks_router,
        events_router,
        maintenance_router,
        seed004_router,
        a2a_router,
        tasks_router,
    ]


def _add_operational_routes(app: FastAPI, services: Services) -> None:
    @app.get("/health", tags=["operations"], responses=returns(HealthOut))
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__}

    @app.get("/ready", tags=["operations"], responses=returns(ReadyOut) | SERVICE_UNAVAILABLE)
    async def ready() -> Response:
        try:
            await services.db.ping()
        except Exception as exc:
            return problem(
                503, "Service Unavailable", f"database unreachable: {type(exc).__name__}"
            )
        body: dict[str, Any] = {"status": "ready", "database": services.db.dialect_name}
        if services.redis is not None:
            # Redis is optional: without it the server serves from the database, so it is
            # "degraded" (200), not unready; the reason names what failed
            body["redis"] = "ok" if services.redis.healthy else "degraded"
            if not services.redis.healthy:
                body["status"] = "degraded"
                body["redis_problem"] = services.redis.problem
        return FastJSONResponse(body)

    @app.get("/metrics", tags=["operations"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        refusal = scrape_refusal(
            services.settings, request.headers.get("authorization"), peer_of(request)
        )
        if refusal is not None:
            status, reason = refusal
            if status == 403:
                return problem(status, "Forbidden", reason)
            response = problem(status, "Unauthorized", reason)
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        try:
            snapshot: StateSnapshot | Exception = await take_snapshot(
                services.db,
                services.clock(),
                services.settings.agent_offline_after,
                services.settings.trust_decay_half_life_hours,
            )
        except Exception as exc:  # the scrape still serves counters; state reports not ok
            snapshot = exc

        def read() -> StateSnapshot:
            if isinstance(snapshot, Exception):
                raise snapshot
            return snapshot

        body, content_type = render_metrics(StateCollector(read))
        return Response(body, media_type=content_type)
