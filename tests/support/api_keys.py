"""API key operations as clients send them, factories, direct SQL on keys, and every root
field as a document (to send each one with a key)."""

from __future__ import annotations

from typing import Any

import httpx
import sqlalchemy as sa
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLObjectType,
    GraphQLSchema,
    StringValueNode,
    build_schema,
    get_named_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
)

from gql_auth.api_keys.format import checksum
from gql_auth.graphql.schema import export_sdl
from tests.support.helpers import STRONG_PASSWORD, SqlDatabase, data_of, gql

API_KEY_FIELDS = "id name prefix scopes createdAt expiresAt lastUsedAt"
CREATE_API_KEY = f"""
mutation Create($input: CreateApiKeyInput!) {{
  createApiKey(input: $input) {{ secret apiKey {{ {API_KEY_FIELDS} }} }}
}}"""
API_KEYS = f"query {{ apiKeys {{ {API_KEY_FIELDS} }} }}"
REVOKE_API_KEY = "mutation Revoke($id: ID!) { revokeApiKey(id: $id) }"
API_KEY_SCOPES = "query { apiKeyScopes }"


async def create_api_key_body(
    client: httpx.AsyncClient,
    token: str,
    *,
    scopes: list[str],
    name: str = "ci",
    password: str | None = STRONG_PASSWORD,
    expires_in_days: int | None = None,
) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": name, "scopes": scopes}
    if password is not None:
        fields["currentPassword"] = password
    if expires_in_days is not None:
        fields["expiresInDays"] = expires_in_days
    return await gql(client, CREATE_API_KEY, {"input": fields}, token=token)


async def create_api_key(
    client: httpx.AsyncClient, token: str, scopes: list[str], **options: Any
) -> dict[str, Any]:
    """The CreatedApiKey ({secret, apiKey}) of a new key of the token's user."""
    created: dict[str, Any] = data_of(
        await create_api_key_body(client, token, scopes=scopes, **options), "createApiKey"
    )
    return created


# The contract's scopes ("API keys"), as a USER's and an ADMIN's role hold them.
USER_SCOPES = ["profile:read", "dashboard:read", "organizations:read", "organizations:write"]
ADMIN_SCOPES = [*USER_SCOPES, "admin:read", "admin:write"]


async def api_key_secret(
    client: httpx.AsyncClient, token: str, scopes: list[str], **options: Any
) -> str:
    """Only the secret of a new key of the token's user."""
    secret: str = (await create_api_key(client, token, scopes, **options))["secret"]
    return secret


def api_key_rows(database: SqlDatabase) -> list[sa.RowMapping]:
    """The api_keys rows, oldest first."""
    return sorted(database.rows("api_keys"), key=lambda row: row["id"])


def update_api_key(database: SqlDatabase, key_id: str | int, **values: Any) -> None:
    """Changes one key's row directly, e.g. expires_at in the past."""
    table = database.table("api_keys")
    with database.engine.begin() as connection:
        changed = connection.execute(
            sa.update(table).where(table.c.id == int(key_id)).values(**values)
        ).rowcount
    assert changed == 1, f"expected to update one api_keys row, updated {changed}"


def with_checksum(body: str) -> str:
    """A key that passes the offline check: `body` (gqa_ + base62) and its real checksum."""
    return body + checksum(body)


# --- every root field, as a document that validates ------------------------------------


def exported_schema() -> GraphQLSchema:
    """The SDL the code exports, where @apiKeyScope shows on each root field that declares one."""
    return build_schema(export_sdl())


def declared_key_scope(schema: GraphQLSchema, root: str, name: str) -> str | None:
    """The scope a root field's @apiKeyScope names; None: closed to keys."""
    named = schema.type_map[root]
    assert isinstance(named, GraphQLObjectType)
    node = named.fields[name].ast_node
    for directive in (node.directives if node else None) or ():
        if directive.name.value == "apiKeyScope":
            (argument,) = directive.arguments
            assert isinstance(argument.value, StringValueNode)
            return argument.value.value
    return None


def root_fields(schema: GraphQLSchema) -> list[tuple[str, str]]:
    """Every (root type, field) of Query and Mutation."""
    fields: list[tuple[str, str]] = []
    for root in ("Query", "Mutation"):
        named = schema.type_map[root]
        assert isinstance(named, GraphQLObjectType)
        fields.extend((root, name) for name in named.fields)
    return fields


def root_field_document(schema: GraphQLSchema, root: str, name: str) -> str:
    """`query { name(required: placeholders) { __typename } }`: valid, whatever it would do."""
    named = schema.type_map[root]
    assert isinstance(named, GraphQLObjectType)
    field = named.fields[name]
    arguments = ", ".join(
        f"{argument}: {_placeholder(definition.type)}"
        for argument, definition in field.args.items()
        if is_non_null_type(definition.type)
    )
    call = f"{name}({arguments})" if arguments else name
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    return f"{root.lower()} {{ {call}{selection} }}"


def _placeholder(graphql_type: GraphQLInputType) -> str:
    """A literal of the type: its non-null fields filled, lists of one."""
    if is_non_null_type(graphql_type):
        return _placeholder(graphql_type.of_type)
    if is_list_type(graphql_type):
        return f"[{_placeholder(graphql_type.of_type)}]"
    if isinstance(graphql_type, GraphQLEnumType):
        value: str = next(iter(graphql_type.values))
        return value
    if isinstance(graphql_type, GraphQLInputObjectType):
        fields = ", ".join(
            f"{name}: {_placeholder(field.type)}"
            for name, field in graphql_type.fields.items()
            if is_non_null_type(field.type)
        )
        return f"{{{fields}}}"
    return {"Int": "1", "Float": "1.0", "Boolean": "true", "ID": '"1"'}.get(
        get_named_type(graphql_type).name, '"x"'
    )
