"""The schema: queries, mutations and subscriptions, with the limits and the error form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from ains.config import Settings
from ains.graphql.errors import ErrorsAsProblems
from ains.graphql.limits import cost_limit
from ains.graphql.mutations import Mutation
from ains.graphql.queries import Query
from ains.graphql.statements import StatementCount
from ains.graphql.subscriptions import Subscription

MAX_ALIASES = 50


class FreshLoaders(SchemaExtension):
    """Each operation reads through its own DataLoaders (a WebSocket's context outlives one)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if context is not None:
            context.fresh_loaders()
        yield


def build_schema(settings: Settings) -> strawberry.Schema:
    extensions: list[Any] = [
        FreshLoaders,
        # factories, not instances: a fresh extension for each operation
        lambda: QueryDepthLimiter(max_depth=settings.graphql_max_depth),
        lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        cost_limit(settings.graphql_max_cost),
        ErrorsAsProblems,
    ]
    if settings.graphql_count_statements:
        extensions.append(StatementCount)
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )
