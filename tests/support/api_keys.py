"""API key operations as clients send them, and a factory that creates one."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.helpers import STRONG_PASSWORD, data_of, gql

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
