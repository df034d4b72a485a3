"""Documents: parsed and validated once within our limits, then kept while they are in use."""

from __future__ import annotations

from collections import OrderedDict

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema
from graphql.validation import OverlappingFieldsCanBeMergedRule
from strawberry.types import ExecutionContext

from gql_auth.graphql.engine.document_rules import (
    BoundedOverlappingFieldsRule,
    DocumentLimits,
    check_document,
    refusal,
)
from gql_auth.graphql.engine.operation_choice import operation_refusal
from gql_auth.graphql.strawberry_compat import (
    ValidationAbortedError,
    graphql_schema_of,
    validate_document,
)

Rules = tuple[type[ASTValidationRule], ...]


def validate_within_limits(
    schema: GraphQLSchema, document: DocumentNode, rules: Rules, limits: DocumentLimits
) -> list[GraphQLError]:
    """Validation in order of cost.

    Our linear size and shape checks run first; a document they refuse never
    reaches graphql-core's rules, and the one rule of those that can be
    quadratic runs with a budget.
    """
    refused = check_document(document, limits)
    if refused:
        return refused
    bounded = tuple(
        BoundedOverlappingFieldsRule if rule is OverlappingFieldsCanBeMergedRule else rule
        for rule in rules
    )
    return [_aborted_as_too_complex(e) for e in validate_document(schema, document, bounded)]


def _aborted_as_too_complex(error: GraphQLError) -> GraphQLError:
    if isinstance(error, ValidationAbortedError) and error.message == "Validation aborted.":
        return refusal("TOO_COMPLEX", "The query is too complex to validate.")
    return error


class ValidDocuments:
    """Parsed documents that passed validation, by query text, least recently used out first.

    Only valid ones are kept: an attacker's unique junk documents would fill a
    plain cache with large syntax trees, and the garbage collector's full passes
    over them stall the worker (512 cached worst-case trees: ~2 s per pass).
    """

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()

    def get(self, query: str) -> DocumentNode | None:
        document = self._documents.get(query)
        if document is not None:
            self._documents.move_to_end(query)
        return document

    def keep(self, query: str, document: DocumentNode) -> None:
        self._documents[query] = document
        self._documents.move_to_end(query)
        while len(self._documents) > self._maxsize:
            self._documents.popitem(last=False)


class DocumentCheck:
    """Strawberry's parse and validation steps with our limits first and a cache of valid
    documents (in place of ParserCache, AddValidationRules and ValidationCache)."""

    def __init__(self, limits: DocumentLimits, documents: ValidDocuments) -> None:
        self.limits = limits
        self.documents = documents

    def before_parse(self, execution: ExecutionContext) -> bool:
        """Sets a cached document, so Strawberry does not parse; True when one was found."""
        cached = self.documents.get(execution.query) if execution.query else None
        if cached is None:
            return False
        execution.graphql_document = cached
        return True

    def after_parse(self, execution: ExecutionContext) -> None:
        document = execution.graphql_document
        if document is not None:
            # Strawberry keeps the name the request sent only in a private field.
            refused = operation_refusal(document, execution._provided_operation_name)
            if refused is not None:
                raise refused  # answered as a pre-execution error, before anything runs

    def validate(self, execution: ExecutionContext, *, known_valid: bool) -> None:
        document = execution.graphql_document
        if known_valid:
            execution.pre_execution_errors = []  # validated when it was kept
        elif document is not None:
            errors = validate_within_limits(
                graphql_schema_of(execution.schema),
                document,
                execution.validation_rules,
                self.limits,
            )
            execution.pre_execution_errors = errors
            if not errors and execution.query:
                self.documents.keep(execution.query, document)
