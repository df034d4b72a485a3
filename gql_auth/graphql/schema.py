"""The Strawberry schema and the per-request extensions it runs."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.base import get_object_definition

from gql_auth.config import Settings
from gql_auth.graphql import admin, mutations, profile, queries, recovery
from gql_auth.graphql.document_rules import DocumentLimits, document_limits_rule
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


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema; production adds lock-downs that never change the SDL."""
    production = settings is not None and settings.is_production
    # Extensions are factories: Strawberry builds a fresh instance per request.
    settings = settings or Settings(_env_file=None, secret_key="x" * 32)  # limits only
    # One rule class for the schema's lifetime: rules are part of the validation cache key.
    limits_rule = document_limits_rule(
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
        lambda: AddValidationRules([limits_rule]),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
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
