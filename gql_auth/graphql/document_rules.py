"""Sizing up a document before anything runs: depth, aliases, expansion, credential checks.

Counted on the resolved selection (fragments expanded), because limits that
only look at the literal text can be side-stepped by moving fields into
fragments, and Strawberry's depth limiter ignores introspection fields.
Linear in the document: each definition is walked once, each fragment's
shape is computed once and reused wherever it is spread, and a spread of an
unknown fragment or back into its own chain stops the analysis.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
)
from graphql.validation import OverlappingFieldsCanBeMergedRule

# Fragment spreads can multiply a small text into a huge selection.
MAX_EXPANDED_FIELDS = 5000
# Each __schema can return the whole schema: 22 aliased full introspections took 0.4 s of
# CPU for a 1 MB answer. Introspection tools ask for one.
MAX_INTROSPECTION_FIELDS = 4
_INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
# Counts stop growing here: a doubling chain would otherwise make 2**200-sized integers.
_SATURATED = 10**9


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_depth: int
    max_introspection_depth: int
    max_aliases: int
    # Mutations that check a password or a secret token (declared with CredentialCheck):
    # one per request, so a document cannot carry 50 aliased guesses past the rate limits.
    credential_fields: tuple[str, ...]


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


class _Refused(Exception):  # control flow inside this module, never raised out
    def __init__(self, reason: str, message: str, node: Node) -> None:
        super().__init__(message)
        self.error = refusal(reason, message, node)


def refusal(reason: str, message: str, node: Node | None = None) -> GraphQLError:
    return GraphQLError(
        message, node, extensions={"code": "GRAPHQL_VALIDATION_FAILED", "reason": reason}
    )


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
    back into the current chain is refused on the spot.
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
        raise _Refused("UNKNOWN_FRAGMENT", f"Unknown fragment '{name}'.", spread.node)
    if name in on_path:
        raise _Refused("FRAGMENT_CYCLE", f"Fragment '{name}' is spread within itself.", spread.node)
    return name


def _expanded(own: Shape, resolved: dict[str, Shape]) -> Shape:
    shape = replace(own, spreads=[])  # its own counts; the spreads are added resolved
    for spread in own.spreads:
        shape.add_spread(spread, resolved[spread.node.name.value])
    return shape


def check_document(document: DocumentNode, limits: DocumentLimits) -> list[GraphQLError]:
    """The document's refusals for size and shape, in time linear in its length.

    The first operation that breaks a limit is reported, so a document of many
    operations cannot make a long list of errors either.
    """
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    try:
        shapes = _fragment_shapes(fragments, limits.credential_fields)
        for operation in document.definitions:
            if isinstance(operation, OperationDefinitionNode):
                errors = _operation_refusals(operation, shapes, limits)
                if errors:
                    return errors
    except _Refused as refused:
        return [refused.error]
    return []


def _operation_refusals(
    operation: OperationDefinitionNode, shapes: dict[str, Shape], limits: DocumentLimits
) -> list[GraphQLError]:
    mutation = operation.operation is OperationType.MUTATION
    credentials = limits.credential_fields if mutation else ()
    own = _own_shape(operation.selection_set, credentials=credentials)
    for spread in own.spreads:
        _spread_target(spread, shapes, set())
    found = _expanded(own, shapes)
    return [refusal(reason, message, operation) for reason, message in violations(found, limits)]


def violations(found: Shape, limits: DocumentLimits) -> Iterable[tuple[str, str]]:
    if found.fields > MAX_EXPANDED_FIELDS:
        yield (
            "TOO_COMPLEX",
            f"The query selects more than {MAX_EXPANDED_FIELDS} fields "
            "once fragments are expanded.",
        )
    if found.introspection_fields > MAX_INTROSPECTION_FIELDS:
        yield (
            "TOO_COMPLEX",
            f"The query asks for __schema or __type {found.introspection_fields} times; "
            f"at most {MAX_INTROSPECTION_FIELDS} are allowed.",
        )
    if found.depth > limits.max_depth:
        yield (
            "TOO_DEEP",
            f"The query is nested {found.depth} levels deep; "
            f"at most {limits.max_depth} are allowed.",
        )
    if found.introspection_depth > limits.max_introspection_depth:
        yield (
            "TOO_DEEP",
            f"The introspection query is nested {found.introspection_depth} levels deep; "
            f"at most {limits.max_introspection_depth} are allowed.",
        )
    if found.aliases > limits.max_aliases:
        yield (
            "TOO_MANY_ALIASES",
            f"The query uses {found.aliases} aliases; at most {limits.max_aliases} are allowed.",
        )
    if found.credential_fields > 1:
        yield (
            "ONE_CREDENTIAL_CHECK",
            f"At most one {_either(limits.credential_fields)} may run per request.",
        )


def _either(names: tuple[str, ...]) -> str:
    """The names in words, as the refusal lists them: 'a, b or c'."""
    *first, last = names or ("",)
    return f"{', '.join(first)} or {last}" if first else last


# Work units graphql-core's overlapping-fields rule may spend on one document: its
# own default (500 000) took 0.7 s here, this about 0.05 s. The full introspection
# query spends none; `me` selected 30 times, each through its own fragment, 5 250.
OVERLAP_BUDGET = 20_000


class BoundedOverlappingFieldsRule(OverlappingFieldsCanBeMergedRule):
    """graphql-core's merge check, which is quadratic at worst, with a smaller budget.

    When the budget runs out graphql-core aborts the validation; the caller
    reports that as TOO_COMPLEX.
    """

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.rule_context.remaining_complexity_budget = OVERLAP_BUDGET
