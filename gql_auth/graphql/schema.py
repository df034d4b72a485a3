"""The Strawberry schema and the per-request extensions it runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError, specified_rules
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext, ExecutionResult

from gql_auth.graphql.api import (
    admin,
    api_keys,
    factors,
    mailed_tokens,
    organizations,
    passkeys,
    profile,
    signin,
    social,
    viewer,
    webhooks,
)
from gql_auth.graphql.credentials import credential_fields
from gql_auth.graphql.engine.document_rules import DocumentLimits
from gql_auth.graphql.engine.documents import DocumentCheck, ValidDocuments
from gql_auth.graphql.engine.errors import translate_outside_operation
from gql_auth.graphql.engine.execution import OperationRunner
from gql_auth.graphql.engine.observe import OutcomeRecorder
from gql_auth.graphql.engine.trusted_documents import (
    DocumentChecks,
    load_trusted_documents,
    no_trusted_documents,
)
from gql_auth.graphql.key_scopes import KeyScopeGate, declared_scopes
from gql_auth.graphql.settings import GraphQLSettings
from gql_auth.graphql.strawberry_compat import (
    DEFAULT_ALLOWED_OPERATION_TYPES,
    OperationType,
    create_execution_context,
    describe_type,
    graphql_schema_of,
)

# Distinct valid documents kept parsed and validated; real clients send a handful.
DOCUMENT_CACHE_SIZE = 128


# Each area owns its root fields; the SDL lists them in this order.
Query = merge_types(
    "Query",
    (
        viewer.Query,
        admin.Query,
        social.Query,
        organizations.Query,
        api_keys.Query,
        webhooks.Query,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        signin.Mutation,
        mailed_tokens.Mutation,
        profile.Mutation,
        factors.Mutation,
        passkeys.Mutation,
        social.Mutation,
        admin.Mutation,
        organizations.Mutation,
        api_keys.Mutation,
        webhooks.Mutation,
    ),
)
QUERY_DESCRIPTION = (
    "Reads. Guarded fields show who may read them: @isAuthenticated, @hasRole, @isSelfOrAdmin, "
    "@hasOrgRole; @apiKeyScope says what an API key needs (no directive: closed to keys)."
)
MUTATION_DESCRIPTION = "Writes. Each description lists the error codes and reasons it can give."
describe_type(Query, QUERY_DESCRIPTION)
describe_type(Mutation, MUTATION_DESCRIPTION)


class Schema(strawberry.Schema):
    runner: OperationRunner  # build_schema sets it

    @property
    def documents(self) -> DocumentCheck:
        """The document limits and the valid documents this schema keeps."""
        return self.runner.documents

    async def execute(  # Strawberry's signature (0.341)
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
        *,
        document_id: str | None = None,
    ) -> ExecutionResult:
        """Runs an operation through gql_auth.graphql.engine.execution, not Strawberry's extensions.

        `document_id`: the trusted document the request named instead of (or with) a text.
        """
        execution: ExecutionContext = create_execution_context(
            self,
            query=query,
            allowed_operation_types=allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES,
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            operation_extensions=operation_extensions,
        )
        return await self.runner.run(execution, document_id=document_id)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """No default logging: translate_errors logs what is unexpected, with the request id.

        The errors Strawberry reports after the operation hooks have exited
        (unparsable documents, exceptions escaping an extension) are shaped here.
        """
        if execution_context is not None:
            translate_outside_operation(errors, execution_context)


def build_schema(settings: GraphQLSettings | None = None) -> Schema:
    """The schema; production adds lock-downs that never change the SDL.

    A TRUSTED_DOCUMENTS_FILE is read and every document in it checked here,
    so a bad one stops the start-up (ManifestError, one line naming it).
    """
    production = settings is not None and settings.is_production
    # Only a server's settings name a manifest: the SDL export must work with a stale one.
    manifest = settings.trusted_documents_file if settings is not None else None
    only = settings is not None and settings.trusted_documents_only_in_force
    settings = settings or GraphQLSettings(_env_file=None, secret_key="x" * 32)  # limits only
    config = StrawberryConfig(disable_field_suggestions=production)
    credentials = credential_fields(Mutation, config.name_converter)  # as the fields declare
    key_gate = KeyScopeGate(
        {
            "Query": declared_scopes(Query, config.name_converter),
            "Mutation": declared_scopes(Mutation, config.name_converter),
        }
    )
    limits = DocumentLimits(
        max_depth=settings.max_query_depth,
        max_introspection_depth=settings.max_introspection_depth,
        max_aliases=settings.max_aliases,
        credential_fields=credentials.names,
    )
    # One cache and one recorder for the schema's lifetime; the extension is per request.
    documents = DocumentCheck(limits, ValidDocuments(maxsize=DOCUMENT_CACHE_SIZE))
    recorder = OutcomeRecorder(credentials.password_checks)
    max_tokens = settings.max_query_tokens
    extra_rules = (NoSchemaIntrospectionCustomRule,) if production else ()
    schema = Schema(query=Query, mutation=Mutation, config=config)
    checks = DocumentChecks(
        graphql_schema_of(schema), (*specified_rules, *extra_rules), limits, max_tokens=max_tokens
    )
    trusted = (
        no_trusted_documents()
        if manifest is None
        else load_trusted_documents(manifest, checks, only=only)
    )
    schema.runner = OperationRunner(
        documents,
        recorder,
        trusted=trusted,
        max_tokens=max_tokens,
        extra_rules=extra_rules,
        key_gate=key_gate,
    )
    return schema


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
