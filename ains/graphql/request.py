"""Reading a GraphQL HTTP request before strawberry does: its kind (for the rate limit's route
class) and the checks every JSON body gets (NUL, lone surrogates, excessive depth: a 422 naming
the field), extended to the string literals of the query itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError, StringValueNode, Visitor, get_operation_ast, parse, visit
from starlette.requests import Request

from ains import json_input
from ains.exceptions import Unprocessable
from ains.security.ratelimit import RouteClass

NOT_AN_OPERATION = 'must be a JSON object: {"query": …, "variables": {…}, "operationName": …}'
BAD_LITERAL = "string literals must not contain NUL (\\u0000) characters or lone surrogates"


def wants_ide(request: Request) -> bool:
    """As strawberry decides to answer with GraphiQL: a GET without a query, from a browser."""
    accept = request.headers.get("accept", "")
    return (
        request.method == "GET"
        and request.query_params.get("query") is None
        and ("text/html" in accept or "*/*" in accept)
    )


async def operation_class(request: Request, max_depth: int) -> RouteClass:
    """`submit` for a mutation, else `read`; raises Unprocessable for a body, variables or
    string literal that storage would refuse."""
    data = await _payload(request, max_depth)
    if not isinstance(data, Mapping) or not isinstance(data.get("query"), str):
        return "read"  # strawberry answers what is missing
    try:
        document = parse(data["query"], no_location=True)
    except GraphQLError:
        return "read"  # strawberry answers the syntax error
    visit(document, _LiteralCheck())
    name = data.get("operationName")
    operation = get_operation_ast(document, name if isinstance(name, str) else None)
    return "submit" if operation is not None and operation.operation.value == "mutation" else "read"


async def _payload(request: Request, max_depth: int) -> Any:
    if request.method == "GET":
        data = dict(request.query_params)
        variables = data.get("variables")
        if variables:
            try:
                json_input.decode(variables.encode(), max_depth)
            except Unprocessable as exc:
                raise _named("variables", exc) from None
        return data
    body = await request.body()  # cached on the request: strawberry reads it again
    if not body:
        return None  # strawberry answers what is missing
    data = json_input.decode(body, max_depth)
    if not isinstance(data, dict):
        raise Unprocessable.field("body", NOT_AN_OPERATION)
    return data


def _named(prefix: str, exc: Unprocessable) -> Unprocessable:
    errors = [type(e)(f"{prefix}.{e.field}" if e.field else prefix, e.reason) for e in exc.errors]
    return Unprocessable(f"{prefix}: {exc.detail}", errors=errors)


class _LiteralCheck(Visitor):
    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if "\x00" in node.value or not _encodable(node.value):
            raise Unprocessable.field("query", BAD_LITERAL)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
