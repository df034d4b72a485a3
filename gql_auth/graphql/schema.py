"""The Strawberry schema and the per-request extensions it runs."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator

import strawberry
from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema
from graphql.validation import OverlappingFieldsCanBeMergedRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import (
    DisableIntrospection,
    MaxTokensLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import validate_document
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.base import get_object_definition

from gql_auth.config import Settings
from gql_auth.graphql import admin, mutations, passkeys, profile, queries, recovery
from gql_auth.graphql.credentials import credential_fields
from gql_auth.graphql.document_rules import (
    BoundedOverlappingFieldsRule,
    DocumentLimits,
    check_document,
    refusal,
)
from gql_auth.graphql.errors import TranslateErrors, translate_outside_operation
from gql_auth.graphql.observe import RecordOutcome
from gql_auth.graphql.operation_choice import operation_refusal
from gql_auth.graphql.transaction import RequestTransaction

# Distinct valid documents kept parsed and validated; real clients send a handful.
DOCUMENT_CACHE_SIZE = 128


# Each area owns its root fields; the SDL lists them in this order.
Query = merge_types("Query", (queries.Query, admin.Query))
Mutation = merge_types(
    "Mutation",
    (mutations.Mutation, recovery.Mutation, profile.Mutation, passkeys.Mutation, admin.Mutation),
)
QUERY_DESCRIPTION = (
    "Reads. Guarded fields show who may read them: @isAuthenticated, @hasRole, @isSelfOrAdmin."
)
MUTATION_DESCRIPTION = "Writes. Each description lists the error codes and reasons it can give."
get_object_definition(Query, strict=True).description = QUERY_DESCRIPTION
get_object_definition(Mutation, strict=True).description = MUTATION_DESCRIPTION


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """No default logging: TranslateErrors logs what is unexpected, with the request id.

        The errors Strawberry reports after the operation hooks have exited
        (unparsable documents, exceptions escaping an extension) are shaped here.
        """
        if execution_context is not None:
            translate_outside_operation(errors, execution_context)


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


class ValidateDocument(SchemaExtension):
    """Strawberry's parse and validation steps with our limits first and a cache of valid
    documents (in place of ParserCache, AddValidationRules and ValidationCache)."""

    def __init__(self, limits: DocumentLimits, documents: ValidDocuments) -> None:
        self._limits = limits
        self._documents = documents
        self._known_valid = False

    def on_parse(self) -> Iterator[None]:
        query = self.execution_context.query
        cached = self._documents.get(query) if query else None
        if cached is not None:  # Strawberry parses only when no document is set
            self.execution_context.graphql_document = cached
            self._known_valid = True
        yield
        document = self.execution_context.graphql_document
        if document is not None:
            # Strawberry keeps the name the request sent only in a private field.
            refused = operation_refusal(document, self.execution_context._provided_operation_name)
            if refused is not None:
                raise refused  # answered as a pre-execution error, before anything runs

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if self._known_valid:
            execution.pre_execution_errors = []  # validated when it was kept
        elif document is not None:
            errors = validate_within_limits(
                execution.schema._schema, document, execution.validation_rules, self._limits
            )
            execution.pre_execution_errors = errors
            if not errors and execution.query:
                self._documents.keep(execution.query, document)
        yield


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema; production adds lock-downs that never change the SDL."""
    production = settings is not None and settings.is_production
    # Extensions are factories: Strawberry builds a fresh instance per request.
    settings = settings or Settings(_env_file=None, secret_key="x" * 32)  # limits only
    config = StrawberryConfig(disable_field_suggestions=production)
    credentials = credential_fields(Mutation, config.name_converter)  # as the fields declare
    password_checks = credentials.password_checks
    limits = DocumentLimits(
        max_depth=settings.max_query_depth,
        max_introspection_depth=settings.max_introspection_depth,
        max_aliases=settings.max_aliases,
        credential_fields=credentials.names,
    )
    documents = ValidDocuments(maxsize=DOCUMENT_CACHE_SIZE)  # one for the schema's lifetime
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: RecordOutcome(password_checks),  # outermost: logs, counts outcomes
        TranslateErrors,  # first in, last out: sees the final errors, commit failures too
        RequestTransaction,
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: ValidateDocument(limits, documents),
    ]
    if production:
        extensions.append(DisableIntrospection)
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=config,
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
