"""Members as a connection (cursors, bounds), leaving without being a member, the events
that changes to members leave in the acting user's log, and organization names that are
empty, too long or carry control characters."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.support.helpers import (
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    register,
    register_admin,
)
from tests.support.orgs import (
    CREATE_ORGANIZATION,
    LEAVE_ORGANIZATION,
    MEMBERS,
    UPDATE_ORGANIZATION,
    put_member,
    remove_member,
    roles_in,
    set_member_role,
    state_of,
    team,
    unique_slug,
)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


class TestMembersPages:
    async def test_pages_follow_the_cursors_to_the_end(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)
        for _ in range(2):
            put_member(database, org.id, (await register(client))["user"]["id"])
        token, seen, after, pages = org.token("member"), [], None, []

        while True:
            body = await gql(
                client, MEMBERS, {"id": org.id, "first": 2, "after": after}, token=token
            )
            page = data_of(body, "organization")["members"]
            pages.append((len(page["edges"]), page["totalCount"], page["pageInfo"]["hasNextPage"]))
            seen += [edge["node"]["user"]["id"] for edge in page["edges"]]
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]

        assert pages == [(2, 5, True), (2, 5, True), (1, 5, False)]
        assert sorted(seen) == sorted(roles_in(database, org.id))  # each member once

    async def test_an_edge_s_cursor_continues_after_that_member(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)
        token = org.token("member")
        everyone = data_of(
            await gql(client, MEMBERS, {"id": org.id, "first": 100}, token=token), "organization"
        )["members"]["edges"]

        rest = data_of(
            await gql(
                client,
                MEMBERS,
                {"id": org.id, "first": 1, "after": everyone[0]["cursor"]},
                token=token,
            ),
            "organization",
        )["members"]

        assert [e["node"]["user"]["id"] for e in rest["edges"]] == [
            everyone[1]["node"]["user"]["id"]
        ]
        assert rest["pageInfo"]["hasNextPage"] is True

    @pytest.mark.parametrize("first", [0, -1, 101, 2**31 - 1])
    async def test_first_out_of_range_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase, first: int
    ) -> None:
        org = await team(client, database)

        body = await gql(client, MEMBERS, {"id": org.id, "first": first}, token=org.token("member"))

        assert_error(
            body,
            "BAD_USER_INPUT",
            field="first",
            reason="OUT_OF_RANGE",
            path=["organization", "members"],
        )

    @pytest.mark.parametrize(
        "after",
        ["abc", "!!", "", "MQ", b64("x"), b64("-1"), b64("01"), b64("9" * 40), "A" * 500],
    )
    async def test_a_cursor_that_was_not_handed_out_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase, after: str
    ) -> None:
        org = await team(client, database)

        body = await gql(client, MEMBERS, {"id": org.id, "after": after}, token=org.token("member"))

        assert_error(
            body,
            "BAD_USER_INPUT",
            field="after",
            reason="INVALID",
            path=["organization", "members"],
        )


class TestLeaving:
    async def test_leaving_an_organization_one_is_not_in_is_not_found(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)
        stranger, admin = await register(client), await register_admin(client, database)
        before = state_of(database, org.id)

        for account in (stranger, admin):  # a global ADMIN is no member either
            body = await gql(
                client, LEAVE_ORGANIZATION, {"org": org.id}, token=account["accessToken"]
            )
            assert_error(body, "BAD_USER_INPUT", field="organizationId", reason="NOT_FOUND")
        assert state_of(database, org.id) == before

    async def test_a_member_leaves_and_it_is_in_their_own_log(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)

        body = await gql(client, LEAVE_ORGANIZATION, {"org": org.id}, token=org.token("member"))

        assert data_of(body, "leaveOrganization") is True
        assert org.user_id("member") not in roles_in(database, org.id)
        assert "MEMBER_REMOVED" in event_kinds(database, org.user_id("member"))


class TestEvents:
    async def test_role_changes_and_removals_are_in_the_acting_user_s_log(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)
        admin, member = org.user_id("admin"), org.user_id("member")

        promoted = await set_member_role(client, org.token("admin"), org.id, member, "ADMIN")
        removed = await remove_member(client, org.token("admin"), org.id, member)

        data_of(promoted, "setMemberRole")
        data_of(removed, "removeMember")
        kinds = event_kinds(database, admin)
        assert kinds.index("MEMBER_ROLE_CHANGED") < kinds.index("MEMBER_REMOVED")
        assert not {"MEMBER_ROLE_CHANGED", "MEMBER_REMOVED"} & set(event_kinds(database, member))

    async def test_a_refused_change_leaves_no_event(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)
        member = org.user_id("member")

        refused = [
            await set_member_role(client, org.token("member"), org.id, member, "OWNER"),
            await set_member_role(client, org.token("admin"), org.id, member, "OWNER"),
            await remove_member(client, org.token("admin"), org.id, org.user_id("owner")),
        ]

        for body in refused:
            assert_error(body, "FORBIDDEN")
        assert not {"MEMBER_ROLE_CHANGED", "MEMBER_REMOVED"} & set(event_kinds(database))


class TestNames:
    @pytest.mark.parametrize(
        ("name", "reason"),
        [
            (" ", "REQUIRED"),
            ("     ", "REQUIRED"),
            (" \t\n ", "REQUIRED"),
            ("a" * 101, "TOO_LONG"),
            (" " + "a" * 101, "TOO_LONG"),
            ("Ac\x00me", "INVALID"),
            ("Acme\nInc", "INVALID"),
            ("Acme\x1b[2J", "INVALID"),
            ("Ac\x7fme", "INVALID"),
            ("Ac\u202eme", "INVALID"),  # right-to-left override: reads as something else
            ("Acme\u2028Bcc: all@example.com", "INVALID"),  # the name goes in a mail subject
        ],
    )
    async def test_a_name_that_is_not_one_is_refused_on_create_and_update(
        self, client: httpx.AsyncClient, database: SqlDatabase, name: str, reason: str
    ) -> None:
        org = await team(client, database)
        before = state_of(database, org.id)

        created = await gql(
            client,
            CREATE_ORGANIZATION,
            {"input": {"name": name, "slug": unique_slug()}},
            token=org.token("owner"),
        )
        updated = await gql(
            client,
            UPDATE_ORGANIZATION,
            {"input": {"organizationId": org.id, "name": name}},
            token=org.token("owner"),
        )

        assert_error(created, "BAD_USER_INPUT", field="name", reason=reason)
        assert_error(updated, "BAD_USER_INPUT", field="name", reason=reason)
        assert database.count("organizations") == 1
        assert state_of(database, org.id) == before

    async def test_a_name_of_100_characters_is_kept_without_its_surrounding_spaces(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        org = await team(client, database)

        body = await gql(
            client,
            UPDATE_ORGANIZATION,
            {"input": {"organizationId": org.id, "name": "  " + "a" * 100 + "  "}},
            token=org.token("owner"),
        )

        assert data_of(body, "updateOrganization")["name"] == "a" * 100
