"""Roles inside an organization, tried by someone who should not get further: a MEMBER
reaching for a higher role, an ADMIN reaching for OWNER, a global ADMIN without a role there.
Other organizations' ids are in test_organization_isolation.py, invitations in
test_organization_invitations.py, tokens and removals in test_organization_access.py."""

from __future__ import annotations

import httpx
import pytest

from tests.support.helpers import (
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    make_settings,
    register,
    register_admin,
    running_app,
)
from tests.support.mfa import enable_totp, sign_in_with_totp
from tests.support.orgs import (
    INVITATIONS,
    MANAGING,
    MEMBERS,
    REACH_BY_ALIASES,
    REVOKE_INVITATION,
    Team,
    invitation_of,
    pending_invitations,
    put_member,
    remove_member,
    roles_in,
    set_member_role,
    state_of,
    team,
)

OTHER_MEMBERS_EMAILS = """
query Emails($id: ID!) {
  organization(id: $id) { members { edges { node { user { id email } } } } }
}"""


async def second_owner(client: httpx.AsyncClient, database: SqlDatabase, org: Team) -> str:
    """Makes a fresh account another OWNER (as the owner would), so LAST_OWNER is not the why."""
    account = await register(client)
    put_member(database, org.id, account["user"]["id"])
    body = await set_member_role(client, org.token("owner"), org.id, account["user"]["id"], "OWNER")
    assert data_of(body, "setMemberRole")["role"] == "OWNER"
    return str(account["user"]["id"])


class TestAMemberReachingForARole:
    @pytest.mark.parametrize("role", ["ADMIN", "OWNER"])
    async def test_a_member_cannot_raise_their_own_role(
        self, client: httpx.AsyncClient, database: SqlDatabase, role: str
    ) -> None:
        org = await team(client, database)

        body = await set_member_role(
            client, org.token("member"), org.id, org.user_id("member"), role
        )

        assert_error(body, "FORBIDDEN", path=["setMemberRole"])
        assert roles_in(database, org.id)[org.user_id("member")] == "MEMBER"

    async def test_a_member_cannot_demote_or_remove_anyone(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)
        before = roles_in(database, org.id)

        demoted = await set_member_role(
            client, org.token("member"), org.id, org.user_id("admin"), "MEMBER"
        )
        removed = await remove_member(client, org.token("member"), org.id, org.user_id("admin"))

        assert_error(demoted, "FORBIDDEN")
        assert_error(removed, "FORBIDDEN")
        assert roles_in(database, org.id) == before

    async def test_a_member_reads_the_members_but_not_the_invitations_nor_their_addresses(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)
        await invitation_of(client, org, "someone@example.com")

        members = await gql(client, MEMBERS, {"id": org.id}, token=org.token("member"))
        invitations = await gql(client, INVITATIONS, {"id": org.id}, token=org.token("member"))
        emails = await gql(client, OTHER_MEMBERS_EMAILS, {"id": org.id}, token=org.token("member"))

        assert data_of(members, "organization")["members"]["totalCount"] == 3
        assert_error(invitations, "FORBIDDEN", path=["organization", "invitations"])
        assert invitations["data"] == {"organization": None}
        # Another member's address is theirs (or an ADMIN's) to read: two others, two refusals.
        assert {e["extensions"]["code"] for e in emails["errors"]} == {"FORBIDDEN"}
        assert len(emails["errors"]) == 2


