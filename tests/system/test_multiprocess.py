"""Two real server processes over one database and one Redis behave as one service.

Every test runs once per server database (MariaDB, PostgreSQL), each with servers,
a database and Redis keys of its own.
"""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.support.api_keys import CREATE_API_KEY, REVOKE_API_KEY
from tests.support.databases import SERVERS, server_database
from tests.support.helpers import (
    CHANGE_PASSWORD,
    LOGIN,
    REGISTER,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
)
from tests.support.mfa import code_at
from tests.support.orgs import (
    ACCEPT_INVITATION,
    CREATE_ORGANIZATION,
    INVITE_MEMBER,
    LEAVE_ORGANIZATION,
    ORGANIZATION,
    REMOVE_MEMBER,
    SET_MEMBER_ROLE,
    SWITCH_ORGANIZATION,
    unique_slug,
)
from tests.support.redis import REDIS_URL, redis_key_prefix
from tests.support.servers import ServerProcess, migrate, server_environment

ME = "query { me { id username } }"
INVITATION_LIMIT = 5
API_KEY_LIMIT = 6
REFRESH = "mutation R($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }"
ENROLL = "mutation E($p: String!) { enrollTotp(currentPassword: $p) { secret } }"
CONFIRM = "mutation C($c: String!) { confirmTotp(code: $c) }"
VERIFY = "mutation V($input: VerifyMfaInput!) { verifyMfa(input: $input) { accessToken } }"


@pytest.fixture(scope="module", params=list(SERVERS))
def backend_name(request: pytest.FixtureRequest) -> str:
    """Each server database in turn: every test of this module runs once on each."""
    return str(request.param)


@pytest.fixture(scope="module")
def database(backend_name: str) -> Iterator[SqlDatabase]:
    """The servers' database (not tests/conftest.py's SQLite), read straight by the checks."""
    with server_database(backend_name, "gqlauth_multi", "the multi-process test") as created:
        yield created


@pytest.fixture(scope="module")
def redis_prefix(backend_name: str) -> Iterator[str]:
    """One per backend: both backends' servers sign up the same usernames."""
    with redis_key_prefix(f"gqlauth-multi-{backend_name}", "the multi-process test") as prefix:
        yield prefix


def _environment(database_url: str, redis_prefix: str, **extra: str) -> dict[str, str]:
    return server_environment(
        database_url,
        REDIS_URL=REDIS_URL,
        RATE_LIMIT_KEY_PREFIX=redis_prefix,
        RATE_LIMIT_LOGIN_ACCOUNT="3/15minutes",
        # Several admitted sign-ins of one user run in parallel: they must take turns on
        # the user's row (no deadlock) and the limit must still hold across processes.
        RATE_LIMIT_SIGNIN_ACCOUNT_CLIENT="4/15minutes",
        # The tests stand in for a proxy: X-Forwarded-For names distinct clients.
        TRUSTED_PROXIES="127.0.0.1",
        RATE_LIMIT_INVITATIONS=f"{INVITATION_LIMIT}/day",
        RATE_LIMIT_API_KEY=f"{API_KEY_LIMIT}/minute",
        **extra,
    )


