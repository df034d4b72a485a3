"""Measuring a document once fragments are expanded: fields, aliases, depths, credential checks.

Measured on the resolved selection, because limits that only look at the
literal text can be side-stepped by moving fields into fragments, and
Strawberry's depth limiter ignores introspection fields. Linear in the
document: each definition is walked once, each fragment's shape is computed
once and reused wherever it is spread, and a spread of an unknown fragment or
back into its own chain stops the measurement (Unmeasurable). What the
numbers may be is document_rules'.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)

_INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
# Counts stop growing here: a doubling chain would otherwise make 2**200-sized integers.
_SATURATED = 10**9


class Unmeasurable(Exception):
    """A spread that cannot resolve (an unknown fragment, or one inside itself); a refusal."""

    def __init__(self, reason: str, message: str, node: FragmentSpreadNode) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.node = node


@dataclass(frozen=True, slots=True)
class _Spread:
    """A fragment spread, placed: how deep it sits and in what context."""

    node: FragmentSpreadNode
    depth: int
    introspection: bool
    top_level: bool


@dataclass(slots=True)
class Shape:
    """What a selection adds once fully expanded, relative to where it sits."""

    fields: int = 0
    aliases: int = 0
    credential_fields: int = 0  # at its own top level
    depth: int = 0  # deepest field outside introspection
    introspection_depth: int = 0  # deepest field at or under __schema/__type
    any_depth: int = 0  # deepest field of either kind (counts as introspection inside it)
    introspection_fields: int = 0  # __schema and __type fields
    spreads: list[_Spread] = field(default_factory=list)

    def add_field(
        self, node: FieldNode, *, depth: int, introspection: bool, credential: bool
    ) -> None:
        self.fields += 1
        self.aliases += node.alias is not None
        self.credential_fields += credential
        self.introspection_fields += node.name.value in _INTROSPECTION_FIELDS
        self.any_depth = max(self.any_depth, depth)
        if introspection:
            self.introspection_depth = max(self.introspection_depth, depth)
        else:
            self.depth = max(self.depth, depth)

    def add_spread(self, spread: _Spread, fragment: Shape) -> None:
        """Adds a resolved fragment's shape at the place it is spread."""
        self.fields = min(self.fields + fragment.fields, _SATURATED)
        self.aliases = min(self.aliases + fragment.aliases, _SATURATED)
        self.introspection_fields = min(
            self.introspection_fields + fragment.introspection_fields, _SATURATED
        )
        if spread.top_level:
            self.credential_fields = min(
                self.credential_fields + fragment.credential_fields, _SATURATED
            )
        if fragment.any_depth:
            self.any_depth = max(self.any_depth, spread.depth + fragment.any_depth)
        if spread.introspection and fragment.any_depth:
            self.introspection_depth = max(
                self.introspection_depth, spread.depth + fragment.any_depth
            )
            return
        if fragment.depth:
            self.depth = max(self.depth, spread.depth + fragment.depth)
        if fragment.introspection_depth:
            self.introspection_depth = max(
                self.introspection_depth, spread.depth + fragment.introspection_depth
            )


def operation_shapes(
    document: DocumentNode, *, credentials: tuple[str, ...]
) -> Iterator[tuple[OperationDefinitionNode, Shape]]:
    """Each operation with its expanded shape, in document order, measured as it is asked for.

    `credentials` are the mutation fields that count as credential checks at
    an operation's top level. The fragments are measured first, all of them,
    so an unresolvable one raises Unmeasurable before any operation is yielded.
    """
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    shapes = _fragment_shapes(fragments, credentials)
    for operation in document.definitions:
        if isinstance(operation, OperationDefinitionNode):
            yield operation, _operation_shape(operation, shapes, credentials)


def _operation_shape(
    operation: OperationDefinitionNode, shapes: dict[str, Shape], credentials: tuple[str, ...]
) -> Shape:
    mutation = operation.operation is OperationType.MUTATION
    own = _own_shape(operation.selection_set, credentials=credentials if mutation else ())
    for spread in own.spreads:
        _spread_target(spread, shapes, set())
    return _expanded(own, shapes)


def _own_shape(selection_set: SelectionSetNode, *, credentials: tuple[str, ...]) -> Shape:
    """One definition's fields, without following spreads (they are listed instead).

    `credentials` are the names that count as credential checks at its top level.
    """
    shape = Shape()
    stack = [(selection_set, 0, False, credentials)]
    while stack:
        selections, depth, introspection, counted = stack.pop()
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                inside = introspection or name in _INTROSPECTION_FIELDS
                shape.add_field(
                    selection, depth=depth + 1, introspection=inside, credential=name in counted
                )
                if selection.selection_set is not None:
                    stack.append((selection.selection_set, depth + 1, inside, ()))
            elif isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, depth, introspection, counted))
            elif isinstance(selection, FragmentSpreadNode):
                shape.spreads.append(_Spread(selection, depth, introspection, bool(counted)))
    return shape


def _fragment_shapes(
    fragments: dict[str, FragmentDefinitionNode], credentials: tuple[str, ...]
) -> dict[str, Shape]:
    """Every fragment's expanded shape, each computed once, in dependency order.

    Walks the spread graph without recursion; an unknown fragment or a spread
    back into the current chain stops it on the spot.
    """
    own = {
        name: _own_shape(fragment.selection_set, credentials=credentials)
        for name, fragment in fragments.items()
    }
    resolved: dict[str, Shape] = {}
    for root in own:
        if root in resolved:
            continue
        path: list[tuple[str, Iterator[_Spread]]] = [(root, iter(own[root].spreads))]
        on_path = {root}
        while path:
            name, spreads = path[-1]
            for spread in spreads:
                target = _spread_target(spread, own, on_path)
                if target not in resolved:
                    path.append((target, iter(own[target].spreads)))
                    on_path.add(target)
                    break
            else:
                path.pop()
                on_path.discard(name)
                resolved[name] = _expanded(own[name], resolved)
    return resolved


def _spread_target(spread: _Spread, own: dict[str, Shape], on_path: set[str]) -> str:
    name = spread.node.name.value
    if name not in own:
        raise Unmeasurable("UNKNOWN_FRAGMENT", f"Unknown fragment '{name}'.", spread.node)
    if name in on_path:
        raise Unmeasurable(
            "FRAGMENT_CYCLE", f"Fragment '{name}' is spread within itself.", spread.node
        )
    return name


def _expanded(own: Shape, resolved: dict[str, Shape]) -> Shape:
    shape = replace(own, spreads=[])  # its own counts; the spreads are added resolved
    for spread in own.spreads:
        shape.add_spread(spread, resolved[spread.node.name.value])
    return shape