class TestAnAdminReachingForOwner:
    async def test_an_admin_cannot_make_themselves_owner(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)

        body = await set_member_role(
            client, org.token("admin"), org.id, org.user_id("admin"), "OWNER"
        )

        assert_error(body, "FORBIDDEN", path=["setMemberRole"])
        assert roles_in(database, org.id)[org.user_id("admin")] == "ADMIN"

    async def test_an_admin_cannot_make_another_member_owner(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)

        body = await set_member_role(
            client, org.token("admin"), org.id, org.user_id("member"), "OWNER"
        )

        assert_error(body, "FORBIDDEN", path=["setMemberRole"])
        assert roles_in(database, org.id)[org.user_id("member")] == "MEMBER"

    @pytest.mark.parametrize("role", ["ADMIN", "MEMBER"])
    async def test_an_admin_cannot_demote_an_owner(
        self, client: httpx.AsyncClient, database: SqlDatabase, role: str
    ) -> None:
        org = await team(client, database)
        await second_owner(client, database, org)
        before = roles_in(database, org.id)

        body = await set_member_role(client, org.token("admin"), org.id, org.user_id("owner"), role)

        assert_error(body, "FORBIDDEN", path=["setMemberRole"])
        assert roles_in(database, org.id) == before

    async def test_an_admin_cannot_remove_an_owner(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)
        await second_owner(client, database, org)
        before = roles_in(database, org.id)

        body = await remove_member(client, org.token("admin"), org.id, org.user_id("owner"))

        assert_error(body, "FORBIDDEN", path=["removeMember"])
        assert roles_in(database, org.id) == before

    async def test_an_admin_still_manages_members_and_admins(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        """The contrast: what is refused above is OWNER, not the ADMIN role itself."""
        org = await team(client, database)

        promoted = await set_member_role(
            client, org.token("admin"), org.id, org.user_id("member"), "ADMIN"
        )
        removed = await remove_member(client, org.token("admin"), org.id, org.user_id("member"))

        assert data_of(promoted, "setMemberRole")["role"] == "ADMIN"
        assert data_of(removed, "removeMember") is True
        assert org.user_id("member") not in roles_in(database, org.id)


class TestAGlobalAdmin:
    async def test_reads_any_organization_its_members_and_invitations(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)
        await invitation_of(client, org, "pending@example.com")
        admin = await register_admin(client, database)

        body = await gql(
            client, REACH_BY_ALIASES, {"mine": org.id, "theirs": org.id}, token=admin["accessToken"]
        )

        seen = data_of(body, "mine")
        assert seen["viewerRole"] is None
        assert seen["members"]["totalCount"] == 3
        assert [i["email"] for i in seen["invitations"]] == ["pending@example.com"]

    @pytest.mark.parametrize("name", sorted(MANAGING))
    async def test_cannot_change_it_without_a_role_there(
        self, client: httpx.AsyncClient, database: SqlDatabase, name: str
    ) -> None:
        org = await team(client, database)
        admin = await register_admin(client, database)
        before = state_of(database, org.id)
        document, variables = MANAGING[name](org.id, org.user_id("member"))

        body = await gql(client, document, variables, token=admin["accessToken"])

        assert_error(body, "FORBIDDEN", path=[name])
        assert state_of(database, org.id) == before

    async def test_cannot_revoke_its_invitations_without_a_role_there(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)
        invitation_id = await invitation_of(client, org, "pending@example.com")
        admin = await register_admin(client, database)

        body = await gql(
            client, REVOKE_INVITATION, {"id": invitation_id}, token=admin["accessToken"]
        )

        assert_error(body, "FORBIDDEN", path=["revokeInvitation"])
        assert [r["id"] for r in pending_invitations(database, org.id)] == [int(invitation_id)]

    async def test_with_admin_requires_mfa_reading_needs_a_second_factor_session(
        self, database: SqlDatabase
    ) -> None:
        async with running_app(make_settings(database.url, admin_requires_mfa=True)) as client:
            org = await team(client, database)
            await invitation_of(client, org, "pending@example.com")
            admin = await register_admin(client, database)
            password_only = await gql(client, MEMBERS, {"id": org.id}, token=admin["accessToken"])
            secret, _ = await enable_totp(client, admin["accessToken"])
            with_totp = await sign_in_with_totp(client, admin["user"]["username"], secret)
            stepped_up = await gql(client, MEMBERS, {"id": org.id}, token=with_totp["accessToken"])
            # Reading one's own organization is a member's right, not the global ADMIN role's;
            # an organization's ADMIN reads its invitations by that role, with a password alone.
            put_member(database, org.id, admin["user"]["id"])
            as_member = await gql(client, MEMBERS, {"id": org.id}, token=admin["accessToken"])
            # A MEMBER there reads the invitations only by the global role: a second factor.
            member_s_invitations = await gql(
                client, INVITATIONS, {"id": org.id}, token=admin["accessToken"]
            )
            org_admin = await gql(client, INVITATIONS, {"id": org.id}, token=org.token("admin"))

        assert_error(password_only, "FORBIDDEN", reason="MFA_REQUIRED", path=["organization"])
        assert password_only["data"] == {"organization": None}
        assert data_of(stepped_up, "organization")["members"]["totalCount"] == 3
        assert data_of(as_member, "organization")["members"]["totalCount"] == 4
        assert_error(
            member_s_invitations,
            "FORBIDDEN",
            reason="MFA_REQUIRED",
            path=["organization", "invitations"],
        )
        assert [i["email"] for i in data_of(org_admin, "organization")["invitations"]] == [
            "pending@example.com"
        ]
