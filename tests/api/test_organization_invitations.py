"""Invitations as a way in that should not be: inviting above one's role, accepting with
an address that is not (or not yet) one's own, invitations outliving their inviter's role,
revoking, replacing, and addresses that are not addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gql_auth.settings import Settings
from tests.support.helpers import (
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    make_settings,
    register,
)
from tests.support.mailbox import MailApp, running_mail_app
from tests.support.orgs import (
    ACCEPT_INVITATION,
    INVITATIONS,
    LEAVE_ORGANIZATION,
    REVOKE_INVITATION,
    Team,
    invitation_token,
    invite,
    pending_invitations,
    put_member,
    remove_member,
    roles_in,
    set_member_role,
    team,
    verified_user,
)
from tests.support.profile import UPDATE, VERIFY, VERIFY_SUBJECT
from tests.support.recovery import REQUEST_VERIFICATION


@pytest.fixture
async def app(settings: Settings, caplog: pytest.LogCaptureFixture) -> AsyncIterator[MailApp]:
    async with running_mail_app(settings, caplog) as app:
        yield app


async def accept(app: MailApp, token: str, account: dict[str, Any]) -> dict[str, Any]:
    return await gql(app.client, ACCEPT_INVITATION, {"token": token}, token=account["accessToken"])


async def invited(app: MailApp, org: Team, role: str, email: str, invitation_role: str) -> str:
    """Has the team's `role` invite `email`; returns the token the mail carries."""
    data_of(
        await invite(app.client, org.token(role), org.id, email, invitation_role), "inviteMember"
    )
    return await invitation_token(app.mailbox, email)


