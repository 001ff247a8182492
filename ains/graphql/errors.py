"""GraphQL errors in REST's terms: an error raised by a service (an `AinsError`) keeps its
message and gains `extensions` with REST's status, a code and the fields at fault
(`{"code": "NOT_FOUND", "status": 404, "errors": [{"field": …, "reason": …}]}`); any other
exception is logged and shown as an unexpected error, never with its internals."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult

from ains.exceptions import AinsError

log = logging.getLogger("ains.graphql")
UNEXPECTED = "an unexpected error occurred; it was logged"


def problem_error(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return error  # syntax, validation and limit errors name what is wrong themselves
    if isinstance(original, AinsError):
        extensions: dict[str, Any] = {
            "code": original.title.upper().replace(" ", "_"),
            "status": original.status_code,
        }
        if original.errors:
            extensions["errors"] = [{"field": e.field, "reason": e.reason} for e in original.errors]
        extensions.update(original.extra)
        message = original.detail
    else:
        log.error("unexpected error in a GraphQL resolver", exc_info=original)
        extensions = {"code": "INTERNAL_SERVER_ERROR", "status": 500}
        message = UNEXPECTED
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


class ErrorsAsProblems(SchemaExtension):
    def _rewrite(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [problem_error(e) for e in errors]  # type: ignore[attr-defined]

    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        result = self.execution_context.result
        if not self._streamed and isinstance(result, ExecutionResult | GraphQLExecutionResult):
            self._rewrite(result)

    def on_stream_result(self, result: Any) -> Iterator[None]:  # each subscription message
        self._streamed = True
        self._rewrite(result)
        yield None