@pytest.fixture(scope="module")
def two_servers(
    database: SqlDatabase, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Started once per backend: each test uses accounts of its own."""
    tmp_path = tmp_path_factory.mktemp("servers")
    env = _environment(database.url, redis_prefix)
    migrate(env, tmp_path)
    servers = (ServerProcess(env, tmp_path), ServerProcess(env, tmp_path))
    try:
        for server in servers:
            server.wait_until_healthy()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
async def clients(
    two_servers: tuple[ServerProcess, ServerProcess],
) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    async with (
        httpx.AsyncClient(base_url=two_servers[0].url, timeout=20) as first,
        httpx.AsyncClient(base_url=two_servers[1].url, timeout=20) as second,
    ):
        yield first, second


async def call(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def sign_up(client: httpx.AsyncClient, username: str) -> dict[str, Any]:
    body = await call(
        client,
        REGISTER,
        {
            "input": {
                "username": username,
                "email": f"{username}@example.com",
                "password": STRONG_PASSWORD,
            }
        },
    )
    payload: dict[str, Any] = body["data"]["register"]
    return payload


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> dict[str, Any]:
    return await call(client, LOGIN, {"input": {"username": username, "password": password}})


def event_count(database: SqlDatabase, username: str, kind: str) -> int:
    """Security events of one kind for one user, read straight from the database."""
    events, users = database.table("security_events"), database.table("users")
    counted = (
        sa.select(sa.func.count())
        .select_from(events.join(users, users.c.id == events.c.user_id))
        .where(users.c.username == username, events.c.kind == kind)
    )
    with database.engine.connect() as connection:
        return int(connection.scalar(counted) or 0)


REQUEST_RESET = "mutation R($email: String!) { requestPasswordReset(email: $email) }"


def _reset_mails_logged(servers: tuple[ServerProcess, ...], email: str) -> int:
    """Reset mails both servers wrote to their logs for `email` (development, no SMTP_HOST).

    The readable log keeps a record on one line: the mail's line breaks are escaped.
    """
    mail = f"To: {email}\\nSubject: Reset your password\\n"
    return sum(server.log.read_text().count(mail) for server in servers)


UPDATE_EMAIL = (
    "mutation U($input: UpdateProfileInput!) { updateProfile(input: $input) { pendingEmail } }"
)


def _notices_logged(servers: tuple[ServerProcess, ...], email: str) -> int:
    """Address-change notices both servers wrote to their logs for `email`."""
    mail = f"To: {email}\\nSubject: Your e-mail address is being changed\\n"
    return sum(server.log.read_text().count(mail) for server in servers)


def _mark_verified(database: SqlDatabase, username: str) -> None:
    """Confirms the account's address in the database (notices go to verified ones only)."""
    database.update_user(database.user_row(username)["id"], email_verified=True)


async def _settled_count(count: Callable[[], int], expected: int) -> int:
    """The count once it reached `expected` and a further second added nothing (or after 15 s).

    Mails go out after the requests' commits, so some may land after the answers.
    """
    for _ in range(150):
        if count() >= expected:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1)
    return count()


def codes(bodies: list[dict[str, Any]]) -> dict[str, int]:
    """How many answers carried each error code (SIGNED_IN: none); each refusal says when."""
    counts: dict[str, int] = {}
    for body in bodies:
        if body.get("errors"):
            (error,) = body["errors"]
            code = error["extensions"]["code"]
            if code == "RATE_LIMITED":
                assert isinstance(error["extensions"]["retryAfter"], int)
                assert error["extensions"]["retryAfter"] > 0
        else:
            assert body["data"]["login"]["accessToken"]
            code = "SIGNED_IN"
        counts[code] = counts.get(code, 0) + 1
    return counts


