"""What an API key may reach, tried as an attacker holding one would: scopes beyond the owner's
role, a demoted owner's key, root fields closed to keys (every one in the schema, however a
document reaches it), and private fields nested in an answer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.api_keys import (
    ADMIN_SCOPES,
    USER_SCOPES,
    api_key_rows,
    api_key_secret,
    create_api_key_body,
    declared_key_scope,
    exported_schema,
    root_field_document,
    root_fields,
)
from tests.support.helpers import (
    ADMIN_DASHBOARD,
    ME,
    STRONG_PASSWORD,
    USER_DASHBOARD,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    make_settings,
    register,
    register_admin,
    running_app,
)
from tests.support.introspection import introspect, with_introspection
from tests.support.mailbox import running_mail_app
from tests.support.orgs import (
    ACCEPT_INVITATION,
    CREATE_ORGANIZATION,
    DELETE_ORGANIZATION,
    INVITE_MEMBER,
    LEAVE_ORGANIZATION,
    ORGANIZATION,
    ORGANIZATIONS,
    REMOVE_MEMBER,
    REVOKE_INVITATION,
    SET_MEMBER_ROLE,
    UPDATE_ORGANIZATION,
    create_organization,
    invitation_token,
    invite,
    unique_slug,
    verified_user,
)

SCHEMA = exported_schema()
ROOT_FIELDS = root_fields(SCHEMA)
CLOSED_FIELDS = [field for field in ROOT_FIELDS if declared_key_scope(SCHEMA, *field) is None]
OPEN_FIELDS = [field for field in ROOT_FIELDS if declared_key_scope(SCHEMA, *field) is not None]
# The contract's list of root fields closed to keys whatever their scopes, and the public
# fields (no sign-in needed), which a key does not open either.
CONTRACT_CLOSED = {
    "Mutation.changePassword",
    "Mutation.logoutAll",
    "Mutation.logout",
    "Mutation.refreshToken",
    "Mutation.updateProfile",
    "Mutation.requestEmailVerification",
    "Mutation.enrollTotp",
    "Mutation.confirmTotp",
    "Mutation.disableTotp",
    "Mutation.regenerateRecoveryCodes",
    "Mutation.verifyMfa",
    "Mutation.beginPasskeyRegistration",
    "Mutation.finishPasskeyRegistration",
    "Mutation.deletePasskey",
    "Mutation.beginPasskeyLogin",
    "Mutation.finishPasskeyLogin",
    "Mutation.beginSocialLink",
    "Mutation.linkSocialIdentity",
    "Mutation.unlinkSocialIdentity",
    "Mutation.switchOrganization",
    "Mutation.createApiKey",
    "Mutation.revokeApiKey",
    "Query.apiKeys",
    "Query.userApiKeys",
    "Mutation.register",
    "Mutation.login",
    "Mutation.requestPasswordReset",
    "Mutation.resetPassword",
    "Mutation.verifyEmail",
    "Mutation.beginSocialSignIn",
    "Mutation.finishSocialSignIn",
    "Query.signInProviders",
    "Query.apiKeyScopes",
}
USERS = "query { users(first: 5) { totalCount } }"
SET_ROLE = "mutation R($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { role } }"
SET_ACTIVE = (
    "mutation A($id: ID!, $active: Boolean!) { setUserActive(userId: $id, active: $active) { id } }"
)
PRIVATE_OF = """
query Of($id: ID!) {
  user(id: $id) { id username email emailVerified lastLoginAt pendingEmail hasPassword }
}"""


def _coordinate(field: tuple[str, str]) -> str:
    return ".".join(field)


async def _admin_with_key(
    client: httpx.AsyncClient, database: SqlDatabase, scopes: list[str]
) -> tuple[dict[str, Any], str]:
    admin = await register_admin(client, database)
    return admin, await api_key_secret(client, admin["accessToken"], scopes)


class TestScopesBeyondTheRole:
    @pytest.mark.parametrize(
        "scopes",
        [["admin:read"], ["admin:write"], ["profile:read", "admin:write"], ADMIN_SCOPES],
    )
    async def test_a_user_asking_for_admin_scopes_is_refused_and_nothing_is_stored(
        self, client: httpx.AsyncClient, database: SqlDatabase, scopes: list[str]
    ) -> None:
        owner = await register(client)

        body = await create_api_key_body(client, owner["accessToken"], scopes=scopes)

        error = assert_error(body, "BAD_USER_INPUT", field="scopes", reason="SCOPE_NOT_HELD")
        assert "admin:" in error["message"]
        assert api_key_rows(database) == []

    @pytest.mark.parametrize(
        ("scopes", "reason"),
        [([], "REQUIRED"), (["profile:write"], "INVALID"), (["PROFILE:READ"], "INVALID")],
    )
    async def test_no_scope_or_an_unknown_one_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase, scopes: list[str], reason: str
    ) -> None:
        owner = await register(client)

        body = await create_api_key_body(client, owner["accessToken"], scopes=scopes)

        assert_error(body, "BAD_USER_INPUT", field="scopes", reason=reason)
        assert api_key_rows(database) == []


class TestADemotedOwner:
    async def test_an_admin_key_loses_every_admin_field_when_its_owner_is_demoted(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin, secret = await _admin_with_key(client, database, ADMIN_SCOPES)
        victim = await register(client)
        data_of(await gql(client, ADMIN_DASHBOARD, token=secret), "adminDashboard")

        database.update_user(admin["user"]["id"], role="USER")

        for document, variables in (
            (USERS, {}),
            (ADMIN_DASHBOARD, {}),
            (SET_ROLE, {"id": admin["user"]["id"], "role": "ADMIN"}),
            (SET_ACTIVE, {"id": victim["user"]["id"], "active": False}),
        ):
            body = await gql(client, document, variables, token=secret)
            assert_error(body, "FORBIDDEN", reason="MISSING_SCOPE")
        assert database.user_row(admin["user"]["username"])["role"] == "USER"
        assert database.user_row(victim["user"]["username"])["is_active"]
        # What a USER holds still works.
        assert data_of(await gql(client, ME, token=secret), "me")["role"] == "USER"

    async def test_promoted_again_the_key_s_admin_scopes_work_again(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin, secret = await _admin_with_key(client, database, ["admin:read"])
        database.update_user(admin["user"]["id"], role="USER")
        assert_error(await gql(client, USERS, token=secret), "FORBIDDEN", reason="MISSING_SCOPE")

        database.update_user(admin["user"]["id"], role="ADMIN")

        assert data_of(await gql(client, USERS, token=secret), "users")["totalCount"] == 1

    async def test_introspection_drops_the_admin_scopes_of_a_demoted_owner_s_key(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(with_introspection(database)) as client:
            admin, secret = await _admin_with_key(client, database, ["profile:read", "admin:read"])
            before = (await introspect(client, secret)).json()
            database.update_user(admin["user"]["id"], role="USER")
            after = (await introspect(client, secret)).json()

        assert before["scope"] == "profile:read admin:read"
        assert after["active"] is True
        assert after["scope"] == "profile:read"
        assert after["role"] == "USER"


class TestANarrowKey:
    async def test_a_profile_read_key_of_an_admin_reaches_nothing_else(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        _, secret = await _admin_with_key(client, database, ["profile:read"])
        victim = await register(client)

        for document, variables in (
            (USER_DASHBOARD, {}),
            (ORGANIZATIONS, {}),
            (USERS, {}),
            (ADMIN_DASHBOARD, {}),
            (SET_ACTIVE, {"id": victim["user"]["id"], "active": False}),
        ):
            body = await gql(client, document, variables, token=secret)
            assert_error(body, "FORBIDDEN", reason="MISSING_SCOPE")
        assert database.user_row(victim["user"]["username"])["is_active"]

    async def test_the_missing_scope_is_named(self, client: httpx.AsyncClient) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], ["profile:read"])

        error = assert_error(await gql(client, USER_DASHBOARD, token=secret), "FORBIDDEN")

        assert "dashboard:read" in error["message"]

    async def test_a_dashboard_key_reads_the_dashboard_with_no_session_current(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], ["dashboard:read"])

        dashboard = data_of(await gql(client, USER_DASHBOARD, token=secret), "userDashboard")

        assert dashboard["user"]["id"] == owner["user"]["id"]
        assert [session["current"] for session in dashboard["activeSessions"]] == [False]


class TestEveryRootField:
    def test_the_contract_s_closed_fields_exist_and_declare_no_scope(self) -> None:
        coordinates = {_coordinate(field) for field in ROOT_FIELDS}
        closed = {_coordinate(field) for field in CLOSED_FIELDS}

        assert CONTRACT_CLOSED <= coordinates, CONTRACT_CLOSED - coordinates
        assert CONTRACT_CLOSED <= closed, CONTRACT_CLOSED - closed

    @pytest.mark.parametrize("field", CLOSED_FIELDS, ids=_coordinate)
    async def test_a_field_that_declares_no_scope_is_refused_to_a_key_holding_every_scope(
        self, client: httpx.AsyncClient, database: SqlDatabase, field: tuple[str, str]
    ) -> None:
        _, secret = await _admin_with_key(client, database, ADMIN_SCOPES)
        sessions_before = database.rows("sessions")

        body = await gql(client, root_field_document(SCHEMA, *field), token=secret)

        assert_error(body, "FORBIDDEN", reason="API_KEY_NOT_ALLOWED", path=[field[1]])
        assert database.rows("sessions") == sessions_before  # nothing signed in or out
        assert len(api_key_rows(database)) == 1  # nor a key made

    @pytest.mark.parametrize("field", OPEN_FIELDS, ids=_coordinate)
    async def test_a_field_that_declares_a_scope_is_refused_to_a_key_holding_every_other(
        self, client: httpx.AsyncClient, database: SqlDatabase, field: tuple[str, str]
    ) -> None:
        scope = declared_key_scope(SCHEMA, *field)
        others = [held for held in ADMIN_SCOPES if held != scope]
        _, secret = await _admin_with_key(client, database, others)

        body = await gql(client, root_field_document(SCHEMA, *field), token=secret)

        error = assert_error(body, "FORBIDDEN", reason="MISSING_SCOPE", path=[field[1]])
        assert f"{scope} scope" in error["message"]

    @pytest.mark.parametrize("field", OPEN_FIELDS, ids=_coordinate)
    async def test_a_field_that_declares_a_scope_is_open_to_a_key_holding_it(
        self, client: httpx.AsyncClient, database: SqlDatabase, field: tuple[str, str]
    ) -> None:
        """Whatever else the placeholder arguments earn (BAD_USER_INPUT, NOT_FOUND, ...), never
        a refusal for being a key. The ids are "1": the ADMIN, its organization, its invitation,
        so the organization's guards let each field through to its resolver."""
        admin, secret = await _admin_with_key(client, database, ADMIN_SCOPES)
        organization = await create_organization(client, admin["accessToken"])
        invited = await invite(client, admin["accessToken"], organization["id"], "x@example.com")
        ids = {admin["user"]["id"], organization["id"], data_of(invited, "inviteMember")["id"]}
        assert ids == {"1"}

        body = await gql(client, root_field_document(SCHEMA, *field), token=secret)

        reasons = {error["extensions"].get("reason") for error in body.get("errors") or []}
        assert not reasons & {"API_KEY_NOT_ALLOWED", "MISSING_SCOPE"}, body
        assert "INTERNAL_SERVER_ERROR" not in str(body)


