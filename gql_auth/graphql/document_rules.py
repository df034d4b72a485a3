"""Validation that sizes up a document before anything runs: depth, aliases, credential checks.

Counted on the resolved selection (fragments expanded), because limits that
only look at the literal text can be side-stepped by moving fields into
fragments, and Strawberry's depth limiter ignores introspection fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)

# Mutations that check a password or a secret token: one per request, so a
# document cannot carry 50 aliased guesses past the per-request rate limits.
CREDENTIAL_FIELDS = frozenset({"login", "changePassword", "resetPassword"})
# Fragment spreads can multiply a small text into a huge selection; stop counting there.
_MAX_EXPANDED_FIELDS = 5000


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_depth: int
    max_introspection_depth: int
    max_aliases: int


@dataclass(slots=True)
class _Measure:
    depth: int = 0
    introspection_depth: int = 0
    aliases: int = 0
    credential_checks: int = 0
    fields: int = 0
    fragments: list[str] = field(default_factory=list)


def measure(context: ValidationContext, operation: OperationDefinitionNode) -> _Measure:
    result = _Measure()
    is_mutation = operation.operation is OperationType.MUTATION
    _walk(
        context,
        operation.selection_set,
        result,
        depth=0,
        introspection=False,
        count_credentials=is_mutation,
    )
    return result


def _walk(
    context: ValidationContext,
    selection_set: SelectionSetNode,
    result: _Measure,
    *,
    depth: int,
    introspection: bool,
    count_credentials: bool,
) -> None:
    for selection in selection_set.selections:
        if result.fields > _MAX_EXPANDED_FIELDS:
            return
        if isinstance(selection, FieldNode):
            _visit_field(
                context,
                selection,
                result,
                depth=depth,
                introspection=introspection,
                count_credentials=count_credentials,
            )
            continue
        if isinstance(selection, InlineFragmentNode):
            nested = selection.selection_set
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            if fragment is None or name in result.fragments:
                continue  # unknown or cyclic: other rules report those
            result.fragments.append(name)
            nested = fragment.selection_set
        else:
            continue
        _walk(
            context,
            nested,
            result,
            depth=depth,
            introspection=introspection,
            count_credentials=count_credentials,
        )
        if isinstance(selection, FragmentSpreadNode):
            result.fragments.pop()


def _visit_field(
    context: ValidationContext,
    node: FieldNode,
    result: _Measure,
    *,
    depth: int,
    introspection: bool,
    count_credentials: bool,
) -> None:
    result.fields += 1
    name = node.name.value
    if node.alias is not None:
        result.aliases += 1
    if count_credentials and depth == 0 and name in CREDENTIAL_FIELDS:
        result.credential_checks += 1
    introspection = introspection or name in {"__schema", "__type"}
    depth += 1
    if introspection:
        result.introspection_depth = max(result.introspection_depth, depth)
    else:
        result.depth = max(result.depth, depth)
    if node.selection_set is not None:
        _walk(
            context,
            node.selection_set,
            result,
            depth=depth,
            introspection=introspection,
            count_credentials=False,
        )


def document_limits_rule(limits: DocumentLimits) -> type[ValidationRule]:
    """A graphql-core rule class bound to these limits (built once: rules are cache keys)."""

    class DocumentLimitsRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
            found = measure(self.context, node)
            for reason, message in _violations(found, limits):
                self.report_error(
                    GraphQLError(
                        message,
                        node,
                        extensions={"code": "GRAPHQL_VALIDATION_FAILED", "reason": reason},
                    )
                )

    return DocumentLimitsRule


def _violations(found: _Measure, limits: DocumentLimits) -> list[tuple[str, str]]:
    checks = [
        (
            found.fields > _MAX_EXPANDED_FIELDS,
            "TOO_COMPLEX",
            f"The query selects more than {_MAX_EXPANDED_FIELDS} fields "
            "once fragments are expanded.",
        ),
        (
            found.depth > limits.max_depth,
            "TOO_DEEP",
            f"The query is nested {found.depth} levels deep; "
            f"at most {limits.max_depth} are allowed.",
        ),
        (
            found.introspection_depth > limits.max_introspection_depth,
            "TOO_DEEP",
            f"The introspection query is nested {found.introspection_depth} levels deep; "
            f"at most {limits.max_introspection_depth} are allowed.",
        ),
        (
            found.aliases > limits.max_aliases,
            "TOO_MANY_ALIASES",
            f"The query uses {found.aliases} aliases; at most {limits.max_aliases} are allowed.",
        ),
        (
            found.credential_checks > 1,
            "ONE_CREDENTIAL_CHECK",
            "At most one login, changePassword or resetPassword may run per request.",
        ),
    ]
    return [(reason, message) for failed, reason, message in checks if failed]