class TestTwoProcessesActAsOne:
    async def test_failed_logins_count_across_both_processes(
        self, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
    ) -> None:
        first, second = clients
        await sign_up(first, "shared_limit")
        for client in (first, second, first):  # the account limit is 3 failures
            assert_error(await sign_in(client, "shared_limit", "wrong password"), "UNAUTHENTICATED")
        refused = await sign_in(second, "shared_limit", STRONG_PASSWORD)
        error = assert_error(refused, "RATE_LIMITED")
        assert isinstance(error["extensions"]["retryAfter"], int)

    async def test_parallel_guesses_spread_over_both_processes_check_at_most_the_limit(
        self, clients: tuple[httpx.AsyncClient, httpx.AsyncClient], database: SqlDatabase
    ) -> None:
        first, second = clients
        await sign_up(first, "parallel_limit")

        bodies = await asyncio.gather(
            *(sign_in(client, "parallel_limit", "wrong password") for client in clients * 12)
        )
        after = [await sign_in(client, "parallel_limit", STRONG_PASSWORD) for client in clients]

        assert codes(bodies) == {"UNAUTHENTICATED": 3, "RATE_LIMITED": 21}
        assert event_count(database, "parallel_limit", "LOGIN_FAILED") == 3
        assert codes(after) == {"RATE_LIMITED": 2}
        assert event_count(database, "parallel_limit", "LOGIN_SUCCEEDED") == 0

    async def test_parallel_sign_ins_over_both_processes_stop_at_the_sign_in_limit(
        self, clients: tuple[httpx.AsyncClient, httpx.AsyncClient], database: SqlDatabase
    ) -> None:
        await sign_up(clients[0], "parallel_sessions")

        bodies = await asyncio.gather(
            *(sign_in(client, "parallel_sessions", STRONG_PASSWORD) for client in clients * 6)
        )

        counts = codes(bodies)
        # RATE_LIMIT_LOGIN_ACCOUNT (3 here) lets three password checks run at once, each
        # giving its reservation back when it passes: whether a fourth request arrives after
        # such a refund is timing (under load all twelve may arrive while three are in
        # flight). What must hold is the sign-in limit: never more than 4 sessions.
        assert set(counts) == {"SIGNED_IN", "RATE_LIMITED"}
        assert 3 <= counts["SIGNED_IN"] <= 4
        signed_in = event_count(database, "parallel_sessions", "LOGIN_SUCCEEDED")
        assert signed_in == counts["SIGNED_IN"]
        later = await asyncio.gather(
            *(sign_in(client, "parallel_sessions", STRONG_PASSWORD) for client in clients * 2)
        )
        assert codes(later).get("SIGNED_IN", 0) == 4 - signed_in  # the limit, whole, at last

    async def test_parallel_reset_requests_from_one_client_mail_its_limit_over_both(
        self,
        clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
        two_servers: tuple[ServerProcess, ServerProcess],
    ) -> None:
        """RESET_EMAIL (3/hour per address and client) is reserved in Redis: it holds across."""
        email = (await sign_up(clients[0], "parallel_resets"))["user"]["email"]

        bodies = await asyncio.gather(
            *(call(client, REQUEST_RESET, {"email": email}) for client in clients * 6)
        )
        mailed = await _settled_count(lambda: _reset_mails_logged(two_servers, email), 3)

        assert all(body == {"data": {"requestPasswordReset": True}} for body in bodies)
        assert mailed == 3

    async def test_address_change_notices_over_both_processes_stop_at_the_limit(
        self,
        clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
        two_servers: tuple[ServerProcess, ServerProcess],
        database: SqlDatabase,
    ) -> None:
        """NOTICE_EMAIL (10/hour) counts in Redis: 7 changes through each process mail 10."""
        payload = await sign_up(clients[0], "notice_bombed")
        email = payload["user"]["email"]
        _mark_verified(database, "notice_bombed")

        for n in range(14):
            changed = await call(
                clients[n % 2],
                UPDATE_EMAIL,
                {"input": {"email": f"spam{n}@evil.example", "currentPassword": STRONG_PASSWORD}},
                payload["accessToken"],
            )
            assert changed["data"]["updateProfile"]["pendingEmail"] == f"spam{n}@evil.example"
        mailed = await _settled_count(lambda: _notices_logged(two_servers, email), 10)

        assert mailed == 10

    async def test_parallel_reset_requests_from_many_clients_stop_at_the_all_clients_limit(
        self,
        clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
        two_servers: tuple[ServerProcess, ServerProcess],
    ) -> None:
        """Six clients, three requests each, over both processes: RESET_EMAIL_ALL_CLIENTS's 10."""
        email = (await sign_up(clients[0], "many_client_resets"))["user"]["email"]
        senders = [
            (clients[n % 2], {"X-Forwarded-For": f"198.51.100.{n}"})
            for n in range(1, 7)
            for _ in range(3)
        ]

        responses = await asyncio.gather(
            *(
                client.post(
                    "/graphql",
                    json={"query": REQUEST_RESET, "variables": {"email": email}},
                    headers=headers,
                )
                for client, headers in senders
            )
        )
        mailed = await _settled_count(lambda: _reset_mails_logged(two_servers, email), 10)

        assert [r.json() for r in responses] == [{"data": {"requestPasswordReset": True}}] * 18
        assert mailed == 10

    async def test_sign_ins_on_both_processes_racing_a_password_change_all_end_with_it(
        self, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
    ) -> None:
        """Issue 21, item 3: a sign-in that checked the old password, on either process,
        while the change committed on one of them, keeps no session."""
        first, _ = clients
        owner = await sign_up(first, "raced_change")
        change = call(
            first,
            CHANGE_PASSWORD,
            {"input": {"currentPassword": STRONG_PASSWORD, "newPassword": "Otter-Meadow-77x"}},
            owner["accessToken"],
        )

        # One sign-in per process: with the change, three password checks in flight, all
        # that this module's RATE_LIMIT_LOGIN_ACCOUNT (3) lets run at once.
        *bodies, changed = await asyncio.gather(
            *(sign_in(client, "raced_change", STRONG_PASSWORD) for client in clients), change
        )

        assert not changed.get("errors"), changed
        for body in bodies:
            if body.get("errors"):
                (error,) = body["errors"]
                assert error["extensions"]["code"] in {"UNAUTHENTICATED", "RATE_LIMITED"}
                continue
            signed_in = body["data"]["login"]
            me = await call(first, ME, {}, signed_in["accessToken"])
            rotated = await call(first, REFRESH, {"t": signed_in["refreshToken"]})
            assert_error(me, "UNAUTHENTICATED", reason="TOKEN_REVOKED")
            assert_error(rotated, "UNAUTHENTICATED")

    async def test_session_revoked_through_one_process_is_refused_by_the_other(
        self, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
    ) -> None:
        first, second = clients
        payload = await sign_up(first, "shared_revoke")
        assert (await call(second, ME, {}, payload["accessToken"]))["data"]["me"]["username"] == (
            "shared_revoke"
        )
        logout = await call(
            first,
            "mutation L($t: String!) { logout(refreshToken: $t) }",
            {"t": payload["refreshToken"]},
        )
        assert logout["data"]["logout"] is True
        assert_error(
            await call(second, ME, {}, payload["accessToken"]),
            "UNAUTHENTICATED",
            reason="TOKEN_REVOKED",
        )

    async def test_refresh_token_rotated_on_one_process_is_rejected_by_the_other(
        self, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
    ) -> None:
        first, second = clients
        payload = await sign_up(first, "shared_rotate")
        rotated = await call(first, REFRESH, {"t": payload["refreshToken"]})
        fresh = rotated["data"]["refreshToken"]
        replayed = await call(second, REFRESH, {"t": payload["refreshToken"]})
        assert_error(replayed, "UNAUTHENTICATED", reason="TOKEN_REVOKED")
        # Reuse revoked the whole session: the pair issued by the first process is dead too.
        assert_error(
            await call(first, ME, {}, fresh["accessToken"]),
            "UNAUTHENTICATED",
            reason="TOKEN_REVOKED",
        )