class TestDocumentsThatHideAClosedField:
    @pytest.mark.parametrize(
        "document",
        [
            "query { mine: me { id } keys: apiKeys { id } }",
            "query { me { id } ...Keys } fragment Keys on Query { keys: apiKeys { id } }",
            "query { me { id } ... on Query { keys: apiKeys { id } } }",
            "query { me { id } ... @include(if: true) { keys: apiKeys { id } } }",
            "query { ...A } fragment A on Query { ...B }\n"
            "fragment B on Query { keys: apiKeys { id } }",
        ],
    )
    async def test_a_closed_query_field_errors_however_it_is_reached(
        self, client: httpx.AsyncClient, document: str
    ) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], USER_SCOPES)

        body = await gql(client, document, token=secret)

        assert_error(body, "FORBIDDEN", reason="API_KEY_NOT_ALLOWED", path=["keys"])
        assert "gqa_" not in str(body)

    @pytest.mark.parametrize(
        "document",
        [
            "mutation { out: logoutAll }",
            "mutation { ...Out } fragment Out on Mutation { out: logoutAll }",
            "mutation { ... on Mutation { out: logoutAll } }",
        ],
    )
    async def test_logout_all_hidden_in_a_mutation_signs_nobody_out(
        self, client: httpx.AsyncClient, database: SqlDatabase, document: str
    ) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], USER_SCOPES)

        body = await gql(client, document, token=secret)

        assert_error(body, "FORBIDDEN", reason="API_KEY_NOT_ALLOWED", path=["out"])
        assert data_of(await gql(client, ME, token=owner["accessToken"]), "me")
        assert [row["revoked_at"] for row in database.rows("sessions")] == [None]

    async def test_beside_an_allowed_mutation_the_allowed_one_runs_and_the_closed_one_not(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], USER_SCOPES)
        slug = unique_slug()
        document = f"""
        mutation {{
          made: createOrganization(input: {{name: "Keyed", slug: "{slug}"}}) {{ id slug }}
          ... on Mutation {{ out: logoutAll }}
        }}"""

        body = await gql(client, document, token=secret)

        assert_error(body, "FORBIDDEN", reason="API_KEY_NOT_ALLOWED", path=["out"])
        # logoutAll is non-null, so data is null; the organization was still made, alone.
        assert [row["slug"] for row in database.rows("organizations")] == [slug]
        assert [row["revoked_at"] for row in database.rows("sessions")] == [None]

    async def test_beside_an_allowed_query_only_the_closed_one_errors(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], USER_SCOPES)
        document = "query { me { id } user(id: 1) { id } apiKeyScopes }"

        body = await gql(client, document, token=secret)

        assert_error(body, "FORBIDDEN", reason="API_KEY_NOT_ALLOWED", path=["apiKeyScopes"])


