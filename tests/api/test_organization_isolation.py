"""One organization's members reaching into another by its id (reads, every managing
mutation, an invitation's id, aliases and fragments), and ids that name no organization at
all: the same answers as for an organization one is not in, and never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.support.helpers import (
    SqlDatabase,
    assert_error,
    assert_no_leak,
    gql,
    post_graphql,
)
from tests.support.orgs import (
    INVITATIONS,
    LEAVE_ORGANIZATION,
    MANAGING,
    MEMBERS,
    ORGANIZATION,
    REACH_BY_ALIASES,
    REVOKE_INVITATION,
    SWITCH_ORGANIZATION,
    Call,
    invitation_of,
    pending_invitations,
    remove_member,
    set_member_role,
    state_of,
    team,
)

# Ids that cannot name an organization, or name none that exists.
# Mutations open to any signed-in user that name an organization they must belong to.
BY_MEMBERSHIP: dict[str, Call] = {
    "leaveOrganization": lambda org, user: (LEAVE_ORGANIZATION, {"org": org}),
    "switchOrganization": lambda org, user: (SWITCH_ORGANIZATION, {"org": org}),
}
NOWHERE_IDS = ["999999", "abc", "-1", "1.0", " 1", "1e3", "9" * 18, "9" * 19, "9" * 400, ""]


class TestAnotherOrganization:
    async def test_even_an_owner_reads_nothing_of_another_organization(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        mine, theirs = await team(client, database), await team(client, database)
        await invitation_of(client, theirs, "private@example.com")

        for document in (ORGANIZATION, MEMBERS, INVITATIONS):
            body = await gql(client, document, {"id": theirs.id}, token=mine.token("owner"))
            assert body == {"data": {"organization": None}}, document

    async def test_aliases_and_fragments_reach_nothing_of_another_organization(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        mine, theirs = await team(client, database), await team(client, database)
        await invitation_of(client, theirs, "private@example.com")

        body = await gql(
            client,
            REACH_BY_ALIASES,
            {"mine": mine.id, "theirs": theirs.id},
            token=mine.token("owner"),
        )

        assert not body.get("errors"), body
        assert body["data"]["mine"]["members"]["totalCount"] == 3
        assert body["data"]["theirs"] is None
        assert body["data"]["again"] is None

    @pytest.mark.parametrize("name", sorted(MANAGING))
    async def test_an_owner_cannot_manage_another_organization_by_its_id(
        self, client: httpx.AsyncClient, database: SqlDatabase, name: str
    ) -> None:
        mine, theirs = await team(client, database), await team(client, database)
        await invitation_of(client, theirs, "pending@example.com")
        before = state_of(database, theirs.id)
        document, variables = MANAGING[name](theirs.id, theirs.user_id("admin"))

        body = await gql(client, document, variables, token=mine.token("owner"))

        assert_error(body, "FORBIDDEN", path=[name])
        assert state_of(database, theirs.id) == before

    async def test_an_owner_cannot_revoke_another_organization_s_invitation(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        mine, theirs = await team(client, database), await team(client, database)
        invitation_id = await invitation_of(client, theirs, "pending@example.com")

        body = await gql(
            client, REVOKE_INVITATION, {"id": invitation_id}, token=mine.token("owner")
        )

        assert_error(body, "FORBIDDEN", path=["revokeInvitation"])
        assert [r["id"] for r in pending_invitations(database, theirs.id)] == [int(invitation_id)]

    async def test_their_members_are_not_found_through_one_s_own_organization(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        mine, theirs = await team(client, database), await team(client, database)
        before = state_of(database, theirs.id)

        demoted = await set_member_role(
            client, mine.token("owner"), mine.id, theirs.user_id("owner"), "MEMBER"
        )
        removed = await remove_member(client, mine.token("owner"), mine.id, theirs.user_id("owner"))

        assert_error(demoted, "BAD_USER_INPUT", field="userId", reason="NOT_FOUND")
        assert_error(removed, "BAD_USER_INPUT", field="userId", reason="NOT_FOUND")
        assert state_of(database, theirs.id) == before

    async def test_one_forbidden_alias_does_not_carry_another_s_permission(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        mine, theirs = await team(client, database), await team(client, database)
        before = state_of(database, theirs.id)
        document = """
        mutation Both($mine: ID!, $theirs: ID!, $user: ID!) {
          ok: updateOrganization(input: {organizationId: $mine, name: "Renamed"}) { name }
          theirs: removeMember(organizationId: $theirs, userId: $user)
        }"""
        variables = {"mine": mine.id, "theirs": theirs.id, "user": theirs.user_id("member")}

        body = await gql(client, document, variables, token=mine.token("owner"))

        assert_error(body, "FORBIDDEN", path=["theirs"])
        # The refused field is non-null, so data is null; the allowed one still ran, alone.
        (renamed,) = state_of(database, mine.id)[0]
        assert renamed["name"] == "Renamed"
        assert state_of(database, theirs.id) == before


class TestIdsThatNameNothing:
    """The same answers as for an organization one is not a member of, and never a 500."""

    @pytest.mark.parametrize("nowhere", NOWHERE_IDS)
    async def test_reading_answers_as_for_a_stranger(
        self, client: httpx.AsyncClient, database: SqlDatabase, nowhere: str
    ) -> None:
        mine, theirs = await team(client, database), await team(client, database)

        for document in (ORGANIZATION, MEMBERS, INVITATIONS):
            response = await post_graphql(
                client, document, {"id": nowhere}, token=mine.token("owner")
            )
            assert_no_leak(response, sent=nowhere)
            stranger = await gql(client, document, {"id": theirs.id}, token=mine.token("owner"))
            assert response.json() == stranger == {"data": {"organization": None}}

    @pytest.mark.parametrize("nowhere", NOWHERE_IDS)
    async def test_managing_answers_as_for_a_stranger(
        self, client: httpx.AsyncClient, database: SqlDatabase, nowhere: str
    ) -> None:
        mine, theirs = await team(client, database), await team(client, database)
        calls: dict[str, Call] = {**MANAGING, **BY_MEMBERSHIP}

        for name, call in calls.items():
            document, variables = call(nowhere, theirs.user_id("member"))
            response = await post_graphql(client, document, variables, token=mine.token("owner"))
            assert_no_leak(response, sent=nowhere)
            document, variables = call(theirs.id, theirs.user_id("member"))
            stranger = await gql(client, document, variables, token=mine.token("owner"))
            assert response.json() == stranger, name
            if name in BY_MEMBERSHIP:
                assert_error(stranger, "BAD_USER_INPUT", reason="NOT_FOUND", field="organizationId")
            else:
                assert_error(stranger, "FORBIDDEN", path=[name])

    @pytest.mark.parametrize("nowhere", NOWHERE_IDS)
    async def test_revoking_answers_as_for_another_organization_s_invitation(
        self, client: httpx.AsyncClient, database: SqlDatabase, nowhere: str
    ) -> None:
        mine, theirs = await team(client, database), await team(client, database)
        invitation_id = await invitation_of(client, theirs, "pending@example.com")

        response = await post_graphql(
            client, REVOKE_INVITATION, {"id": nowhere}, token=mine.token("owner")
        )
        stranger = await gql(
            client, REVOKE_INVITATION, {"id": invitation_id}, token=mine.token("owner")
        )

        assert_no_leak(response, sent=nowhere)
        assert response.json() == stranger
        assert_error(stranger, "FORBIDDEN")
