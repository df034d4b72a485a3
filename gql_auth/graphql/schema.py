"""The Strawberry schema and the per-request extensions it runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache

import strawberry
from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema
from graphql.validation import OverlappingFieldsCanBeMergedRule
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import (
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import validate_document
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.base import get_object_definition

from gql_auth.config import Settings
from gql_auth.graphql import admin, mutations, profile, queries, recovery
from gql_auth.graphql.document_rules import (
    BoundedOverlappingFieldsRule,
    DocumentLimits,
    check_document,
    refusal,
)
from gql_auth.graphql.errors import TranslateErrors, translate_outside_operation
from gql_auth.graphql.observe import RecordOutcome
from gql_auth.graphql.transaction import RequestTransaction

# Distinct documents kept parsed and validated; real clients send a handful.
DOCUMENT_CACHE_SIZE = 512


# Each area owns its root fields; the SDL lists them in this order.
Query = merge_types("Query", (queries.Query, admin.Query))
Mutation = merge_types(
    "Mutation", (mutations.Mutation, recovery.Mutation, profile.Mutation, admin.Mutation)
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
Validator = Callable[[GraphQLSchema, DocumentNode, Rules], tuple[GraphQLError, ...]]


def document_validator(limits: DocumentLimits) -> Validator:
    """Validation in order of cost, cached per document like Strawberry's ValidationCache.

    Our linear size and shape checks run first; a document they refuse never
    reaches graphql-core's rules, and the one rule of those that can be
    quadratic runs with a budget.
    """

    @lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
    def validate(
        schema: GraphQLSchema, document: DocumentNode, rules: Rules
    ) -> tuple[GraphQLError, ...]:
        refused = check_document(document, limits)
        if refused:
            return tuple(refused)
        bounded = tuple(
            BoundedOverlappingFieldsRule if rule is OverlappingFieldsCanBeMergedRule else rule
            for rule in rules
        )
        return tuple(
            _aborted_as_too_complex(e) for e in validate_document(schema, document, bounded)
        )

    return validate


def _aborted_as_too_complex(error: GraphQLError) -> GraphQLError:
    if isinstance(error, ValidationAbortedError) and error.message == "Validation aborted.":
        return refusal("TOO_COMPLEX", "The query is too complex to validate.")
    return error


class ValidateDocument(SchemaExtension):
    """Replaces Strawberry's validation step (and its ValidationCache) with `validate`."""

    def __init__(self, validate: Validator) -> None:
        self._validate = validate

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.graphql_document is None:  # nothing parsed: nothing to validate
            yield
            return
        errors = self._validate(
            execution.schema._schema, execution.graphql_document, execution.validation_rules
        )
        execution.pre_execution_errors = list(errors)  # a copy: later hooks edit it in place
        yield


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema; production adds lock-downs that never change the SDL."""
    production = settings is not None and settings.is_production
    # Extensions are factories: Strawberry builds a fresh instance per request.
    settings = settings or Settings(_env_file=None, secret_key="x" * 32)  # limits only
    # One validator (and its cache) for the schema's lifetime.
    validate = document_validator(
        DocumentLimits(
            max_depth=settings.max_query_depth,
            max_introspection_depth=settings.max_introspection_depth,
            max_aliases=settings.max_aliases,
        )
    )
    extensions: list[Callable[[], SchemaExtension]] = [
        RecordOutcome,  # outermost: logs and counts the final outcome
        TranslateErrors,  # first in, last out: sees the final errors, commit failures too
        RequestTransaction,
        lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: ValidateDocument(validate),
    ]
    if production:
        extensions.append(DisableIntrospection)
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
    )


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