class TestTwoProcessesShareTheSecondFactor:
    """A TOTP code and an mfaToken are single use across processes, not per worker."""

    async def _user_with_totp(
        self, client: httpx.AsyncClient, username: str
    ) -> tuple[str, list[str]]:
        payload = await sign_up(client, username)
        token = payload["accessToken"]
        enrolled = await call(client, ENROLL, {"p": STRONG_PASSWORD}, token)
        secret = str(enrolled["data"]["enrollTotp"]["secret"])
        confirmed = await call(client, CONFIRM, {"c": code_at(secret)}, token)
        codes = [str(code) for code in confirmed["data"]["confirmTotp"]]
        assert len(codes) == 10
        return secret, codes

    async def _mfa_token(self, client: httpx.AsyncClient, username: str) -> str:
        error = assert_error(
            await sign_in(client, username, STRONG_PASSWORD),
            "UNAUTHENTICATED",
            reason="MFA_REQUIRED",
        )
        return str(error["extensions"]["mfaToken"])

    async def test_one_code_sent_to_both_processes_at_once_signs_in_once(
        self, clients: tuple[httpx.AsyncClient, httpx.AsyncClient], database: SqlDatabase
    ) -> None:
        first, second = clients
        secret, _ = await self._user_with_totp(first, "shared_totp")
        tokens = [await self._mfa_token(client, "shared_totp") for client in clients]
        code = code_at(secret, 1)

        bodies = await asyncio.gather(
            *(
                call(client, VERIFY, {"input": {"mfaToken": token, "code": code}})
                for client, token in zip(clients, tokens, strict=True)
            )
        )

        signed_in = [body for body in bodies if not body.get("errors")]
        assert len(signed_in) == 1
        refused = next(body for body in bodies if body.get("errors"))
        assert_error(refused, "UNAUTHENTICATED", reason="INVALID_CREDENTIALS")
        assert event_count(database, "shared_totp", "LOGIN_SUCCEEDED") == 1

    async def test_one_mfa_token_sent_to_both_processes_at_once_opens_one_session(
        self, clients: tuple[httpx.AsyncClient, httpx.AsyncClient], database: SqlDatabase
    ) -> None:
        first, second = clients
        secret, codes = await self._user_with_totp(first, "shared_mfa_token")
        token = await self._mfa_token(first, "shared_mfa_token")

        # A TOTP code on one process and a recovery code on the other: both right, so
        # only the token's single use can refuse one of them.
        bodies = await asyncio.gather(
            call(first, VERIFY, {"input": {"mfaToken": token, "code": code_at(secret, 1)}}),
            call(second, VERIFY, {"input": {"mfaToken": token, "code": codes[0]}}),
        )

        assert sum(1 for body in bodies if not body.get("errors")) == 1
        assert event_count(database, "shared_mfa_token", "LOGIN_SUCCEEDED") == 1