class TestNestedPrivateFields:
    async def test_me_shows_the_owner_s_own_private_fields(self, client: httpx.AsyncClient) -> None:
        owner = await register(client)
        secret = await api_key_secret(client, owner["accessToken"], ["profile:read"])
        document = (
            "query { me { id email emailVerified pendingEmail hasPassword identities { id } } }"
        )

        me = data_of(await gql(client, document, token=secret), "me")

        assert me["email"] == owner["user"]["email"]
        assert me["hasPassword"] is True and me["identities"] == []

    async def test_another_user_s_private_fields_are_forbidden(
        self, client: httpx.AsyncClient
    ) -> None:
        owner, other = await register(client), await register(client)
        secret = await api_key_secret(client, owner["accessToken"], USER_SCOPES)

        body = await gql(client, PRIVATE_OF, {"id": other["user"]["id"]}, token=secret)

        errors = body["errors"]
        assert {error["extensions"]["code"] for error in errors} == {"FORBIDDEN"}
        assert other["user"]["email"] not in str(body)
        assert body["data"]["user"] is None or body["data"]["user"]["email"] is None

    async def test_an_admin_s_key_without_admin_read_reads_no_other_user_s_private_fields(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        """Reading another user's private fields is what admin:read is for: profile:read,
        which reads `user`, must not carry the ADMIN role's reach with it."""
        _, secret = await _admin_with_key(client, database, ["profile:read"])
        other = await register(client)

        body = await gql(
            client,
            "query Of($id: ID!) { user(id: $id) { username email } }",
            {"id": other["user"]["id"]},
            token=secret,
        )

        assert_error(body, "FORBIDDEN", reason="MISSING_SCOPE", path=["user", "email"])
        assert other["user"]["email"] not in str(body)

    async def test_an_admin_s_key_with_admin_read_reads_them(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        _, secret = await _admin_with_key(client, database, ["profile:read", "admin:read"])
        other = await register(client)

        body = await gql(client, PRIVATE_OF, {"id": other["user"]["id"]}, token=secret)

        assert data_of(body, "user")["email"] == other["user"]["email"]

    async def test_an_admin_s_key_without_admin_read_reads_no_stranger_s_organization(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        _, narrow = await _admin_with_key(client, database, ["organizations:read"])
        _, wide = await _admin_with_key(client, database, ["organizations:read", "admin:read"])
        owner = await register(client)
        organization = await create_organization(client, owner["accessToken"], name="Private")

        refused = await gql(client, ORGANIZATION, {"id": organization["id"]}, token=narrow)
        read = await gql(client, ORGANIZATION, {"id": organization["id"]}, token=wide)

        assert_error(refused, "FORBIDDEN", reason="MISSING_SCOPE", path=["organization"])
        assert "Private" not in str(refused)
        assert data_of(read, "organization")["name"] == "Private"


class TestOrganizationWritesWithAKey:
    """organizations:write opens every organization mutation but switchOrganization."""

    async def test_keys_run_an_organization_s_whole_life(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with running_mail_app(make_settings(database.url), caplog) as app:
            client = app.client
            owner, member = await register(client), await verified_user(client, database)
            owner_key = await api_key_secret(client, owner["accessToken"], USER_SCOPES)
            member_key = await api_key_secret(
                client, member["accessToken"], ["organizations:write"]
            )
            email, member_id = member["user"]["email"], member["user"]["id"]

            async def run(key: str, document: str, variables: dict[str, Any]) -> Any:
                body = await gql(client, document, variables, token=key)
                assert not body.get("errors"), body
                return next(iter(body["data"].values()))

            made = await run(
                owner_key, CREATE_ORGANIZATION, {"input": {"name": "Keyed", "slug": unique_slug()}}
            )
            org = made["id"]
            renamed = await run(
                owner_key,
                UPDATE_ORGANIZATION,
                {"input": {"organizationId": org, "name": "Renamed"}},
            )
            invite = {"input": {"organizationId": org, "email": email, "role": "MEMBER"}}
            await run(owner_key, INVITE_MEMBER, invite)
            joined = await run(
                member_key, ACCEPT_INVITATION, {"token": await invitation_token(app.mailbox, email)}
            )
            promoted = await run(
                owner_key,
                SET_MEMBER_ROLE,
                {"input": {"organizationId": org, "userId": member_id, "role": "ADMIN"}},
            )
            removed = await run(owner_key, REMOVE_MEMBER, {"org": org, "user": member_id})
            await run(owner_key, INVITE_MEMBER, invite)
            await run(
                member_key, ACCEPT_INVITATION, {"token": await invitation_token(app.mailbox, email)}
            )
            left = await run(member_key, LEAVE_ORGANIZATION, {"org": org})
            pending = await run(
                owner_key,
                INVITE_MEMBER,
                {"input": {"organizationId": org, "email": "later@example.com", "role": "MEMBER"}},
            )
            revoked = await run(owner_key, REVOKE_INVITATION, {"id": pending["id"]})
            deleted = await run(
                owner_key, DELETE_ORGANIZATION, {"id": org, "password": STRONG_PASSWORD}
            )

        assert renamed["name"] == "Renamed"
        assert joined["role"] == "MEMBER" and promoted["role"] == "ADMIN"
        assert removed is left is revoked is deleted is True
        assert database.rows("organizations") == []

    async def test_deleting_with_a_key_needs_the_password(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        key = await api_key_secret(client, owner["accessToken"], ["organizations:write"])
        org = (await create_organization(client, owner["accessToken"]))["id"]

        missing = await gql(client, DELETE_ORGANIZATION, {"id": org}, token=key)
        wrong = await gql(
            client, DELETE_ORGANIZATION, {"id": org, "password": "Not-The-Password-1"}, token=key
        )

        assert_error(missing, "BAD_USER_INPUT", field="currentPassword", reason="REQUIRED")
        assert_error(wrong, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert len(database.rows("organizations")) == 1

    async def test_a_password_less_owner_s_key_cannot_delete_having_no_sign_in_to_show(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        key = await api_key_secret(client, owner["accessToken"], ["organizations:write"])
        org = (await create_organization(client, owner["accessToken"]))["id"]
        database.update_user(owner["user"]["id"], password_hash=None)

        body = await gql(client, DELETE_ORGANIZATION, {"id": org}, token=key)

        assert_error(body, "FORBIDDEN", reason="STEP_UP_REQUIRED")
        assert len(database.rows("organizations")) == 1
