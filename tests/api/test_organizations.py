"""Organizations through the API: creating, members, invitations, the active organization."""

from __future__ import annotations

import httpx
import pytest

from gql_auth.settings import Settings
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
    register,
    running_app,
)
from tests.support.mailbox import running_mail_app
from tests.support.orgs import (
    ACCEPT_INVITATION,
    CREATE_ORGANIZATION,
    DELETE_ORGANIZATION,
    INVITATIONS,
    LEAVE_ORGANIZATION,
    MEMBERS,
    ORGANIZATION,
    ORGANIZATIONS,
    REMOVE_MEMBER,
    add_member,
    create_organization,
    invitation_token,
    invite,
    set_member_role,
    switch,
    unique_slug,
    verified_user,
)


class TestCreate:
    async def test_the_creator_becomes_owner_and_sees_it_listed(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        slug = unique_slug()

        created = await create_organization(client, owner["accessToken"], name=" Acme ", slug=slug)

        assert created["name"] == "Acme"
        assert created["slug"] == slug
        assert created["viewerRole"] == "OWNER"
        listed = data_of(
            await gql(client, ORGANIZATIONS, token=owner["accessToken"]), "organizations"
        )
        assert [o["id"] for o in listed] == [created["id"]]
        assert "ORGANIZATION_CREATED" in event_kinds(database, owner["user"]["id"])

    @pytest.mark.parametrize(
        "slug", ["a", "-acme", "acme-", "Acme", "ac_me", "acme.io", "a" * 64, "ácme", "acme\n"]
    )
    async def test_a_slug_that_is_not_a_dns_label_is_refused(
        self, client: httpx.AsyncClient, slug: str
    ) -> None:
        owner = await register(client)

        body = await gql(
            client,
            CREATE_ORGANIZATION,
            {"input": {"name": "Acme", "slug": slug}},
            token=owner["accessToken"],
        )

        assert_error(body, "BAD_USER_INPUT", reason="INVALID", field="slug")

    async def test_a_taken_slug_is_refused(self, client: httpx.AsyncClient) -> None:
        first, second = await register(client), await register(client)
        slug = unique_slug()
        await create_organization(client, first["accessToken"], slug=slug)

        body = await gql(
            client,
            CREATE_ORGANIZATION,
            {"input": {"name": "Other", "slug": slug}},
            token=second["accessToken"],
        )

        assert_error(body, "BAD_USER_INPUT", reason="TAKEN", field="slug")

    async def test_anonymous_callers_are_unauthenticated(self, client: httpx.AsyncClient) -> None:
        body = await gql(client, CREATE_ORGANIZATION, {"input": {"name": "A", "slug": "ab"}})

        assert_error(body, "UNAUTHENTICATED")


class TestOwnershipCap:
    async def test_owning_more_than_the_cap_is_limit_reached(self, database: SqlDatabase) -> None:
        async with running_app(make_settings(database.url, max_organizations_per_user=2)) as client:
            owner = await register(client)
            for _ in range(2):
                await create_organization(client, owner["accessToken"])

            body = await gql(
                client,
                CREATE_ORGANIZATION,
                {"input": {"name": "Third", "slug": unique_slug()}},
                token=owner["accessToken"],
            )

        assert_error(body, "BAD_USER_INPUT", reason="LIMIT_REACHED")
        assert database.count("organizations") == 2


class TestInvitations:
    async def test_an_invited_verified_user_joins_with_the_invited_role(
        self, settings: Settings, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with running_mail_app(settings, caplog) as app:
            owner = await register(app.client)
            organization = await create_organization(app.client, owner["accessToken"])
            member = await verified_user(app.client, database)

            await add_member(
                app.client,
                app.mailbox,
                owner_token=owner["accessToken"],
                organization_id=organization["id"],
                member=member,
                role="ADMIN",
            )

            body = await gql(
                app.client, MEMBERS, {"id": organization["id"]}, token=member["accessToken"]
            )
        members = data_of(body, "organization")["members"]
        assert members["totalCount"] == 2
        assert {(e["node"]["user"]["id"], e["node"]["role"]) for e in members["edges"]} == {
            (owner["user"]["id"], "OWNER"),
            (member["user"]["id"], "ADMIN"),
        }
        assert "MEMBER_INVITED" in event_kinds(database, owner["user"]["id"])
        assert "MEMBER_JOINED" in event_kinds(database, member["user"]["id"])

    async def test_an_invitation_is_stored_only_as_a_hash(
        self, settings: Settings, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with running_mail_app(settings, caplog) as app:
            owner = await register(app.client)
            organization = await create_organization(app.client, owner["accessToken"])
            data_of(
                await invite(app.client, owner["accessToken"], organization["id"], "x@example.com"),
                "inviteMember",
            )
            token = await invitation_token(app.mailbox, "x@example.com")

        (row,) = database.rows("invitations")
        assert token not in str(dict(row))
        assert len(row["token_hash"]) == 64

    async def test_accepting_twice_is_refused(
        self, settings: Settings, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with running_mail_app(settings, caplog) as app:
            owner = await register(app.client)
            organization = await create_organization(app.client, owner["accessToken"])
            member = await verified_user(app.client, database)
            email = member["user"]["email"]
            data_of(
                await invite(app.client, owner["accessToken"], organization["id"], email),
                "inviteMember",
            )
            token = await invitation_token(app.mailbox, email)
            first = await gql(
                app.client, ACCEPT_INVITATION, {"token": token}, token=member["accessToken"]
            )
            second = await gql(
                app.client, ACCEPT_INVITATION, {"token": token}, token=member["accessToken"]
            )

        data_of(first, "acceptInvitation")
        assert_error(second, "BAD_USER_INPUT", reason="INVALID", field="token")

    async def test_pending_invitations_are_listed_for_admins(
        self, settings: Settings, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with running_mail_app(settings, caplog) as app:
            owner = await register(app.client)
            organization = await create_organization(app.client, owner["accessToken"])
            await invite(app.client, owner["accessToken"], organization["id"], "a@example.com")
            body = await gql(
                app.client, INVITATIONS, {"id": organization["id"]}, token=owner["accessToken"]
            )

        (listed,) = data_of(body, "organization")["invitations"]
        assert listed["email"] == "a@example.com"
        assert listed["role"] == "MEMBER"
        assert listed["invitedBy"]["id"] == owner["user"]["id"]


class TestActiveOrganization:
    async def test_switching_issues_tokens_that_carry_the_organization(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        organization = await create_organization(client, owner["accessToken"])

        switched = data_of(
            await switch(client, owner["accessToken"], organization["id"]), "switchOrganization"
        )

        claims = claims_of(switched["accessToken"])
        assert claims["org_id"] == organization["id"]
        assert claims["org_role"] == "OWNER"
        data_of(await gql(client, ME, token=switched["accessToken"]), "me")

    async def test_clearing_issues_tokens_without_it(self, client: httpx.AsyncClient) -> None:
        owner = await register(client)
        organization = await create_organization(client, owner["accessToken"])
        switched = data_of(
            await switch(client, owner["accessToken"], organization["id"]), "switchOrganization"
        )

        cleared = data_of(await switch(client, switched["accessToken"], None), "switchOrganization")

        assert "org_id" not in claims_of(cleared["accessToken"])

    async def test_leaving_the_argument_out_clears_it_as_null_does(
        self, client: httpx.AsyncClient
    ) -> None:
        """organizationId is optional in the SDL: a document may omit it (it was a 500)."""
        owner = await register(client)
        organization = await create_organization(client, owner["accessToken"])
        switched = data_of(
            await switch(client, owner["accessToken"], organization["id"]), "switchOrganization"
        )

        body = await gql(
            client,
            "mutation { switchOrganization { accessToken } }",
            token=switched["accessToken"],
        )

        assert "org_id" not in claims_of(data_of(body, "switchOrganization")["accessToken"])

    async def test_switching_to_an_organization_of_others_is_not_found(
        self, client: httpx.AsyncClient
    ) -> None:
        owner, stranger = await register(client), await register(client)
        organization = await create_organization(client, owner["accessToken"])

        body = await switch(client, stranger["accessToken"], organization["id"])

        assert_error(body, "BAD_USER_INPUT", reason="NOT_FOUND", field="organizationId")


class TestMembers:
    async def test_a_member_cannot_make_themselves_admin(
        self, settings: Settings, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        async with running_mail_app(settings, caplog) as app:
            owner = await register(app.client)
            organization = await create_organization(app.client, owner["accessToken"])
            member = await verified_user(app.client, database)
            await add_member(
                app.client,
                app.mailbox,
                owner_token=owner["accessToken"],
                organization_id=organization["id"],
                member=member,
            )

            body = await set_member_role(
                app.client, member["accessToken"], organization["id"], member["user"]["id"], "ADMIN"
            )

        assert_error(body, "FORBIDDEN")

    async def test_the_last_owner_cannot_leave_or_step_down(
        self, client: httpx.AsyncClient
    ) -> None:
        owner = await register(client)
        organization = await create_organization(client, owner["accessToken"])

        left = await gql(
            client, LEAVE_ORGANIZATION, {"org": organization["id"]}, token=owner["accessToken"]
        )
        demoted = await set_member_role(
            client, owner["accessToken"], organization["id"], owner["user"]["id"], "ADMIN"
        )
        removed = await gql(
            client,
            REMOVE_MEMBER,
            {"org": organization["id"], "user": owner["user"]["id"]},
            token=owner["accessToken"],
        )

        for body in (left, demoted, removed):
            assert_error(body, "BAD_USER_INPUT", reason="LAST_OWNER")


class TestDelete:
    async def test_the_owner_deletes_it_with_the_current_password(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        organization = await create_organization(client, owner["accessToken"])

        wrong = await gql(
            client,
            DELETE_ORGANIZATION,
            {"id": organization["id"], "password": "not-it-at-all"},
            token=owner["accessToken"],
        )
        right = await gql(
            client,
            DELETE_ORGANIZATION,
            {"id": organization["id"], "password": STRONG_PASSWORD},
            token=owner["accessToken"],
        )

        assert_error(wrong, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert data_of(right, "deleteOrganization") is True
        assert database.count("organizations") == 0
        assert database.count("memberships") == 0
        gone = await gql(
            client, ORGANIZATION, {"id": organization["id"]}, token=owner["accessToken"]
        )
        assert data_of(gone, "organization") is None
