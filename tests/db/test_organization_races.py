"""Races on organizations, on SQLite and MariaDB: what the organization's row lock decides.

Every change to an organization's members takes its row lock (after the users the change
refers to: the one lock order) and decides with the roles as they stand
under it. Each test fires the racing requests at the app at once (asyncio.gather),
several rounds where the outcome could depend on who goes first, and checks what the
database kept. No answer may be a 500 or leak internals, and no request may meet a
deadlock or a lock timeout (the app would run it once more, and say so in its log).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any

import httpx
import pytest

from gql_auth.settings import Settings
from tests.support.helpers import (
    STRONG_PASSWORD,
    SqlDatabase,
    claims_of,
    data_of,
    login,
    make_settings,
    refresh,
    register,
    session_id_of,
)
from tests.support.mailbox import MailApp, running_mail_app
from tests.support.orgs import (
    ACCEPT_INVITATION,
    CREATE_ORGANIZATION,
    DELETE_ORGANIZATION,
    INVITATION_SUBJECT_PREFIX,
    INVITE_MEMBER,
    LEAVE_ORGANIZATION,
    ORGANIZATION,
    REMOVE_MEMBER,
    SET_MEMBER_ROLE,
    SWITCH_ORGANIZATION,
    add_member,
    create_organization,
    invitation_token,
    invite,
    organization_with_owners,
    roles_in,
    unique_slug,
    verified_user,
)
from tests.support.races import assert_no_conflict_retried, call, outcome

ROUNDS = 3
# How long another writer holds an organization's row while requests queue for it.
HOLD_SECONDS = 0.6
INVITATION_LIMIT = 5
OWNED_CAP = 3
DAY = 24 * 60 * 60


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(
        database.url,
        rate_limit_invitations=f"{INVITATION_LIMIT}/day",
        max_organizations_per_user=OWNED_CAP,
    )


@pytest.fixture
async def app(settings: Settings, caplog: pytest.LogCaptureFixture) -> AsyncIterator[MailApp]:
    async with running_mail_app(settings, caplog) as app:
        yield app
    assert_no_conflict_retried(caplog)


async def at_once(requests: Sequence[Awaitable[dict[str, Any]]]) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*requests))


async def _after(delay: float, request: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    await asyncio.sleep(delay)
    return await request


def _set_role(
    client: httpx.AsyncClient, token: str, organization_id: str, user_id: str, role: str
) -> Awaitable[dict[str, Any]]:
    variables = {"input": {"organizationId": organization_id, "userId": user_id, "role": role}}
    return call(client, SET_MEMBER_ROLE, variables, token=token)


def _remove(
    client: httpx.AsyncClient, token: str, organization_id: str, user_id: str
) -> Awaitable[dict[str, Any]]:
    return call(client, REMOVE_MEMBER, {"org": organization_id, "user": user_id}, token=token)


def _leave(
    client: httpx.AsyncClient, token: str, organization_id: str
) -> Awaitable[dict[str, Any]]:
    return call(client, LEAVE_ORGANIZATION, {"org": organization_id}, token=token)


def _switch(
    client: httpx.AsyncClient, token: str, organization_id: str | None
) -> Awaitable[dict[str, Any]]:
    return call(client, SWITCH_ORGANIZATION, {"org": organization_id}, token=token)


class TestTheLastOwner:
    """Two OWNERs, each acting at once: the organization always keeps one."""

    async def test_two_owners_demoting_each_other_leave_exactly_one_owner(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        for _ in range(ROUNDS):
            organization, first, second = await organization_with_owners(
                app.client, app.mailbox, database
            )
            org = organization["id"]

            bodies = await at_once(
                [
                    _set_role(app.client, first["accessToken"], org, second["user"]["id"], "ADMIN"),
                    _set_role(app.client, second["accessToken"], org, first["user"]["id"], "ADMIN"),
                ]
            )

            # The loser was demoted before its turn under the lock: an ADMIN takes no
            # OWNER role, so it is FORBIDDEN (it never gets as far as LAST_OWNER).
            assert sorted(outcome(b) for b in bodies) == ["FORBIDDEN", "OK"]
            winner = first if outcome(bodies[0]) == "OK" else second
            loser = second if winner is first else first
            assert roles_in(database, org) == {
                winner["user"]["id"]: "OWNER",
                loser["user"]["id"]: "ADMIN",
            }

    async def test_two_owners_removing_each_other_leave_exactly_one_owner(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        for _ in range(ROUNDS):
            organization, first, second = await organization_with_owners(
                app.client, app.mailbox, database
            )
            org = organization["id"]

            bodies = await at_once(
                [
                    _remove(app.client, first["accessToken"], org, second["user"]["id"]),
                    _remove(app.client, second["accessToken"], org, first["user"]["id"]),
                ]
            )

            # The loser is no member by its turn: FORBIDDEN, at the edge or under the lock.
            assert sorted(outcome(b) for b in bodies) == ["FORBIDDEN", "OK"]
            winner = first if outcome(bodies[0]) == "OK" else second
            assert roles_in(database, org) == {winner["user"]["id"]: "OWNER"}

    async def test_two_owners_leaving_at_once_leave_one_behind(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        for _ in range(ROUNDS):
            organization, first, second = await organization_with_owners(
                app.client, app.mailbox, database
            )
            org = organization["id"]

            bodies = await at_once(
                [_leave(app.client, owner["accessToken"], org) for owner in (first, second)]
            )

            assert sorted(outcome(b) for b in bodies) == ["BAD_USER_INPUT/LAST_OWNER", "OK"]
            stayed = second if outcome(bodies[0]) == "OK" else first
            assert roles_in(database, org) == {stayed["user"]["id"]: "OWNER"}

    async def test_two_owners_stepping_down_at_once_leave_one_owner(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        for _ in range(ROUNDS):
            organization, first, second = await organization_with_owners(
                app.client, app.mailbox, database
            )
            org = organization["id"]

            bodies = await at_once(
                [
                    _set_role(app.client, owner["accessToken"], org, owner["user"]["id"], "ADMIN")
                    for owner in (first, second)
                ]
            )

            assert sorted(outcome(b) for b in bodies) == ["BAD_USER_INPUT/LAST_OWNER", "OK"]
            assert sorted(roles_in(database, org).values()) == ["ADMIN", "OWNER"]


class TestInvitations:
    async def test_parallel_invitations_store_and_mail_exactly_the_limit(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        owner = await register(app.client)
        organization = await create_organization(app.client, owner["accessToken"])
        emails = [f"guest{n}@example.com" for n in range(20)]

        bodies = await at_once(
            [
                call(
                    app.client,
                    INVITE_MEMBER,
                    {"input": {"organizationId": organization["id"], "email": email}},
                    token=owner["accessToken"],
                )
                for email in emails
            ]
        )

        assert Counter(outcome(b) for b in bodies) == {
            "OK": INVITATION_LIMIT,
            "RATE_LIMITED": len(emails) - INVITATION_LIMIT,
        }
        for body in bodies:
            if body.get("errors"):
                retry_after = body["errors"][0]["extensions"]["retryAfter"]
                assert isinstance(retry_after, int)
                assert 0 < retry_after <= DAY
        invited = {data_of(b, "inviteMember")["email"] for b in bodies if not b.get("errors")}
        assert {row["email"] for row in database.rows("invitations")} == invited
        mails = await app.mailbox.mails()
        mailed = [m.to for m in mails if m.subject.startswith(INVITATION_SUBJECT_PREFIX)]
        assert sorted(mailed) == sorted(invited)

    async def test_one_token_accepted_twice_at_once_makes_one_membership(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        for _ in range(ROUNDS):
            owner = await register(app.client)
            organization = await create_organization(app.client, owner["accessToken"])
            member = await verified_user(app.client, database)
            other_session = await login(app.client, member["user"]["username"])
            email = member["user"]["email"]
            data_of(
                await invite(app.client, owner["accessToken"], organization["id"], email),
                "inviteMember",
            )
            token = await invitation_token(app.mailbox, email)

            bodies = await at_once(
                [
                    call(app.client, ACCEPT_INVITATION, {"token": token}, token=access)
                    for access in (member["accessToken"], other_session["accessToken"])
                ]
            )

            assert sorted(outcome(b) for b in bodies) == ["BAD_USER_INPUT/INVALID/token", "OK"]
            assert roles_in(database, organization["id"]) == {
                owner["user"]["id"]: "OWNER",
                member["user"]["id"]: "MEMBER",
            }
            (row,) = [
                r
                for r in database.rows("invitations")
                if r["organization_id"] == int(organization["id"])
            ]
            assert row["accepted_at"] is not None


class TestCreating:
    async def test_parallel_creations_by_one_user_stop_at_the_cap(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        owner = await register(app.client)

        bodies = await at_once(
            [
                call(
                    app.client,
                    CREATE_ORGANIZATION,
                    {"input": {"name": "Acme", "slug": unique_slug()}},
                    token=owner["accessToken"],
                )
                for _ in range(2 * OWNED_CAP)
            ]
        )

        assert Counter(outcome(b) for b in bodies) == {
            "OK": OWNED_CAP,
            "BAD_USER_INPUT/LIMIT_REACHED": OWNED_CAP,
        }
        owned = [
            r for r in database.rows("memberships") if r["user_id"] == int(owner["user"]["id"])
        ]
        assert len(owned) == OWNED_CAP
        assert {str(r["role"]) for r in owned} == {"OWNER"}
        assert database.count("organizations") == OWNED_CAP

    async def test_parallel_creations_with_one_slug_by_several_users_make_one(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        for _ in range(ROUNDS):
            users = [await register(app.client) for _ in range(3)]
            slug = unique_slug()

            bodies = await at_once(
                [
                    call(
                        app.client,
                        CREATE_ORGANIZATION,
                        {"input": {"name": "Acme", "slug": slug}},
                        token=user["accessToken"],
                    )
                    for user in users
                ]
            )

            assert sorted(outcome(b) for b in bodies) == [
                "BAD_USER_INPUT/TAKEN/slug",
                "BAD_USER_INPUT/TAKEN/slug",
                "OK",
            ]
            (created,) = [data_of(b, "createOrganization") for b in bodies if not b.get("errors")]
            winner = users[[outcome(b) for b in bodies].index("OK")]
            assert created["slug"] == slug
            assert roles_in(database, created["id"]) == {winner["user"]["id"]: "OWNER"}
        assert database.count("organizations") == ROUNDS


async def _organization_with_admins(
    app: MailApp, database: SqlDatabase, count: int
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """An organization, its OWNER, and `count` ADMINs (who could use every admin field)."""
    owner = await register(app.client)
    organization = await create_organization(app.client, owner["accessToken"])
    admins = [await verified_user(app.client, database) for _ in range(count)]
    for admin in admins:
        await add_member(
            app.client,
            app.mailbox,
            owner_token=owner["accessToken"],
            organization_id=organization["id"],
            member=admin,
            role="ADMIN",
        )
    return organization, owner, admins


async def _refused_organization_fields(
    client: httpx.AsyncClient, token: str, organization_id: str
) -> None:
    """A token that may claim the organization gets nothing of it: no read, no admin field."""
    read = await call(client, ORGANIZATION, {"id": organization_id}, token=token)
    assert data_of(read, "organization") is None
    invited = await call(
        client,
        INVITE_MEMBER,
        {"input": {"organizationId": organization_id, "email": "late@example.com"}},
        token=token,
    )
    assert outcome(invited) == "FORBIDDEN"


def _active_organizations(database: SqlDatabase) -> dict[str, int | None]:
    return {row["id"]: row["active_organization_id"] for row in database.rows("sessions")}


class TestSwitchingWhileMembershipsGo:
    """switchOrganization racing the deletion of the organization or the caller's removal."""

    async def test_switching_while_the_organization_is_deleted_keeps_no_session_in_it(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        for round_ in range(ROUNDS):
            organization, owner, admins = await _organization_with_admins(app, database, 2)
            org = organization["id"]
            switchers = [owner, *admins]
            delete = call(
                app.client,
                DELETE_ORGANIZATION,
                {"id": org, "password": STRONG_PASSWORD},
                token=owner["accessToken"],
            )

            # The deletion starts at a different point among the switches each round.
            *switched, deleted = await at_once(
                [
                    *(
                        _after(0.003 * n, _switch(app.client, s["accessToken"], org))
                        for n, s in enumerate(switchers)
                    ),
                    _after(0.004 * round_, delete),
                ]
            )

            assert data_of(deleted, "deleteOrganization") is True
            assert {outcome(b) for b in switched} <= {
                "OK",
                "BAD_USER_INPUT/NOT_FOUND/organizationId",
            }
            sessions = _active_organizations(database)
            assert int(org) not in sessions.values()  # no session still points at it
            for switcher, body in zip(switchers, switched, strict=True):
                if body.get("errors"):
                    continue
                payload = data_of(body, "switchOrganization")
                assert claims_of(payload["accessToken"])["org_id"] == org  # as read when issued
                await _refused_organization_fields(app.client, payload["accessToken"], org)
                renewed = data_of(
                    await refresh(app.client, payload["refreshToken"]), "refreshToken"
                )
                assert "org_id" not in claims_of(renewed["accessToken"])
                assert sessions[session_id_of(switcher)] is None

    async def test_switching_while_being_removed_never_leaves_a_usable_claim(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        for round_ in range(ROUNDS):
            organization, owner, admins = await _organization_with_admins(app, database, 2)
            org = organization["id"]
            switches = [_switch(app.client, a["accessToken"], org) for a in admins]
            removals = [
                _remove(app.client, owner["accessToken"], org, a["user"]["id"]) for a in admins
            ]
            # The owner switches too: their own lock (the user's, first) meets the removals.
            own_switch = _switch(app.client, owner["accessToken"], org)

            bodies = await at_once(
                [
                    *(_after(0.003 * n, s) for n, s in enumerate(switches)),
                    *(_after(0.002 * (n + round_), r) for n, r in enumerate(removals)),
                    own_switch,
                ]
            )
            switched, removed, owner_switched = (
                bodies[: len(admins)],
                bodies[len(admins) : -1],
                bodies[-1],
            )

            assert all(data_of(b, "removeMember") is True for b in removed)
            data_of(owner_switched, "switchOrganization")
            assert {outcome(b) for b in switched} <= {
                "OK",
                "BAD_USER_INPUT/NOT_FOUND/organizationId",
            }
            assert roles_in(database, org) == {owner["user"]["id"]: "OWNER"}
            for body in switched:
                if not body.get("errors"):
                    # The session may still name the organization; its tokens get nothing there.
                    payload = data_of(body, "switchOrganization")
                    await _refused_organization_fields(app.client, payload["accessToken"], org)
                    renewed = data_of(
                        await refresh(app.client, payload["refreshToken"]), "refreshToken"
                    )
                    assert "org_id" not in claims_of(renewed["accessToken"])
            for admin in admins:  # and the tokens from before the switch neither
                await _refused_organization_fields(app.client, admin["accessToken"], org)

    async def test_a_new_organization_never_gets_a_deleted_ones_id(
        self, app: MailApp, database: SqlDatabase
    ) -> None:
        owner, other = await register(app.client), await register(app.client)
        deleted = await create_organization(app.client, owner["accessToken"])
        switched = data_of(
            await _switch(app.client, owner["accessToken"], deleted["id"]), "switchOrganization"
        )
        body = await call(
            app.client,
            DELETE_ORGANIZATION,
            {"id": deleted["id"], "password": STRONG_PASSWORD},
            token=owner["accessToken"],
        )
        assert data_of(body, "deleteOrganization") is True

        created = await create_organization(app.client, other["accessToken"])

        # Tokens issued before the deletion still carry its id: it must name no other one.
        assert int(created["id"]) > int(deleted["id"])
        assert claims_of(switched["accessToken"])["org_id"] == deleted["id"]


async def _while_the_organization_is_held(
    database: SqlDatabase,
    organization_id: str,
    first: Awaitable[dict[str, Any]],
    then: Awaitable[dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Another writer (a worker elsewhere) holds the organization's row: `first` queues for
    it, then `then` starts, then the writer commits and both go on.

    Deterministic where the gathers above depend on timing: `first` always waits for the
    organization holding whatever it locked before, when `then` asks for it.
    """
    holding = threading.Event()

    def hold() -> None:
        organizations = database.table("organizations")
        with database.engine.begin() as connection:
            connection.execute(
                organizations.update()
                .where(organizations.c.id == int(organization_id))
                .values(name=organizations.c.name)
            )
            holding.set()
            time.sleep(HOLD_SECONDS)

    writer = asyncio.ensure_future(asyncio.to_thread(hold))
    await asyncio.to_thread(holding.wait)
    queued = asyncio.ensure_future(first)
    await asyncio.sleep(HOLD_SECONDS / 3)
    following = asyncio.ensure_future(then)
    await writer
    return await queued, await following


def _change_by(
    client: httpx.AsyncClient,
    change: str,
    organization_id: str,
    *,
    owner: dict[str, Any],
    member: dict[str, Any],
) -> Awaitable[dict[str, Any]]:
    """The owner removes, demotes or invites; the member leaves."""
    token, member_id = owner["accessToken"], member["user"]["id"]
    if change == "remove":
        return _remove(client, token, organization_id, member_id)
    if change == "demote":
        return _set_role(client, token, organization_id, member_id, "MEMBER")
    if change == "invite":
        variables = {"input": {"organizationId": organization_id, "email": "new@example.com"}}
        return call(client, INVITE_MEMBER, variables, token=token)
    return _leave(client, member["accessToken"], organization_id)


class TestTheOneLockOrder:
    """A change to an organization and its actor's own switchOrganization (which locks the
    actor, then the organization) take turns: the change's security event refers to the
    actor, so it locks the actor before the organization too."""

    @pytest.mark.parametrize("change", ["remove", "demote", "invite", "leave"])
    async def test_a_change_and_the_actors_own_switch_take_turns(
        self, app: MailApp, database: SqlDatabase, change: str
    ) -> None:
        organization, owner, (admin,) = await _organization_with_admins(app, database, 1)
        org = organization["id"]
        actor = admin if change == "leave" else owner
        request = _change_by(app.client, change, org, owner=owner, member=admin)

        changed, switched = await _while_the_organization_is_held(
            database, org, request, _switch(app.client, actor["accessToken"], org)
        )

        assert outcome(changed) == "OK"
        # Who goes first is the database's choice (SQLite lets waiting writers in any order):
        # a switch after leaving finds no membership.
        allowed = {"OK", "BAD_USER_INPUT/NOT_FOUND/organizationId"} if change == "leave" else {"OK"}
        assert outcome(switched) in allowed