class TestWhoMayInvite:
    async def test_a_member_cannot_invite_at_all(self, app: MailApp, database: SqlDatabase) -> None:
        org = await team(app.client, database)

        body = await invite(app.client, org.token("member"), org.id, "friend@example.com")

        assert_error(body, "FORBIDDEN", path=["inviteMember"])
        assert await app.mailbox.mails("friend@example.com") == []
        assert database.rows("invitations") == []

    async def test_an_admin_cannot_invite_an_owner(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        org = await team(app.client, database)

        body = await invite(app.client, org.token("admin"), org.id, "boss@example.com", "OWNER")

        assert_error(body, "FORBIDDEN", path=["inviteMember"])
        assert await app.mailbox.mails("boss@example.com") == []
        assert database.rows("invitations") == []
        assert "MEMBER_INVITED" not in event_kinds(database, org.user_id("admin"))

    async def test_a_refused_invitation_does_not_count_under_the_rate_limit(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings = make_settings(database.url, rate_limit_invitations="1/day")
        async with running_mail_app(settings, caplog) as app:
            org = await team(app.client, database)
            refused = await invite(app.client, org.token("admin"), org.id, "a@example.com", "OWNER")
            sent = await invite(app.client, org.token("admin"), org.id, "b@example.com", "ADMIN")
            over = await invite(app.client, org.token("owner"), org.id, "c@example.com")

        assert_error(refused, "FORBIDDEN")
        assert data_of(sent, "inviteMember")["email"] == "b@example.com"
        assert_error(over, "RATE_LIMITED")  # the limit is real: one invitation, and it was b's


class TestWhoMayAccept:
    async def test_another_address_is_forbidden_and_the_invitation_still_works_for_its_own(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        org = await team(app.client, database)
        invitee = await verified_user(app.client, database)
        intruder = await verified_user(app.client, database)  # holds a forwarded link
        token = await invited(app, org, "owner", invitee["user"]["email"], "ADMIN")

        refused = await accept(app, token, intruder)
        accepted = await accept(app, token, invitee)

        assert_error(refused, "FORBIDDEN", reason="EMAIL_MISMATCH", path=["acceptInvitation"])
        assert data_of(accepted, "acceptInvitation")["role"] == "ADMIN"
        roles = roles_in(database, org.id)
        assert intruder["user"]["id"] not in roles
        assert roles[invitee["user"]["id"]] == "ADMIN"

    async def test_an_unverified_account_with_the_address_is_refused_until_it_verifies(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        org = await team(app.client, database)
        account = await register(app.client)  # anyone can register with any address
        email = account["user"]["email"]
        token = await invited(app, org, "owner", email, "MEMBER")

        refused = await accept(app, token, account)
        assert account["user"]["id"] not in roles_in(database, org.id)
        await gql(app.client, REQUEST_VERIFICATION, token=account["accessToken"])
        link = await app.mailbox.token(email, VERIFY_SUBJECT)
        data_of(await gql(app.client, VERIFY, {"token": link}), "verifyEmail")
        accepted = await accept(app, token, account)

        assert_error(refused, "FORBIDDEN", reason="EMAIL_NOT_VERIFIED", path=["acceptInvitation"])
        assert data_of(accepted, "acceptInvitation")["role"] == "MEMBER"

    async def test_an_address_pending_verification_is_not_the_account_s(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        org = await team(app.client, database)
        intruder = await verified_user(app.client, database)
        token = await invited(app, org, "owner", "invitee@example.com", "ADMIN")
        changed = await gql(
            app.client,
            UPDATE,
            {"input": {"email": "invitee@example.com", "currentPassword": STRONG_PASSWORD}},
            token=intruder["accessToken"],
        )
        assert data_of(changed, "updateProfile")["pendingEmail"] == "invitee@example.com"

        refused = await accept(app, token, intruder)
        # Whoever reads that mailbox confirms it: then the address is the account's, and it may.
        link = await app.mailbox.token("invitee@example.com", VERIFY_SUBJECT)
        data_of(await gql(app.client, VERIFY, {"token": link}), "verifyEmail")
        accepted = await accept(app, token, intruder)

        assert_error(refused, "FORBIDDEN", reason="EMAIL_MISMATCH", path=["acceptInvitation"])
        assert data_of(accepted, "acceptInvitation")["role"] == "ADMIN"

    async def test_anonymous_callers_cannot_accept(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        org = await team(app.client, database)
        token = await invited(app, org, "owner", "someone@example.com", "MEMBER")

        body = await gql(app.client, ACCEPT_INVITATION, {"token": token})

        assert_error(body, "UNAUTHENTICATED")
        assert len(pending_invitations(database, org.id)) == 1


class TestLinksThatNoLongerWork:
    async def test_an_expired_invitation_is_invalid_and_no_longer_listed(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        org = await team(app.client, database)
        invitee = await verified_user(app.client, database)
        token = await invited(app, org, "owner", invitee["user"]["email"], "ADMIN")
        invitations = database.table("invitations")
        with database.engine.begin() as connection:
            connection.execute(
                invitations.update().values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )

        refused = await accept(app, token, invitee)
        listed = await gql(app.client, INVITATIONS, {"id": org.id}, token=org.token("owner"))

        assert_error(refused, "BAD_USER_INPUT", field="token", reason="INVALID")
        assert data_of(listed, "organization")["invitations"] == []
        assert invitee["user"]["id"] not in roles_in(database, org.id)

    async def test_an_invitation_does_not_change_the_role_of_a_member(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        org = await team(app.client, database)
        member = await verified_user(app.client, database)
        put_member(database, org.id, member["user"]["id"], "MEMBER")
        token = await invited(app, org, "admin", member["user"]["email"], "ADMIN")

        body = await accept(app, token, member)

        assert_error(body, "BAD_USER_INPUT", reason="ALREADY_MEMBER")
        assert roles_in(database, org.id)[member["user"]["id"]] == "MEMBER"


class TestAnInviterWhoLostTheRole:
    """An admin on the way out cannot leave an invitation behind as a way back in."""

    @pytest.mark.parametrize("fate", ["demoted", "removed", "left"])
    async def test_an_admin_s_invitation_stops_working(
        self, app: MailApp, database: SqlDatabase, fate: str
    ) -> None:
        org = await team(app.client, database)
        invitee = await verified_user(app.client, database)
        token = await invited(app, org, "admin", invitee["user"]["email"], "ADMIN")
        if fate == "demoted":
            body = await set_member_role(
                app.client, org.token("owner"), org.id, org.user_id("admin"), "MEMBER"
            )
            data_of(body, "setMemberRole")
        elif fate == "removed":
            body = await remove_member(app.client, org.token("owner"), org.id, org.user_id("admin"))
            data_of(body, "removeMember")
        else:
            body = await gql(
                app.client, LEAVE_ORGANIZATION, {"org": org.id}, token=org.token("admin")
            )
            data_of(body, "leaveOrganization")

        refused = await accept(app, token, invitee)

        assert_error(refused, "BAD_USER_INPUT", field="token", reason="INVALID")
        assert invitee["user"]["id"] not in roles_in(database, org.id)

    async def test_an_owner_s_invitation_of_an_owner_stops_working_once_they_are_only_admin(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        org = await team(app.client, database)
        other_owner = await register(app.client)
        put_member(database, org.id, other_owner["user"]["id"], "OWNER")
        as_owner = await verified_user(app.client, database)
        as_admin = await verified_user(app.client, database)
        owner_token = await invited(app, org, "owner", as_owner["user"]["email"], "OWNER")
        admin_token = await invited(app, org, "owner", as_admin["user"]["email"], "ADMIN")
        stepped_down = await set_member_role(
            app.client, other_owner["accessToken"], org.id, org.user_id("owner"), "ADMIN"
        )
        assert data_of(stepped_down, "setMemberRole")["role"] == "ADMIN"

        refused = await accept(app, owner_token, as_owner)
        accepted = await accept(app, admin_token, as_admin)  # an ADMIN may still grant ADMIN

        assert_error(refused, "BAD_USER_INPUT", field="token", reason="INVALID")
        assert data_of(accepted, "acceptInvitation")["role"] == "ADMIN"
        assert as_owner["user"]["id"] not in roles_in(database, org.id)


class TestRevoking:
    async def test_an_admin_cannot_revoke_an_invitation_of_an_owner(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        org = await team(app.client, database)
        invitee = await verified_user(app.client, database)
        sent = await invite(
            app.client, org.token("owner"), org.id, invitee["user"]["email"], "OWNER"
        )
        invitation_id = data_of(sent, "inviteMember")["id"]

        refused = await gql(
            app.client, REVOKE_INVITATION, {"id": invitation_id}, token=org.token("admin")
        )
        token = await invitation_token(app.mailbox, invitee["user"]["email"])
        accepted = await accept(app, token, invitee)

        assert_error(refused, "FORBIDDEN", path=["revokeInvitation"])
        assert data_of(accepted, "acceptInvitation")["role"] == "OWNER"

    async def test_a_member_cannot_revoke_an_invitation(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        org = await team(app.client, database)
        sent = await invite(app.client, org.token("owner"), org.id, "friend@example.com")
        invitation_id = data_of(sent, "inviteMember")["id"]

        body = await gql(
            app.client, REVOKE_INVITATION, {"id": invitation_id}, token=org.token("member")
        )

        assert_error(body, "FORBIDDEN", path=["revokeInvitation"])
        assert [row["id"] for row in pending_invitations(database, org.id)] == [int(invitation_id)]

    async def test_revoking_is_true_once_then_false_and_the_link_stops_working(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        org = await team(app.client, database)
        invitee = await verified_user(app.client, database)
        sent = await invite(app.client, org.token("owner"), org.id, invitee["user"]["email"])
        invitation_id = data_of(sent, "inviteMember")["id"]
        token = await invitation_token(app.mailbox, invitee["user"]["email"])

        first = await gql(
            app.client, REVOKE_INVITATION, {"id": invitation_id}, token=org.token("admin")
        )
        second = await gql(
            app.client, REVOKE_INVITATION, {"id": invitation_id}, token=org.token("admin")
        )
        accepted = await accept(app, token, invitee)
        listed = await gql(app.client, INVITATIONS, {"id": org.id}, token=org.token("admin"))

        assert data_of(first, "revokeInvitation") is True
        assert data_of(second, "revokeInvitation") is False
        assert_error(accepted, "BAD_USER_INPUT", field="token", reason="INVALID")
        assert data_of(listed, "organization")["invitations"] == []


class TestReplacement:
    async def test_a_newer_invitation_to_the_same_address_replaces_the_older(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        org = await team(app.client, database)
        invitee = await verified_user(app.client, database)
        email = invitee["user"]["email"]
        older = await invited(app, org, "owner", email, "ADMIN")
        # The same address, as someone else types it; the mail goes to its normalized form.
        data_of(await invite(app.client, org.token("owner"), org.id, email.upper()), "inviteMember")
        newer = await invitation_token(app.mailbox, email)
        assert newer != older

        stale = await accept(app, older, invitee)
        listed = await gql(app.client, INVITATIONS, {"id": org.id}, token=org.token("owner"))
        accepted = await accept(app, newer, invitee)

        assert_error(stale, "BAD_USER_INPUT", field="token", reason="INVALID")
        assert [i["role"] for i in data_of(listed, "organization")["invitations"]] == ["MEMBER"]
        assert data_of(accepted, "acceptInvitation")["role"] == "MEMBER"


class TestAddresses:
    @pytest.mark.parametrize(
        "email",
        [
            "not-an-address",
            "a@",
            "@example.com",
            "a b@example.com",
            "a@b@example.com",
            "",
            " ",
            "Bob <bob@example.com>",
            "bob@example.com\r\nBcc: all@example.com",  # a header of its own in the mail
        ],
    )
    async def test_an_invitation_to_what_is_not_an_address_is_refused(
        self, app: MailApp, database: SqlDatabase, email: str
    ) -> None:
        org = await team(app.client, database)

        body = await invite(app.client, org.token("owner"), org.id, email)

        assert_error(body, "BAD_USER_INPUT", field="email", path=["inviteMember"])
        assert await app.mailbox.mails() == []
        assert database.rows("invitations") == []
