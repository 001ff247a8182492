"""ains.graphql.request: the class of a GraphQL request and the checks on what it carries."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.requests import Request

from ains.exceptions import Unprocessable
from ains.graphql.request import operation_class, wants_ide

BOTH = 'query Q { queueStatus { depth } } mutation M { pauseSchedule(id: "s") { status } }'


def _request(method: str, body: bytes = b"", query: dict[str, str] | None = None,
             accept: str = "application/json") -> Request:  # fmt: skip
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": method,
        "path": "/graphql",
        "query_string": urlencode(query or {}).encode(),
        "headers": [(b"accept", accept.encode()), (b"content-type", b"application/json")],
    }
    return Request(scope, receive)


def _class(method: str, payload: Any) -> str:
    if method == "GET":
        request = _request("GET", query=payload)
    else:
        request = _request("POST", json.dumps(payload).encode())
    return asyncio.run(operation_class(request, 64))


def test_a_mutation_is_a_submit_and_anything_else_a_read() -> None:
    assert _class("POST", {"query": 'mutation { pauseSchedule(id: "s") { status } }'}) == "submit"
    assert _class("POST", {"query": "{ queueStatus { depth } }"}) == "read"
    assert _class("POST", {"query": "subscription { queueStatus { depth } }"}) == "read"
    assert _class("POST", {"query": BOTH, "operationName": "M"}) == "submit"
    assert _class("POST", {"query": BOTH, "operationName": "Q"}) == "read"
    assert _class("GET", {"query": "{ queueStatus { depth } }"}) == "read"
    # what strawberry refuses itself is a read: it costs nothing
    assert _class("POST", {"query": "mutation {"}) == "read"
    assert _class("POST", {"variables": {}}) == "read"
    assert asyncio.run(operation_class(_request("POST"), 64)) == "read"


@pytest.mark.parametrize(
    ("method", "payload", "field"),
    [
        ("POST", {"query": '{ task(id: "\\u0000") { taskId } }'}, "query"),
        ("POST", {"query": "{ x }", "variables": {"a": ["\u0000"]}}, "variables.a[0]"),
        ("GET", {"query": "{ x }", "variables": '{"a": "\\u0000"}'}, "variables.a"),
        ("POST", ["not", "an", "object"], "body"),
    ],
)
def test_what_storage_would_refuse_is_a_422_naming_the_field(
    method: str, payload: Any, field: str
) -> None:
    with pytest.raises(Unprocessable) as refused:
        _class(method, payload)
    assert [e.field for e in refused.value.errors] == [field]


def test_graphiql_is_for_a_browsers_get_without_a_query() -> None:
    assert wants_ide(_request("GET", accept="text/html,application/xhtml+xml"))
    assert wants_ide(_request("GET", accept="*/*"))
    assert not wants_ide(_request("GET", query={"query": "{ x }"}, accept="text/html"))
    assert not wants_ide(_request("POST", accept="text/html"))
    assert not wants_ide(_request("GET", accept="application/json"))
