"""How much one operation may ask for: its depth (strawberry's QueryDepthLimiter) and its
estimated cost, checked before anything runs.

The cost of an operation is the number of fields it could resolve: every field costs 1, and the
fields under a list are counted once per item the list may hold — `tasks` holds `first` items
(AINS_MAX_PAGE_SIZE when `first` is a variable), any other list `LIST_ITEMS`. Introspection
fields cost nothing."""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
    get_nullable_type,
)

# the assumed length of a list field without a page size of its own (attempts, history…)
LIST_ITEMS = 10
# list fields whose length is their `first` argument, and its default
PAGED_FIELDS = {"tasks": 50}
# a connection's lists, as long as its page
CONNECTION_LISTS = ("edges", "nodes")


def cost_limit(max_cost: int, max_page_size: int) -> type[ValidationRule]:
    """A validation rule refusing operations whose cost exceeds `max_cost`."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            estimate = Estimate(self.context, max_page_size)
            root = self.context.schema.get_root_type(node.operation)
            cost = estimate.selections(node.selection_set, root, frozenset())
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"this operation's estimated cost is {cost}, over the limit of "
                        f"{max_cost} (AINS_GRAPHQL_MAX_COST): ask for fewer items (`first`) "
                        "or fewer fields",
                        node,
                        extensions={
                            "code": "QUERY_TOO_COSTLY",
                            "status": 422,
                            "cost": cost,
                            "max_cost": max_cost,
                        },
                    )
                )

    return CostLimit


class Estimate:
    def __init__(self, context: ValidationContext, max_page_size: int) -> None:
        self.context = context
        self.max_page_size = max_page_size
        self.fragments = {
            d.name.value: d
            for d in context.document.definitions
            if isinstance(d, FragmentDefinitionNode)
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
                kind = self.context.schema.get_type(on.name.value) if on else parent
                total += self.selections(selection.selection_set, kind, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # reported by graphql-core's own rules
                    continue
                kind = self.context.schema.get_type(fragment.type_condition.name.value)
                total += self.selections(fragment.selection_set, kind, seen | {name})
        return total

    def field(self, node: FieldNode, parent: Any, seen: frozenset[str]) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        if not isinstance(parent, GraphQLObjectType):
            return 1
        definition = parent.fields.get(name)
        if definition is None:  # an unknown field: graphql-core's own rules report it
            return 1
        kind: GraphQLNamedType = get_named_type(definition.type)
        inner = self.selections(node.selection_set, kind, seen)
        return 1 + self.items(node, parent, definition.type) * inner

    def items(self, node: FieldNode, parent: GraphQLObjectType, field_type: Any) -> int:
        name = node.name.value
        if parent.name.endswith("Connection") and name in CONNECTION_LISTS:
            return 1  # counted by the paged field above them
        if name in PAGED_FIELDS:
            for argument in node.arguments or ():
                if argument.name.value == "first":
                    value = argument.value
                    if isinstance(value, IntValueNode):
                        return max(1, int(value.value))
                    return self.max_page_size  # a variable: the most it may be
            return PAGED_FIELDS[name]
        if isinstance(get_nullable_type(field_type), GraphQLList):
            return LIST_ITEMS
        return 1
