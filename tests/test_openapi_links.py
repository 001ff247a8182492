"""The OpenAPI links: each producer's success answer links to every operation on the id it
returns, each link names an operation that exists and fills a parameter that operation takes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ains.app import create_app
from ains.config import Settings
from ains.openapi_links import CLAIM, PRODUCERS, add_links


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("links") / "links.db"
    return create_app(Settings(database_url=f"sqlite:///{path}")).openapi()


def _operations(schema: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        operation["operationId"]: (path, operation)
        for path, operations in schema["paths"].items()
        for operation in operations.values()
    }


def _links(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses = schema["paths"][path][method]["responses"]
    found = [dict(responses[code].get("links", {})) for code in responses if code.startswith("2")]
    assert found and all(links == found[0] for links in found), (method, path)
    return found[0]


def test_every_producer_links_to_every_operation_on_its_id(schema: dict[str, Any]) -> None:
    operations = _operations(schema)
    for (method, path), param in PRODUCERS.items():
        links = _links(schema, method, path)
        consumers = {op_id for op_id, (p, _) in operations.items() if "{" + param + "}" in p}
        assert consumers, f"nothing takes {param}"
        assert set(links) == consumers, (method, path)
        for link in links.values():
            assert link["parameters"] == {param: f"$response.body#/{param}"}


def test_every_link_names_an_operation_taking_its_parameters(schema: dict[str, Any]) -> None:
    operations = _operations(schema)
    checked = 0
    for method, path in [*PRODUCERS, CLAIM]:
        for link in _links(schema, method, path).values():
            target_path, target = operations[link["operationId"]]
            taken = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
            assert set(link["parameters"]) <= taken, (target_path, link)
            checked += 1
    assert checked > 50


def test_a_claim_links_its_first_task_and_attempt_to_the_reports(schema: dict[str, Any]) -> None:
    links = _links(schema, *CLAIM)
    paths = sorted(_operations(schema)[op_id][0] for op_id in links)
    assert paths == [
        f"/aitp/tasks/{{task_id}}/{a}" for a in ("complete", "fail", "heartbeat", "start")
    ]
    for link in links.values():
        assert link["parameters"] == {"task_id": "$response.body#/tasks/0/task_id"}
        assert link["requestBody"] == {"attempt_id": "$response.body#/tasks/0/attempt_id"}


def test_served_schema_is_built_once(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'once.db'}"))
    assert app.openapi() is app.openapi()


def test_missing_operations_are_skipped() -> None:
    assert add_links({"paths": {}}) == {"paths": {}}
