"""Counting the SQL statements one GraphQL operation runs (AINS_GRAPHQL_COUNT_STATEMENTS): the
count is added to the response as `extensions.statements`. A debugging aid, and how the tests
prove that batched loading keeps a query's statements bounded whatever its size."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from strawberry.extensions import SchemaExtension

# a one-item list, shared by every task the operation's resolvers run in (they copy the context)
_COUNTER: ContextVar[list[int] | None] = ContextVar("ains_graphql_statements", default=None)


def _count(*_args: Any) -> None:
    counter = _COUNTER.get()
    if counter is not None:
        counter[0] += 1


def count_statements(sync_engine: Engine) -> None:
    """Count the statements run through `sync_engine` by an operation being counted."""
    if not event.contains(sync_engine, "before_cursor_execute", _count):
        event.listen(sync_engine, "before_cursor_execute", _count)


class StatementCount(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        self._counter = [0]
        token = _COUNTER.set(self._counter)
        try:
            yield
        finally:
            with contextlib.suppress(ValueError):  # ended in another context: nothing to undo
                _COUNTER.reset(token)

    def get_results(self) -> dict[str, Any]:
        return {"statements": self._counter[0]}
