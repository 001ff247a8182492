"""/openapi.json documents every answer as it is sent (ains/openapi.py), /docs works offline
(ains/docs_pages.py), and the answers of the routes beyond the SDK's match their schemas and
write every time in UTC with `Z`."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.support.contract import CheckedTransport, Contract
from tests.support.server import ServerProcess

ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "415", "422", "429", "503"}


@pytest.fixture
def spec(api: httpx.Client) -> dict[str, Any]:
    return dict(api.get("/openapi.json").json())


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    ]


def test_every_route_documents_a_schema_for_its_success(spec: dict[str, Any]) -> None:
    missing = []
    for method, path, op in _operations(spec):
        successes = {k: v for k, v in op["responses"].items() if k.startswith("2")}
        assert successes, (method, path)
        for status, response in successes.items():
            if status == "204":
                assert "content" not in response, (method, path)
                continue
            content = response.get("content", {})
            if not content or any(not c.get("schema") for c in content.values()):
                missing.append(f"{method} {path} {status}")
            for c in content.values():
                schema = c.get("schema", {})
                if schema.get("additionalProperties") is True and "properties" not in schema:
                    missing.append(f"{method} {path} {status}: an open object")
    assert missing == []


def test_errors_are_documented_as_problem_json(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert "errors" in problem["properties"]
    for method, path, op in _operations(spec):
        for status, response in op["responses"].items():
            if status.startswith("2"):
                continue
            assert status in ERROR_STATUSES, (method, path, status)
            assert response["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (method, path, status)
        statuses = set(op["responses"])
        if path not in ("/health", "/ready"):
            assert {"401", "403", "429"} <= statuses, (method, path)
        if "{" in path:
            assert "404" in statuses, (method, path)
        if op.get("parameters") or op.get("requestBody"):
            assert "422" in statuses, (method, path)
        if op.get("requestBody"):
            assert {"413", "415"} <= statuses, (method, path)


def test_conflicts_are_documented_where_state_can_refuse(spec: dict[str, Any]) -> None:
    for method, path in (
        ("POST", "/aitp/tasks/{task_id}/complete"),
        ("POST", "/aitp/tasks/{task_id}/retry"),
        ("DELETE", "/aitp/tasks/{task_id}"),
        ("DELETE", "/ains/keys/{key_id}"),
        ("POST", "/aitp/tasks/schedule/{schedule_id}/pause"),
    ):
        assert "409" in spec["paths"][path][method.lower()]["responses"], (method, path)


def test_aliases_and_export_media_types_are_in_the_spec(spec: dict[str, Any]) -> None:
    paths = spec["paths"]
    for path in ("/ains/webhooks", "/ains/webhooks/{webhook_id}/deliveries"):
        assert path in paths
    for report in ("summary", "agents", "tasks", "trends", "export"):
        assert f"/ains/analytics/{report}" in paths
    export = paths["/aitp/analytics/export"]["get"]["responses"]["200"]["content"]
    assert export["text/csv"]["schema"] == {"type": "string"}
    assert export["application/json"]["schema"]["$ref"].endswith("/ExportOut")
    events = paths["/aitp/events"]["get"]["responses"]["200"]["content"]
    assert list(events) == ["text/event-stream"]


def test_docs_load_with_no_external_url(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as web:
        for page in ("/docs", "/redoc"):
            html = web.get(page)
            assert html.status_code == 200
            assert re.findall(r"(?:https?:)?//[^\s\"'<>]+", html.text) == [], page
            assets = re.findall(r"(?:src|href)=['\"]([^'\"]+)['\"]", html.text)
            assert assets, page
            for asset in assets:
                got = web.get(asset)
                assert got.status_code == 200, asset
                assert len(got.content) > 1000, asset
        bundle = web.get("/docs-assets/swagger-ui-bundle.js").text
        # Swagger UI 5 reads OpenAPI 3.1, which /openapi.json is
        assert web.get("/openapi.json").json()["openapi"].startswith("3.1")
        assert "SwaggerUIBundle" in bundle


def test_the_contract_check_notices_a_wrong_answer(spec: dict[str, Any]) -> None:
    contract = Contract(spec)
    request = httpx.Request("GET", "http://server/aitp/tasks/task_1/result")
    contract.check(request, httpx.Response(200, json={"task_id": "task_1"}))
    undocumented = httpx.Request("GET", "http://server/aitp/queue/stats")
    contract.check(undocumented, httpx.Response(404, json={"detail": "x"}))
    assert len(contract.violations) >= 2
    assert any('"status" is a required property' in v for v in contract.violations)
    assert any("status not documented" in v for v in contract.violations)


def _post(web: httpx.Client, path: str, body: Any, status: int = 200) -> Any:
    r = web.post(path, json=body)
    assert r.status_code == status, (path, r.text)
    return r.json()


def test_answers_beyond_the_sdk_match_their_schemas_and_times_end_in_z(
    server: ServerProcess, spec: dict[str, Any], uid: str
) -> None:
    contract = Contract(spec)
    cap = f"answers-{uid}:v1"
    transport = CheckedTransport(contract)
    with httpx.Client(base_url=server.url, transport=transport, timeout=40) as web:
        agent = _post(web, "/ains/agents", {"name": f"a-{uid}", "capabilities": [cap]}, 201)
        task = _post(
            web,
            "/aitp/tasks",
            {
                "client_id": f"c-{uid}",
                "task_type": "t",
                "capability_required": cap,
                "deadline": "2031-06-01T12:00:00+05:30",
                "retry_policy": {"max_retries": 0},
            },
            201,
        )
        assert task["deadline"] == "2031-06-01T06:30:00Z"
        tid = task["task_id"]
        web.put(f"/aitp/tasks/{tid}/priority", json={"priority": 7})
        web.put(f"/aitp/tasks/{tid}/timeout", json={"timeout_seconds": 60})
        claimed = _post(web, f"/aitp/agents/{agent['agent_id']}/claim", {"wait_seconds": 10})
        attempt = claimed["tasks"][0]["attempt_id"]
        _post(web, f"/aitp/tasks/{tid}/fail", {"attempt_id": attempt, "error": "no"})
        web.get("/aitp/dlq", params={"limit": 5})
        _post(web, f"/aitp/dlq/{tid}/requeue", {})
        web.get(f"/aitp/tasks/{tid}")

        batch = _post(
            web,
            "/aitp/tasks/batch",
            {
                "batch_id": f"b-{uid}",
                "tasks": [
                    {"client_id": f"c-{uid}", "task_type": "t", "capability_required": cap},
                    {"client_id": f"c-{uid}", "task_type": "t", "capability_required": ""},
                ],
            },
            201,
        )
        web.get(f"/aitp/tasks/batch/{batch['batch_id']}")
        web.get(f"/aitp/tasks/batch/{batch['batch_id']}/results")
        web.get("/aitp/tasks/batch/status", params={"task_ids": f"{tid},task_nope"})
        web.delete(f"/aitp/tasks/batch/{batch['batch_id']}")

        template = _post(
            web,
            "/aitp/templates",
            {"name": f"tpl-{uid}", "task_type": "t", "capability_required": cap},
            201,
        )
        web.get("/aitp/templates")
        web.patch(f"/aitp/templates/{template['template_id']}", json={"priority": 2})
        _post(web, f"/aitp/templates/{template['template_id']}/tasks", {}, 201)

        base = "/aitp/tasks/schedule"
        schedule = _post(
            web,
            base,
            {"task_type": "t", "capability_required": cap, "cron_expression": "0 3 * * *"},
            201,
        )
        sid = schedule["schedule_id"]
        web.get(base)
        web.get(f"{base}/{sid}/preview")
        web.get(f"{base}/preview", params={"cron_expression": "*/5 * * * *"})
        _post(web, f"{base}/{sid}/execute", {}, 201)
        web.get(f"{base}/{sid}/executions")
        _post(web, f"{base}/{sid}/pause", {})
        _post(web, f"{base}/{sid}/resume", {})
        web.put(f"{base}/{sid}", json={"priority": 4})

        hook = _post(web, "/ains/webhooks", {"url": f"http://webhook.site/{uuid.uuid4()}"}, 201)
        web.get("/aitp/webhooks")
        web.get(f"/aitp/webhooks/{hook['webhook_id']}/deliveries")
        web.get(f"/ains/webhooks/{hook['webhook_id']}/logs")
        web.patch(f"/aitp/webhooks/{hook['webhook_id']}", json={"description": "d"})

        web.get("/aitp/queue/stats")
        for report in ("summary", "agents", "tasks", "trends"):
            web.get(f"/aitp/analytics/{report}", params={"period": "all"})
        web.get("/ains/analytics/export", params={"format": "json", "report": "trends"})
        web.get("/aitp/analytics/export", params={"format": "csv"})
        web.get("/ains/agents/" + agent["agent_id"] + "/trust")
        web.get("/ains/audit", params={"limit": 5})
        web.get("/ains/admin/stats")
        _post(web, "/ains/admin/sweep-stale", None)
        web.get("/health")
        web.get("/ready")

    assert contract.violations == []
    assert len(contract.seen) >= 40
    assert contract.timestamps, "no timestamp seen at all"
    assert [t for t in contract.timestamps if not t[1].endswith("Z")] == []
