"""API keys through the API: created once, used as a bearer credential, scoped, revoked at once."""

from __future__ import annotations

import httpx
import pytest

from tests.support.api_keys import (
    API_KEY_SCOPES,
    API_KEYS,
    REVOKE_API_KEY,
    create_api_key,
    create_api_key_body,
)
from tests.support.helpers import (
    CHANGE_PASSWORD,
    ME,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    claims_of,
    data_of,
    event_kinds,
    gql,
    make_settings,
    register,
    register_admin,
    running_app,
)
from tests.support.orgs import DELETE_ORGANIZATION, create_organization


class TestCreate:
    async def test_the_secret_is_shown_once_and_only_its_hash_is_stored(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)

        created = await create_api_key(client, owner["accessToken"], ["profile:read"])

        secret = created["secret"]
        assert secret.startswith("gqa_")
        assert created["apiKey"]["prefix"] == secret[:8]
        assert created["apiKey"]["scopes"] == ["profile:read"]
        (row,) = database.rows("api_keys")
        assert secret not in str(dict(row))
        listed = data_of(await gql(client, API_KEYS, token=owner["accessToken"]), "apiKeys")
        assert secret not in str(listed)
        assert [key["id"] for key in listed] == [created["apiKey"]["id"]]
        assert "API_KEY_CREATED" in event_kinds(database, owner["user"]["id"])

    async def test_a_wrong_current_password_is_invalid_credentials(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)

        body = await create_api_key_body(
            client, owner["accessToken"], scopes=["profile:read"], password="wrong-password-1"
        )

        assert_error(body, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert database.count("api_keys") == 0

    async def test_a_user_asking_for_an_admin_scope_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)

        body = await create_api_key_body(client, owner["accessToken"], scopes=["admin:read"])

        assert_error(body, "BAD_USER_INPUT", reason="SCOPE_NOT_HELD", field="scopes")
        assert database.count("api_keys") == 0

    async def test_the_vocabulary_is_public(self, client: httpx.AsyncClient) -> None:
        scopes = data_of(await gql(client, API_KEY_SCOPES), "apiKeyScopes")

        assert {"profile:read", "admin:write"} <= set(scopes)


class TestUse:
    async def test_a_key_reads_me_as_its_owner(self, client: httpx.AsyncClient) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])

        me = data_of(await gql(client, ME, token=created["secret"]), "me")

        assert me["id"] == owner["user"]["id"]

    async def test_a_field_whose_scope_the_key_lacks_is_missing_scope(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["dashboard:read"])

        body = await gql(client, ME, token=created["secret"])

        assert_error(body, "FORBIDDEN", reason="MISSING_SCOPE")

    @pytest.mark.parametrize(
        "document",
        [
            API_KEYS,
            "mutation { logoutAll }",
            'mutation { logout(refreshToken: "x") }',
            'mutation { revokeApiKey(id: "1") }',
            "query { signInProviders { id } }",
        ],
    )
    async def test_fields_that_declare_no_scope_are_closed_to_keys(
        self, client: httpx.AsyncClient, document: str
    ) -> None:
        owner = await register(client)
        every = ["profile:read", "dashboard:read", "organizations:read", "organizations:write"]
        created = await create_api_key(client, owner["accessToken"], every)

        body = await gql(client, document, token=created["secret"])

        assert_error(body, "FORBIDDEN", reason="API_KEY_NOT_ALLOWED")

    async def test_changing_the_password_is_closed_to_keys(self, client: httpx.AsyncClient) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])

        body = await gql(
            client,
            CHANGE_PASSWORD,
            {"input": {"currentPassword": "x", "newPassword": "Marmot-Glacier-Velvet-77"}},
            token=created["secret"],
        )

        assert_error(body, "FORBIDDEN", reason="API_KEY_NOT_ALLOWED")

    async def test_a_key_with_a_flipped_checksum_character_is_invalid(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        secret = (await create_api_key(client, owner["accessToken"], ["profile:read"]))["secret"]
        flipped = secret[:-1] + ("a" if secret[-1] != "a" else "b")

        assert_error(
            await gql(client, ME, token=flipped), "UNAUTHENTICATED", reason="TOKEN_INVALID"
        )


class TestRevoke:
    async def test_a_revoked_key_stops_at_the_next_request(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])
        data_of(await gql(client, ME, token=created["secret"]), "me")

        revoked = await gql(
            client, REVOKE_API_KEY, {"id": created["apiKey"]["id"]}, token=owner["accessToken"]
        )

        assert data_of(revoked, "revokeApiKey") is True
        assert_error(
            await gql(client, ME, token=created["secret"]),
            "UNAUTHENTICATED",
            reason="TOKEN_REVOKED",
        )
        assert "API_KEY_REVOKED" in event_kinds(database, owner["user"]["id"])


class TestAdminScopes:
    async def test_an_admin_key_loses_its_admin_scope_when_its_owner_is_demoted(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        created = await create_api_key(client, admin["accessToken"], ["admin:read"])
        users = "query { users(first: 5) { totalCount } }"
        data_of(await gql(client, users, token=created["secret"]), "users")

        database.update_user(admin["user"]["id"], role="USER")

        assert_error(
            await gql(client, users, token=created["secret"]), "FORBIDDEN", reason="MISSING_SCOPE"
        )


class TestAccessTokenScopes:
    async def test_an_access_token_lists_the_scopes_its_role_holds(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)

        scopes = set(claims_of(owner["accessToken"])["scope"].split())

        assert "profile:read" in scopes
        assert "admin:read" not in scopes


class TestKeysWhereSessionsDiffer:
    async def test_a_key_deletes_an_organization_with_the_owner_s_password(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        organization = await create_organization(client, owner["accessToken"])
        created = await create_api_key(client, owner["accessToken"], ["organizations:write"])

        body = await gql(
            client,
            DELETE_ORGANIZATION,
            {"id": organization["id"], "password": STRONG_PASSWORD},
            token=created["secret"],
        )

        assert data_of(body, "deleteOrganization") is True
        assert database.count("organizations") == 0

    async def test_an_admin_revokes_their_own_key_without_an_admin_session(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(make_settings(database.url, admin_requires_mfa=True)) as client:
            admin = await register_admin(client, database)
            created = await create_api_key(client, admin["accessToken"], ["profile:read"])

            body = await gql(
                client, REVOKE_API_KEY, {"id": created["apiKey"]["id"]}, token=admin["accessToken"]
            )

        assert data_of(body, "revokeApiKey") is True

    async def test_typename_at_the_root_answers_beside_a_scoped_field(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])

        body = await gql(client, "query { __typename me { id } }", token=created["secret"])

        assert body.get("errors") is None
        assert body["data"]["__typename"] == "Query"
