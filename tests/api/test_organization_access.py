"""Access that should end with the role: a removed or demoted member holding tokens that
still name the organization, introspection, a trusted document run by id; and the tokens
of the active organization across refresh, deletion and switching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.helpers import (
    ME,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    claims_of,
    data_of,
    event_kinds,
    gql,
    make_settings,
    refresh,
    register,
    running_app,
    session_id_of,
)
from tests.support.introspection import introspect, with_introspection
from tests.support.orgs import (
    DELETE_ORGANIZATION,
    INVITATIONS,
    MANAGING,
    MEMBERS,
    ORGANIZATION,
    REVOKE_INVITATION,
    Team,
    create_organization,
    invitation_of,
    invite,
    put_member,
    remove_member,
    set_member_role,
    state_of,
    switch,
    team,
)
from tests.support.trusted_documents import by_id, write_manifest

HASURA = "https://hasura.io/jwt/claims"
# What each role could do before it was taken away: the refusals after are the role's loss.
MAY = {
    "ADMIN": ("setMemberRole", "removeMember", "inviteMember"),
    "OWNER": tuple(sorted(MANAGING)),
}


async def switched(client: httpx.AsyncClient, token: str, organization_id: str | None) -> Any:
    """The AuthPayload of switchOrganization."""
    return data_of(await switch(client, token, organization_id), "switchOrganization")


async def in_role(
    client: httpx.AsyncClient, database: SqlDatabase, org: Team, role: str
) -> tuple[dict[str, Any], str]:
    """The team's account of `role` switched to the organization, and a token of someone who
    may remove it (the owner; for the OWNER, a second owner)."""
    boss = org.token("owner")
    if role == "OWNER":
        co_owner = await register(client)
        put_member(database, org.id, co_owner["user"]["id"], "OWNER")
        boss = co_owner["accessToken"]
    payload: dict[str, Any] = await switched(client, org.token(role), org.id)
    claims = claims_of(payload["accessToken"])
    assert (claims["org_id"], claims["org_role"]) == (org.id, role)
    return payload, boss


class TestARemovedMember:
    @pytest.mark.parametrize("role", ["ADMIN", "OWNER"])
    async def test_the_token_that_names_the_organization_opens_nothing_any_more(
        self, client: httpx.AsyncClient, database: SqlDatabase, role: str
    ) -> None:
        org = await team(client, database)
        invitation_id = await invitation_of(client, org, "pending@example.com")
        removed, boss = await in_role(client, database, org, role)
        token = removed["accessToken"]
        before = await gql(client, INVITATIONS, {"id": org.id}, token=token)
        assert len(data_of(before, "organization")["invitations"]) == 1
        data_of(await remove_member(client, boss, org.id, removed["user"]["id"]), "removeMember")
        state = state_of(database, org.id)

        reads = [
            await gql(client, document, {"id": org.id}, token=token)
            for document in (ORGANIZATION, MEMBERS, INVITATIONS)
        ]
        managing = {}
        for name in MAY[role]:
            document, variables = MANAGING[name](org.id, org.user_id("member"))
            managing[name] = await gql(client, document, variables, token=token)
        revoking = await gql(client, REVOKE_INVITATION, {"id": invitation_id}, token=token)

        assert claims_of(token)["org_role"] == role  # the token still says so; nobody asks it
        assert reads == [{"data": {"organization": None}}] * 3
        for name, body in managing.items():
            assert_error(body, "FORBIDDEN", path=[name])
        assert_error(revoking, "FORBIDDEN", path=["revokeInvitation"])
        assert state_of(database, org.id) == state

    async def test_introspection_drops_the_organization_at_once(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(with_introspection(database)) as client:
            org = await team(client, database)
            admin, boss = await in_role(client, database, org, "ADMIN")
            before = (await introspect(client, admin["accessToken"])).json()
            await remove_member(client, boss, org.id, org.user_id("admin"))
            after = (await introspect(client, admin["accessToken"])).json()

        assert (before["org_id"], before["org_role"]) == (org.id, "ADMIN")
        assert after["active"] is True  # the session lives on: only the organization is gone
        assert "org_id" not in after
        assert "org_role" not in after

    async def test_a_trusted_document_run_by_id_keeps_no_access(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        manifest = write_manifest(tmp_path / "persisted-documents.json", MEMBERS, INVITATIONS)
        settings = make_settings(database.url, trusted_documents_file=manifest)
        async with running_app(settings) as client:
            org = await team(client, database)
            admin, boss = await in_role(client, database, org, "ADMIN")

            async def run_both() -> list[Any]:
                return [
                    (await by_id(client, doc, {"id": org.id}, token=admin["accessToken"])).json()
                    for doc in (MEMBERS, INVITATIONS)
                ]

            before = await run_both()
            await remove_member(client, boss, org.id, org.user_id("admin"))
            after = await run_both()

        assert data_of(before[0], "organization")["members"]["totalCount"] == 3
        assert data_of(before[1], "organization")["invitations"] == []
        assert after == [{"data": {"organization": None}}] * 2


class TestADemotedAdmin:
    async def test_loses_the_invitations_and_admin_mutations_at_the_next_request(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(with_introspection(database)) as client:
            org = await team(client, database)
            admin, boss = await in_role(client, database, org, "ADMIN")
            token = admin["accessToken"]
            before = await gql(client, INVITATIONS, {"id": org.id}, token=token)
            demoted = await set_member_role(client, boss, org.id, org.user_id("admin"), "MEMBER")
            assert data_of(demoted, "setMemberRole")["role"] == "MEMBER"

            invitations = await gql(client, INVITATIONS, {"id": org.id}, token=token)
            members = await gql(client, MEMBERS, {"id": org.id}, token=token)
            inviting = await invite(client, token, org.id, "friend@example.com")
            introspected = (await introspect(client, token)).json()

        assert data_of(before, "organization")["invitations"] == []
        assert_error(invitations, "FORBIDDEN", path=["organization", "invitations"])
        assert data_of(members, "organization")["members"]["totalCount"] == 3  # still a MEMBER
        assert_error(inviting, "FORBIDDEN", path=["inviteMember"])
        assert database.rows("invitations") == []
        assert claims_of(token)["org_role"] == "ADMIN"
        assert introspected["org_role"] == "MEMBER"


class TestTokensOfTheActiveOrganization:
    async def test_a_refresh_keeps_the_organization_in_the_new_access_token(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)
        admin, _ = await in_role(client, database, org, "ADMIN")

        renewed = data_of(await refresh(client, admin["refreshToken"]), "refreshToken")

        claims = claims_of(renewed["accessToken"])
        assert (claims["org_id"], claims["org_role"]) == (org.id, "ADMIN")

    @pytest.mark.parametrize(("change", "role"), [("demoted", "MEMBER"), ("removed", None)])
    async def test_a_refresh_after_the_role_changed_says_what_the_database_says(
        self, client: httpx.AsyncClient, database: SqlDatabase, change: str, role: str | None
    ) -> None:
        org = await team(client, database)
        admin, boss = await in_role(client, database, org, "ADMIN")
        if change == "demoted":
            data_of(
                await set_member_role(client, boss, org.id, admin["user"]["id"], "MEMBER"),
                "setMemberRole",
            )
        else:
            data_of(await remove_member(client, boss, org.id, admin["user"]["id"]), "removeMember")

        renewed = data_of(await refresh(client, admin["refreshToken"]), "refreshToken")

        claims = claims_of(renewed["accessToken"])
        assert claims.get("org_role") == role
        assert claims.get("org_id") == (None if role is None else org.id)

    async def test_hasura_claims_carry_the_active_organization(self, database: SqlDatabase) -> None:
        async with running_app(make_settings(database.url, jwt_hasura_claims=True)) as client:
            owner = await register(client)
            organization = await create_organization(client, owner["accessToken"])
            inside = await switched(client, owner["accessToken"], organization["id"])
            renewed = data_of(await refresh(client, inside["refreshToken"]), "refreshToken")
            outside = await switched(client, renewed["accessToken"], None)

        for payload in (inside, renewed):
            hasura = claims_of(payload["accessToken"])[HASURA]
            assert hasura["x-hasura-org-id"] == organization["id"]
            assert hasura["x-hasura-user-id"] == owner["user"]["id"]
        assert "x-hasura-org-id" not in claims_of(outside["accessToken"])[HASURA]

    async def test_deleting_the_organization_leaves_the_session_usable_without_it(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        organization = await create_organization(client, owner["accessToken"])
        inside = await switched(client, owner["accessToken"], organization["id"])
        deleted = await gql(
            client,
            DELETE_ORGANIZATION,
            {"id": organization["id"], "password": STRONG_PASSWORD},
            token=inside["accessToken"],
        )
        assert data_of(deleted, "deleteOrganization") is True

        me = await gql(client, ME, token=inside["accessToken"])
        renewed = data_of(await refresh(client, inside["refreshToken"]), "refreshToken")

        assert data_of(me, "me")["id"] == owner["user"]["id"]
        claims = claims_of(renewed["accessToken"])
        assert "org_id" not in claims
        assert "org_role" not in claims
        (session,) = database.rows("sessions")
        assert session["active_organization_id"] is None

    async def test_switching_retires_the_refresh_token_held_before_as_a_refresh_does(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        """switchOrganization says so: replaying the old refresh token revokes the session."""
        owner = await register(client)
        organization = await create_organization(client, owner["accessToken"])
        inside = await switched(client, owner["accessToken"], organization["id"])
        assert inside["refreshToken"] != owner["refreshToken"]
        assert session_id_of(inside) == session_id_of(owner)  # the same session, rotated

        replayed = await refresh(client, owner["refreshToken"])
        after = await gql(client, ME, token=inside["accessToken"])
        newest = await refresh(client, inside["refreshToken"])

        assert_error(replayed, "UNAUTHENTICATED", reason="TOKEN_REVOKED")
        assert_error(after, "UNAUTHENTICATED", reason="TOKEN_REVOKED")
        assert_error(newest, "UNAUTHENTICATED", reason="TOKEN_REVOKED")
        assert "REFRESH_TOKEN_REUSED" in event_kinds(database, owner["user"]["id"])


class TestSwitchingInOneDocument:
    """A role is checked in the organization a field names, even after switchOrganization
    moved the session's active organization earlier in the same document."""

    SWITCH_THEN_DELETE = """
    mutation Both($org: ID!, $password: String!) {
      switchOrganization(organizationId: $org) { accessToken }
      deleteOrganization(organizationId: $org, currentPassword: $password)
    }"""
    SWITCH_THEN_RENAME = """
    mutation Both($org: ID!) {
      switchOrganization(organizationId: $org) { accessToken }
      updateOrganization(input: {organizationId: $org, name: "Renamed"}) { name viewerRole }
    }"""

    async def test_an_owner_elsewhere_is_only_a_member_in_the_organization_switched_to(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        mine, theirs = await team(client, database), await team(client, database)
        put_member(database, theirs.id, mine.user_id("owner"), "MEMBER")
        inside = await switched(client, mine.token("owner"), mine.id)  # OWNER here
        before = state_of(database, theirs.id)

        body = await gql(
            client,
            self.SWITCH_THEN_DELETE,
            {"org": theirs.id, "password": "not-the-password-at-all"},
            token=inside["accessToken"],
        )

        # Refused for the role, before any password is checked (or counted as a failure).
        assert_error(body, "FORBIDDEN", path=["deleteOrganization"])
        assert state_of(database, theirs.id) == before
        assert "LOGIN_FAILED" not in event_kinds(database, mine.user_id("owner"))

    async def test_a_member_elsewhere_is_owner_in_the_organization_switched_to(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        mine, theirs = await team(client, database), await team(client, database)
        put_member(database, theirs.id, mine.user_id("owner"), "MEMBER")
        inside = await switched(client, mine.token("owner"), theirs.id)  # a MEMBER there

        body = await gql(
            client, self.SWITCH_THEN_RENAME, {"org": mine.id}, token=inside["accessToken"]
        )

        assert data_of(body, "updateOrganization") == {"name": "Renamed", "viewerRole": "OWNER"}