# --- organizations (issue 24) ---------------------------------------------------------------


def _invitations_logged(servers: tuple[ServerProcess, ...], emails: set[str]) -> int:
    """Invitation mails to these addresses that both servers wrote to their logs."""
    return sum(
        server.log.read_text().count(f"To: {email}\\nSubject: You are invited to join ")
        for server in servers
        for email in emails
    )


def _invitation_tokens(server: ServerProcess, email: str) -> list[str]:
    """The tokens of the invitations `server` has mailed to `email` (logged), oldest first."""
    mailed = re.compile(
        rf"To: {re.escape(email)}\\nSubject: You are invited to join [^\n]*?\?token=([\w-]+)"
    )
    return [str(token) for token in mailed.findall(server.log.read_text())]


async def _next_invitation_token(server: ServerProcess, email: str, before: int) -> str:
    """The token of the next invitation to `email` after the `before` ones mailed already."""
    for _ in range(100):  # mails go out after the commit, in the background
        tokens = _invitation_tokens(server, email)
        if len(tokens) > before:
            return tokens[-1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no invitation mailed to {email}")


def _roles(database: SqlDatabase, organization_id: str) -> dict[str, str]:
    """The organization's members (by username) and their roles, read straight from the database."""
    memberships, users = database.table("memberships"), database.table("users")
    members = (
        sa.select(users.c.username, memberships.c.role)
        .join(users, users.c.id == memberships.c.user_id)
        .where(memberships.c.organization_id == int(organization_id))
    )
    with database.engine.connect() as connection:
        return {str(username): str(role) for username, role in connection.execute(members)}


def _invitations_stored(database: SqlDatabase, organization_id: str) -> int:
    invitations = database.table("invitations")
    counted = (
        sa.select(sa.func.count())
        .select_from(invitations)
        .where(invitations.c.organization_id == int(organization_id))
    )
    with database.engine.connect() as connection:
        return int(connection.scalar(counted) or 0)


def _outcome(body: dict[str, Any]) -> str:
    """OK, or the one error's code and reason, e.g. BAD_USER_INPUT/LAST_OWNER."""
    if not body.get("errors"):
        return "OK"
    (error,) = body["errors"]
    extensions = error["extensions"]
    return "/".join(filter(None, (extensions["code"], extensions.get("reason"))))


# Two owners at once, each on a process of its own, and how the one who goes second is refused:
# demoted or removed first, it is no owner any more; of two leaving, it is the last owner.
LAST_OWNER_RACES = {
    "demote": "FORBIDDEN",
    "remove": "FORBIDDEN",
    "leave": "BAD_USER_INPUT/LAST_OWNER",
}


def _against(move: str, organization_id: str, other_id: str) -> tuple[str, dict[str, Any]]:
    """One owner's half of a LAST_OWNER_RACES move: the operation and its variables."""
    if move == "demote":
        role = {"organizationId": organization_id, "userId": other_id, "role": "ADMIN"}
        return SET_MEMBER_ROLE, {"input": role}
    if move == "remove":
        return REMOVE_MEMBER, {"org": organization_id, "user": other_id}
    return LEAVE_ORGANIZATION, {"org": organization_id}


class TestTwoProcessesShareOrganizations:
    """Invitation limits, the last-owner rule and removals hold across both processes."""

    async def _organization(self, client: httpx.AsyncClient, token: str) -> str:
        body = await call(
            client, CREATE_ORGANIZATION, {"input": {"name": "Acme", "slug": unique_slug()}}, token
        )
        return str(body["data"]["createOrganization"]["id"])

    async def _invite(
        self, client: httpx.AsyncClient, token: str, organization_id: str, email: str, role: str
    ) -> dict[str, Any]:
        variables = {"input": {"organizationId": organization_id, "email": email, "role": role}}
        return await call(client, INVITE_MEMBER, variables, token)

    async def _join(
        self,
        servers: tuple[ServerProcess, ServerProcess],
        clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
        inviter: dict[str, Any],
        organization_id: str,
        member: dict[str, Any],
        role: str,
    ) -> None:
        """`member` (verified) is invited through the first process and joins through the second."""
        email = member["user"]["email"]
        before = len(_invitation_tokens(servers[0], email))
        invited = await self._invite(
            clients[0], inviter["accessToken"], organization_id, email, role
        )
        assert not invited.get("errors"), invited
        token = await _next_invitation_token(servers[0], email, before)
        joined = await call(clients[1], ACCEPT_INVITATION, {"token": token}, member["accessToken"])
        assert joined["data"]["acceptInvitation"]["role"] == role, joined

    async def test_parallel_invitations_over_both_processes_store_and_mail_the_limit(
        self,
        clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
        two_servers: tuple[ServerProcess, ServerProcess],
        database: SqlDatabase,
    ) -> None:
        """RATE_LIMIT_INVITATIONS is reserved in Redis: 10 through each process store 5."""
        owner = await sign_up(clients[0], "org_flood")
        organization_id = await self._organization(clients[0], owner["accessToken"])
        emails = {f"flood{n}@example.com" for n in range(20)}

        bodies = await asyncio.gather(
            *(
                self._invite(client, owner["accessToken"], organization_id, email, "MEMBER")
                for client, email in zip(clients * 10, sorted(emails), strict=True)
            )
        )
        mailed = await _settled_count(
            lambda: _invitations_logged(two_servers, emails), INVITATION_LIMIT
        )

        outcomes = [_outcome(body) for body in bodies]
        assert outcomes.count("OK") == INVITATION_LIMIT
        assert outcomes.count("RATE_LIMITED") == len(emails) - INVITATION_LIMIT
        for body in bodies:
            if body.get("errors"):
                assert body["errors"][0]["extensions"]["retryAfter"] > 0
        assert _invitations_stored(database, organization_id) == INVITATION_LIMIT
        assert mailed == INVITATION_LIMIT

    async def test_two_owners_acting_through_different_processes_keep_one_owner(
        self,
        clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
        two_servers: tuple[ServerProcess, ServerProcess],
        database: SqlDatabase,
    ) -> None:
        first_owner = await sign_up(clients[0], "org_owner_one")
        second_owner = await sign_up(clients[1], "org_owner_two")
        _mark_verified(database, "org_owner_two")
        first_id, second_id = first_owner["user"]["id"], second_owner["user"]["id"]
        logged_before = [len(server.log.read_text()) for server in two_servers]
        for move, refused in LAST_OWNER_RACES.items():
            org = await self._organization(clients[0], first_owner["accessToken"])
            await self._join(two_servers, clients, first_owner, org, second_owner, "OWNER")

            bodies = await asyncio.gather(
                call(clients[0], *_against(move, org, second_id), first_owner["accessToken"]),
                call(clients[1], *_against(move, org, first_id), second_owner["accessToken"]),
            )

            assert sorted(_outcome(body) for body in bodies) == sorted(["OK", refused]), move
            assert list(_roles(database, org).values()).count("OWNER") == 1, move
        logged = "".join(
            server.log.read_text()[start:]
            for server, start in zip(two_servers, logged_before, strict=True)
        )
        assert "deadlock or lock timeout" not in logged  # no request had to run again

    async def test_a_member_removed_through_one_process_is_refused_on_the_other_at_once(
        self,
        clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
        two_servers: tuple[ServerProcess, ServerProcess],
        database: SqlDatabase,
    ) -> None:
        first, second = clients
        owner = await sign_up(first, "org_remover")
        member = await sign_up(second, "org_removed")
        _mark_verified(database, "org_removed")
        org = await self._organization(first, owner["accessToken"])
        await self._join(two_servers, clients, owner, org, member, "ADMIN")
        switched = await call(second, SWITCH_ORGANIZATION, {"org": org}, member["accessToken"])
        token = switched["data"]["switchOrganization"]["accessToken"]  # claims org_id, ADMIN
        read = await call(second, ORGANIZATION, {"id": org}, token)
        assert read["data"]["organization"]["viewerRole"] == "ADMIN"

        removed = await call(
            first, REMOVE_MEMBER, {"org": org, "user": member["user"]["id"]}, owner["accessToken"]
        )

        assert removed["data"]["removeMember"] is True
        refused_read = await call(second, ORGANIZATION, {"id": org}, token)
        assert refused_read["data"]["organization"] is None
        refused_invite = await self._invite(second, token, org, "late@example.com", "MEMBER")
        assert _outcome(refused_invite) == "FORBIDDEN"


async def test_sigterm_lets_an_in_flight_request_finish(
    database: SqlDatabase, redis_prefix: str, tmp_path: Path
) -> None:
    env = _environment(database.url, redis_prefix)
    server = ServerProcess(env, tmp_path)
    try:
        await asyncio.to_thread(server.wait_until_healthy)
        await _interrupt_a_request_in_flight(server)
    finally:
        server.stop()


async def _interrupt_a_request_in_flight(server: ServerProcess) -> None:
    body = b'{"query": "{ __typename }"}'
    headers_sent = asyncio.Event()
    release = asyncio.Event()

    async def slow_body() -> AsyncIterator[bytes]:
        yield body[:5]
        headers_sent.set()
        await release.wait()
        yield body[5:]

    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        request = asyncio.create_task(
            client.post(
                "/graphql",
                content=slow_body(),
                headers={"content-type": "application/json", "content-length": str(len(body))},
            )
        )
        await headers_sent.wait()
        await asyncio.sleep(0.3)  # let the server read the first bytes: the request is in flight
        server.process.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        release.set()
        response = await request
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}
    # uvicorn exits by re-raising the SIGTERM it handled, after finishing the request.
    assert server.process.wait(timeout=20) in (0, -signal.SIGTERM)


