"""The admin users connection on every backend: search in any case (collation), role filters
and cursor pages. Role and active changes are in tests/api/test_admin.py."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from tests.support.helpers import (
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    login,
    register,
    register_admin,
)

USERS = """
query Users($first: Int! = 20, $after: String, $role: Role, $search: String) {
  users(first: $first, after: $after, role: $role, search: $search) {
    totalCount
    edges { cursor node { id username email role isActive } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def users(client: httpx.AsyncClient, token: str, **variables: Any) -> dict[str, Any]:
    body = await gql(client, USERS, variables, token=token)
    connection: dict[str, Any] = data_of(body, "users")
    return connection


def usernames(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["username"] for edge in connection["edges"]]


async def make_admin(
    client: httpx.AsyncClient, database: SqlDatabase, username: str
) -> dict[str, Any]:
    """An ADMIN with a chosen name (the factory's names hold '_', which searches would find)."""
    payload = await register(client, username, f"{username}@example.com")
    database.update_user(payload["user"]["id"], role="ADMIN")
    return await login(client, username)


class TestUsersConnection:
    async def test_pages_cover_every_user_once_in_id_order(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        for _ in range(6):
            await register(client)

        pages, after = [], None
        while True:
            page = await users(client, admin["accessToken"], first=3, after=after)
            pages.append(page)
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]

        ids = [int(edge["node"]["id"]) for page in pages for edge in page["edges"]]
        assert len(pages) == 3
        assert ids == sorted(ids) and len(set(ids)) == 7
        assert all(page["totalCount"] == 7 for page in pages)
        assert all(page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"] for page in pages)
        # Admins see private fields of everyone.
        assert all(edge["node"]["email"] for page in pages for edge in page["edges"])

    async def test_the_default_page_holds_twenty(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        for _ in range(20):
            await register(client)

        page = await users(client, admin["accessToken"])

        assert len(page["edges"]) == 20
        assert page["pageInfo"]["hasNextPage"] is True
        assert page["totalCount"] == 21

    async def test_an_empty_result_has_no_end_cursor(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        page = await users(client, admin["accessToken"], search="no-such-user")

        assert page == {
            "totalCount": 0,
            "edges": [],
            "pageInfo": {"hasNextPage": False, "endCursor": None},
        }

    async def test_role_filters_and_counts_the_filtered_set(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        await register(client)
        await register(client)

        admins = await users(client, admin["accessToken"], role="ADMIN")
        plain = await users(client, admin["accessToken"], role="USER", first=1)

        assert usernames(admins) == [admin["user"]["username"]]
        assert admins["totalCount"] == 1
        assert plain["totalCount"] == 2 and len(plain["edges"]) == 1

    async def test_search_matches_username_or_email_ignoring_case(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        await register(client, "BlueWhale", "bw@example.com")
        await register(client, "plain", "Whale.Watcher@Example.org")
        await register(client, "other", "other@example.com")

        found = await users(client, admin["accessToken"], search="WHALE")

        assert usernames(found) == ["BlueWhale", "plain"]
        assert found["totalCount"] == 2

    @pytest.mark.parametrize(
        ("search", "expected"),
        [
            ("r_s", ["under_score"]),
            ("under%score", []),
            ("%", ["percent"]),
            ("_", ["under_score"]),
            ("\\", []),
        ],
    )
    async def test_search_treats_like_wildcards_as_plain_text(
        self,
        client: httpx.AsyncClient,
        database: SqlDatabase,
        search: str,
        expected: list[str],
    ) -> None:
        admin = await make_admin(client, database, "wildcardadmin")
        await register(client, "under_score", "us@example.com")
        await register(client, "underXscore", "ux@example.com")
        await register(client, "percent", "100%sure@example.com")

        found = await users(client, admin["accessToken"], search=search)

        assert usernames(found) == expected
        assert found["totalCount"] == len(expected)

    @pytest.mark.parametrize("first", [0, -1, 101])
    async def test_first_outside_1_to_100_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase, first: int
    ) -> None:
        admin = await register_admin(client, database)

        body = await gql(client, USERS, {"first": first}, token=admin["accessToken"])

        assert_error(body, "BAD_USER_INPUT", field="first", reason="OUT_OF_RANGE")

    @pytest.mark.parametrize(
        "after",
        [
            "",
            "nonsense!",
            base64.urlsafe_b64encode(b"abc").decode(),
            base64.urlsafe_b64encode(b"1" * 40).decode(),
            base64.urlsafe_b64encode(b"007").decode(),
            "x" * 500,
        ],
    )
    async def test_a_cursor_we_did_not_hand_out_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase, after: str
    ) -> None:
        admin = await register_admin(client, database)

        body = await gql(client, USERS, {"after": after}, token=admin["accessToken"])

        assert_error(body, "BAD_USER_INPUT", field="after", reason="INVALID")

    async def test_a_plain_user_is_forbidden(self, client: httpx.AsyncClient) -> None:
        user = await register(client)

        body = await gql(client, USERS, token=user["accessToken"])

        assert_error(body, "FORBIDDEN")

    async def test_an_anonymous_caller_is_unauthenticated(self, client: httpx.AsyncClient) -> None:
        assert_error(await gql(client, USERS), "UNAUTHENTICATED")
