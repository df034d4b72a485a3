"""The limits a document must keep before anything runs, and the refusals when it does not.

The numbers come from document_shape (fragments expanded, so moving fields
into fragments side-steps nothing); this module decides which are too many
and says so in the GraphQL validation envelope. It also lowers graphql-core's
own overlapping-fields budget, the one validation rule that is quadratic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError, Node, ValidationContext
from graphql.validation import OverlappingFieldsCanBeMergedRule

from gql_auth.graphql.engine.document_shape import Shape, Unmeasurable, operation_shapes
from gql_auth.graphql.strawberry_compat import set_overlap_budget

# Fragment spreads can multiply a small text into a huge selection.
MAX_EXPANDED_FIELDS = 5000
# Each __schema can return the whole schema: 22 aliased full introspections took 0.4 s of
# CPU for a 1 MB answer. Introspection tools ask for one.
MAX_INTROSPECTION_FIELDS = 4


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_depth: int
    max_introspection_depth: int
    max_aliases: int
    # Mutations that check a password or a secret token (declared with CredentialCheck):
    # one per request, so a document cannot carry 50 aliased guesses past the rate limits.
    credential_fields: tuple[str, ...]


def refusal(reason: str, message: str, node: Node | None = None) -> GraphQLError:
    return GraphQLError(
        message, node, extensions={"code": "GRAPHQL_VALIDATION_FAILED", "reason": reason}
    )


def check_document(document: DocumentNode, limits: DocumentLimits) -> list[GraphQLError]:
    """The document's refusals for size and shape, in time linear in its length.

    The first operation that breaks a limit is reported, so a document of many
    operations cannot make a long list of errors either.
    """
    try:
        for operation, found in operation_shapes(document, credentials=limits.credential_fields):
            errors = [
                refusal(reason, message, operation) for reason, message in violations(found, limits)
            ]
            if errors:
                return errors
    except Unmeasurable as unmeasurable:
        return [refusal(unmeasurable.reason, unmeasurable.message, unmeasurable.node)]
    return []


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
        set_overlap_budget(self, OVERLAP_BUDGET)