async def test_metrics_add_up_across_workers(
    database: SqlDatabase, redis_prefix: str, tmp_path: Path
) -> None:
    """`serve --workers 2` with metrics on: /metrics counts the requests of both processes."""
    samples = tmp_path / "metrics"
    samples.mkdir()
    env = _environment(
        database.url, redis_prefix, METRICS_ENABLED="true", PROMETHEUS_MULTIPROC_DIR=str(samples)
    )
    migrate(env, tmp_path)
    server = ServerProcess(env, tmp_path, "--workers", "2")
    requests = 40
    try:
        await asyncio.to_thread(server.wait_until_healthy)
        async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
            for _ in range(requests):
                # A fresh connection each time, so both workers get a share.
                response = await client.post(
                    "/graphql",
                    json={"query": "{ __typename }"},
                    headers={"Connection": "close"},
                )
                assert response.status_code == 200
            metrics = (await client.get("/metrics")).text
    finally:
        server.stop()
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("gql_auth_requests_total{")
    )
    assert counted == requests, metrics
    # Both processes wrote samples (prometheus-client keeps one file per process and kind).
    writers = {path.stem.rsplit("_", 1)[-1] for path in samples.glob("counter_*.db")}
    assert len(writers) == 2, sorted(path.name for path in samples.iterdir())


