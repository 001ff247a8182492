"""How much one operation may ask for: its depth (strawberry's QueryDepthLimiter) and its
estimated cost, checked before anything runs.

The cost of an operation is the number of fields it could resolve: every field costs 1, and the
fields under a list are counted once per item the list may hold — `tasks` holds `first` items
(its argument or variable; 50 by default), any other list `LIST_ITEMS`. Introspection fields
cost nothing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    validate,
)
from strawberry.extensions import SchemaExtension

# the assumed length of a list field without a page size of its own (attempts, history…)
LIST_ITEMS = 10
# list fields whose length is their `first` argument, and its default
PAGED_FIELDS = {"tasks": 50}
# a connection's lists, as long as its page
CONNECTION_LISTS = ("edges", "nodes")


def cost_limit(max_cost: int) -> type[SchemaExtension]:
    """An extension refusing, at validation, the operations whose cost exceeds `max_cost`.

    It validates the document itself (with every rule the other extensions added) so that it
    can then weigh a valid operation with its variables, which validation rules never see."""

    class CostLimit(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            document = context.graphql_document
            if context.pre_execution_errors is None and document is not None:
                schema = context.schema._schema
                errors = list(validate(schema, document, context.validation_rules))
                if not errors:
                    operation = get_operation_ast(document, context.operation_name)
                    if operation is not None:
                        estimate = Estimate(schema, document.definitions, context.variables)
                        root = schema.get_root_type(operation.operation)
                        cost = estimate.selections(operation.selection_set, root, frozenset())
                        if cost > max_cost:
                            errors.append(_too_costly(cost, max_cost, operation))
                context.pre_execution_errors = errors
            yield

    return CostLimit


def _too_costly(cost: int, max_cost: int, node: Any) -> GraphQLError:
    return GraphQLError(
        f"this operation's estimated cost is {cost}, over the limit of {max_cost} "
        "(AINS_GRAPHQL_MAX_COST): ask for fewer items (`first`) or fewer fields",
        node,
        extensions={"code": "QUERY_TOO_COSTLY", "status": 422, "cost": cost, "max_cost": max_cost},
    )


class Estimate:
    def __init__(
        self, schema: GraphQLSchema, definitions: Any, variables: Mapping[str, Any] | None
    ) -> None:
        self.schema = schema
        self.variables = variables or {}
        self.fragments = {
            d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)
        }

    def selections(
        self, selection_set: SelectionSetNode | None, parent: Any, seen: frozenset[str]
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, seen)
            elif isinstance(selection, InlineFragmentNode):
                on = selection.type_condition
                kind = self.schema.get_type(on.name.value) if on else parent
                total += self.selections(selection.selection_set, kind, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                kind = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selections(fragment.selection_set, kind, seen | {name})
        return total

    def field(self, node: FieldNode, parent: Any, seen: frozenset[str]) -> int:
        name = node.name.value
        if name.startswith("__") or not isinstance(parent, GraphQLObjectType):
            return 0 if name.startswith("__") else 1
        definition = parent.fields.get(name)
        if definition is None:
            return 1
        inner = self.selections(node.selection_set, get_named_type(definition.type), seen)
        return 1 + self.items(node, parent, definition.type) * inner

    def items(self, node: FieldNode, parent: GraphQLObjectType, field_type: Any) -> int:
        name = node.name.value
        if parent.name.endswith("Connection") and name in CONNECTION_LISTS:
            return 1  # counted by the paged field above them
        if name in PAGED_FIELDS:
            return self.page_size(node, PAGED_FIELDS[name])
        if isinstance(get_nullable_type(field_type), GraphQLList):
            return LIST_ITEMS
        return 1

    def page_size(self, node: FieldNode, default: int) -> int:
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value: Any = argument.value
            if isinstance(value, IntValueNode):
                return max(1, int(value.value))
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value, default)
                return max(1, given) if isinstance(given, int) else default
        return default
