"""Operator commands on organizations, in-process on every backend: `gql-auth orgs` lists them,
`gql-auth org-add-member` adds a user (lookups by username or e-mail in any case)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.cli import CliResult, assert_one_line_failure, call_cli
from tests.support.helpers import SqlDatabase, data_of, gql, register
from tests.support.orgs import MEMBERS, ORGANIZATION, create_organization, roles_in, unique_slug


def cli(database: SqlDatabase, tmp_path: Path, *args: str, **env: str) -> CliResult:
    return call_cli(*args, cwd=tmp_path, env={"DATABASE_URL": database.url, **env})


def listed(result: CliResult) -> dict[str, int]:
    """{slug: member count} from the table `gql-auth orgs` prints (ID, SLUG, MEMBERS, NAME)."""
    assert result.returncode == 0, result.stderr
    header, *rows, total = result.stdout.strip().splitlines()
    assert header.split() == ["ID", "SLUG", "MEMBERS", "NAME"]
    assert total == f"{len(rows)} organization(s)"
    return {row.split()[1]: int(row.split()[2]) for row in rows}


class TestOrgsCommand:
    async def test_lists_every_organization_with_its_slug_and_member_count(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        owner, member = await register(client), await register(client)
        crowded = await create_organization(client, owner["accessToken"], slug=unique_slug("b"))
        quiet = await create_organization(client, owner["accessToken"], slug=unique_slug("a"))
        added = cli(
            database, tmp_path, "org-add-member", crowded["slug"], member["user"]["username"]
        )
        assert added.returncode == 0, added.stderr

        result = cli(database, tmp_path, "orgs")

        assert listed(result) == {crowded["slug"]: 2, quiet["slug"]: 1}
        assert result.stdout.index(quiet["slug"]) < result.stdout.index(crowded["slug"])  # by slug

    def test_an_empty_database_lists_none(self, database: SqlDatabase, tmp_path: Path) -> None:
        assert listed(cli(database, tmp_path, "orgs")) == {}


class TestOrgAddMemberCommand:
    async def test_adds_a_member_who_then_reads_the_organization(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        owner, member = await register(client), await register(client)
        organization = await create_organization(client, owner["accessToken"])

        result = cli(
            database, tmp_path, "org-add-member", organization["slug"], member["user"]["email"]
        )

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == (
            f"{member['user']['email']} is now MEMBER of {organization['slug']}"
        )
        assert roles_in(database, organization["id"])[member["user"]["id"]] == "MEMBER"
        read = data_of(
            await gql(
                client, ORGANIZATION, {"id": organization["id"]}, token=member["accessToken"]
            ),
            "organization",
        )
        assert read["viewerRole"] == "MEMBER"
        members = data_of(
            await gql(client, MEMBERS, {"id": organization["id"]}, token=member["accessToken"]),
            "organization",
        )["members"]
        assert members["totalCount"] == 2

    @pytest.mark.parametrize("typed", ["OWNER", "Owner"])
    async def test_the_role_is_accepted_in_any_case(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path, typed: str
    ) -> None:
        owner, member = await register(client), await register(client)
        organization = await create_organization(client, owner["accessToken"])
        username = member["user"]["username"].upper()  # the login too, in any case

        result = cli(
            database, tmp_path, "org-add-member", organization["slug"], username, "--role", typed
        )

        assert result.returncode == 0, result.stderr
        assert roles_in(database, organization["id"])[member["user"]["id"]] == "OWNER"

    def test_an_unknown_slug_fails_in_one_line(self, database: SqlDatabase, tmp_path: Path) -> None:
        result = cli(database, tmp_path, "org-add-member", "no-such-org", "anyone")

        assert "no-such-org" in assert_one_line_failure(result)

    async def test_an_unknown_user_fails_in_one_line(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        owner = await register(client)
        organization = await create_organization(client, owner["accessToken"])

        result = cli(database, tmp_path, "org-add-member", organization["slug"], "nobody@x.example")

        assert "nobody@x.example" in assert_one_line_failure(result)
        assert len(roles_in(database, organization["id"])) == 1

    async def test_an_existing_member_fails_in_one_line_and_keeps_their_role(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        owner = await register(client)
        organization = await create_organization(client, owner["accessToken"])

        result = cli(
            database,
            tmp_path,
            "org-add-member",
            organization["slug"],
            owner["user"]["username"],
            "--role",
            "member",
        )

        assert "already a member" in assert_one_line_failure(result)
        assert roles_in(database, organization["id"]) == {owner["user"]["id"]: "OWNER"}

    async def test_a_user_owning_the_most_allowed_cannot_be_made_owner_of_another(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        owner, busy = await register(client), await register(client)
        organization = await create_organization(client, owner["accessToken"])
        await create_organization(client, busy["accessToken"])  # busy owns one: the cap here
        add = ("org-add-member", organization["slug"], busy["user"]["username"])

        refused = cli(database, tmp_path, *add, "--role", "owner", MAX_ORGANIZATIONS_PER_USER="1")

        assert "at most 1 organizations" in assert_one_line_failure(refused)
        assert busy["user"]["id"] not in roles_in(database, organization["id"])
        # Only owning counts: as a member they join.
        joined = cli(database, tmp_path, *add, MAX_ORGANIZATIONS_PER_USER="1")
        assert joined.returncode == 0, joined.stderr
        assert roles_in(database, organization["id"])[busy["user"]["id"]] == "MEMBER"