class TestTwoProcessesShareApiKeys:
    """The per-key limit (in Redis) and revocations (in the database) hold across both processes."""

    async def _key(self, client: httpx.AsyncClient, username: str) -> tuple[str, str, str]:
        """A new account's access token, and the id and secret of a key it made."""
        token = (await sign_up(client, username))["accessToken"]
        fields = {"name": "ci", "scopes": ["profile:read"], "currentPassword": STRONG_PASSWORD}
        body = await call(client, CREATE_API_KEY, {"input": fields}, token)
        created = body["data"]["createApiKey"]
        return token, created["apiKey"]["id"], created["secret"]

    async def test_the_per_key_limit_counts_across_both_processes(
        self, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
    ) -> None:
        first, second = clients
        _, _, secret = await self._key(first, "shared_key_limit")

        bodies = await asyncio.gather(
            *(call(clients[index % 2], ME, {}, secret) for index in range(16))
        )

        answered = [body for body in bodies if not body.get("errors")]
        assert len(answered) == API_KEY_LIMIT
        for body in bodies:
            if body.get("errors"):
                error = assert_error(body, "RATE_LIMITED")
                assert 0 < error["extensions"]["retryAfter"] <= 60
        assert_error(await call(second, ME, {}, secret), "RATE_LIMITED")

    async def test_a_key_revoked_through_one_process_is_refused_by_the_other(
        self, clients: tuple[httpx.AsyncClient, httpx.AsyncClient]
    ) -> None:
        first, second = clients
        token, key_id, secret = await self._key(first, "shared_key_revoke")
        me = await call(second, ME, {}, secret)
        assert me["data"]["me"]["username"] == "shared_key_revoke"

        revoked = await call(first, REVOKE_API_KEY, {"id": key_id}, token)

        assert revoked["data"]["revokeApiKey"] is True
        assert_error(await call(second, ME, {}, secret), "UNAUTHENTICATED", reason="TOKEN_REVOKED")
