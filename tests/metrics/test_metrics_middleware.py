"""MetricsMiddleware labels requests by route template, never by raw path."""

from __future__ import annotations

import random
import string

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket

from ains.metrics.middleware import UNMATCHED, MetricsMiddleware


async def item(request: Request) -> Response:
    return PlainTextResponse(request.path_params["id"])


async def thing(request: Request) -> Response:
    return PlainTextResponse(request.path_params["thing_id"])


async def status(request: Request) -> Response:
    return Response(status_code=int(request.path_params["code"]))


async def boom(request: Request) -> Response:
    raise RuntimeError("boom")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


def build_app() -> Starlette:
    inner = Starlette(routes=[Route("/things/{thing_id}", thing)])
    app = Starlette(
        routes=[
            Route("/items/{id}", item),
            Route("/status/{code:int}", status, methods=["GET", "POST"]),
            Route("/boom", boom),
            WebSocketRoute("/ws", echo),
            Mount("/sub", app=inner),
        ]
    )
    app.add_middleware(MetricsMiddleware)
    return app


def requests_total(method: str, route: str, status: str) -> float:
    labels = {"method": method, "route": route, "status": status}
    return REGISTRY.get_sample_value("ains_http_requests_total", labels) or 0.0


def duration_count(method: str, route: str) -> float:
    labels = {"method": method, "route": route}
    value = REGISTRY.get_sample_value("ains_http_request_duration_seconds_count", labels)
    return value or 0.0


def route_labels() -> set[str]:
    return {
        sample.labels["route"]
        for family in REGISTRY.collect()
        if family.name == "ains_http_requests"
        for sample in family.samples
    }


def client(app: Starlette | FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def random_segment(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits + "-_.~", k=rng.randint(1, 24)))


async def test_random_paths_keep_route_labels_bounded() -> None:
    rng = random.Random(1234)
    before_items = requests_total("GET", "/items/{id}", "200")
    before_unmatched = requests_total("GET", UNMATCHED, "404")
    async with client(build_app()) as http:
        for _ in range(100):
            assert (await http.get(f"/items/{random_segment(rng)}")).status_code == 200
        for _ in range(100):
            path = "/".join(random_segment(rng) for _ in range(rng.randint(1, 4)))
            assert (await http.get(f"/nothing-here/{path}")).status_code == 404

    assert requests_total("GET", "/items/{id}", "200") - before_items == 100
    assert requests_total("GET", UNMATCHED, "404") - before_unmatched == 100
    assert route_labels() <= {
        "/items/{id}",
        "/status/{code}",
        "/boom",
        "/sub/things/{thing_id}",
        "/metrics",
        "/aitp/{version}/tasks/{task_id}",
        "/aitp/{version}/nested/{x}",
        "/flat",
        UNMATCHED,
    }


@pytest.mark.parametrize("code", [200, 201, 204, 400, 404, 409, 422, 503])
async def test_status_label_is_the_numeric_code(code: int) -> None:
    before = requests_total("POST", "/status/{code}", str(code))
    async with client(build_app()) as http:
        assert (await http.post(f"/status/{code}")).status_code == code
    assert requests_total("POST", "/status/{code}", str(code)) - before == 1


async def test_exception_is_recorded_as_500() -> None:
    before = requests_total("GET", "/boom", "500")
    before_count = duration_count("GET", "/boom")
    async with client(build_app()) as http:
        assert (await http.get("/boom")).status_code == 500
    assert requests_total("GET", "/boom", "500") - before == 1
    assert duration_count("GET", "/boom") - before_count == 1


async def test_method_not_allowed_keeps_the_template() -> None:
    before = requests_total("DELETE", "/items/{id}", "405")
    async with client(build_app()) as http:
        assert (await http.delete("/items/abc")).status_code == 405
    assert requests_total("DELETE", "/items/{id}", "405") - before == 1


async def test_unknown_methods_are_folded_into_other() -> None:
    before = requests_total("OTHER", "/items/{id}", "405")
    async with client(build_app()) as http:
        await http.request("BREW", "/items/abc")
    assert requests_total("OTHER", "/items/{id}", "405") - before == 1


async def test_mounted_routes_get_the_mount_prefix() -> None:
    before = requests_total("GET", "/sub/things/{thing_id}", "200")
    async with client(build_app()) as http:
        assert (await http.get("/sub/things/42")).status_code == 200
    assert requests_total("GET", "/sub/things/{thing_id}", "200") - before == 1


async def test_fastapi_nested_routers_report_the_full_template() -> None:
    app = FastAPI()
    outer = APIRouter(prefix="/aitp/{version}")
    inner = APIRouter()

    @outer.get("/tasks/{task_id}")
    async def get_task(version: str, task_id: str) -> dict[str, str]:
        return {"task_id": task_id}

    @inner.get("/nested/{x}")
    async def nested(version: str, x: str) -> dict[str, str]:
        return {"x": x}

    @app.get("/flat")
    async def flat() -> dict[str, str]:
        return {}

    outer.include_router(inner)
    app.include_router(outer)
    app.add_middleware(MetricsMiddleware)

    before = {
        route: requests_total("GET", route, "200")
        for route in ("/aitp/{version}/tasks/{task_id}", "/aitp/{version}/nested/{x}", "/flat")
    }
    async with client(app) as http:
        assert (await http.get("/aitp/v1/tasks/t-1")).status_code == 200
        assert (await http.get("/aitp/v2/nested/abc")).status_code == 200
        assert (await http.get("/flat")).status_code == 200
    for route, value in before.items():
        assert requests_total("GET", route, "200") - value == 1, route


async def test_websocket_scopes_pass_through_unrecorded() -> None:
    app = build_app()
    received: list[Message] = []
    messages: list[Message] = [{"type": "websocket.connect"}]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        received.append(message)

    scope = {
        "type": "websocket",
        "path": "/ws",
        "raw_path": b"/ws",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "scheme": "ws",
        "server": ("test", 80),
        "subprotocols": [],
    }
    before = route_labels()
    await app(scope, receive, send)
    assert received[0]["type"] == "websocket.accept"
    assert "/ws" not in route_labels() - before
