"""A transaction that meets a deadlock or a lock wait timeout runs once more (issue 11, item 6).

The MariaDB and PostgreSQL cases hold real row locks from a second connection,
as another server's transaction would, and let the server decide: a real
deadlock, a real lock wait timeout, never a simulated error.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pymysql
import pytest
import sqlalchemy as sa

from gql_auth.core.database import is_transient_conflict
from tests.support.databases import Backend
from tests.support.helpers import (
    LOGIN,
    REGISTER,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    make_settings,
    register,
    register_input,
    running_app,
    session_id_of,
)
from tests.support.mailbox import running_mail_app
from tests.support.row_locks import (
    DEADLOCK,
    LOCK_TIMEOUT,
    lock_timeout_url,
    other_transaction,
    require_row_locks,
    wait_for_a_lock_wait,
)

RETRY_MESSAGE = "deadlock or lock timeout, nothing was saved; running it once more"
LOGOUT = "mutation L($token: String!) { logout(refreshToken: $token) }"
REGISTER_AND_LOGOUT = """
mutation RL($input: RegisterInput!, $token: String!) {
  register(input: $input) { accessToken }
  logout(refreshToken: $token)
}"""
VERIFY_AND_LOGOUT = (
    "mutation B($token: String!) { requestEmailVerification logout(refreshToken: $token) }"
)


def sqlite_busy_error(directory: Path) -> sqlite3.OperationalError:
    """What SQLite really raises when another connection holds the write lock."""
    path = directory / "busy.db"
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    waiter = sqlite3.connect(path, timeout=0)
    try:
        holder.execute("CREATE TABLE t (a)")
        holder.execute("BEGIN EXCLUSIVE")
        try:
            waiter.execute("INSERT INTO t VALUES (1)")
        except sqlite3.OperationalError as error:
            return error
        raise AssertionError("SQLite let a second writer in")
    finally:
        holder.close()
        waiter.close()


def wrapped(orig: BaseException) -> sa.exc.OperationalError:
    """The way SQLAlchemy hands a driver's error to the code that ran the statement."""
    return sa.exc.OperationalError("UPDATE users SET ...", {}, orig)


def raised_from(cause: BaseException) -> RuntimeError:
    """As `raise RuntimeError(...) from cause` leaves it."""
    error = RuntimeError("the commit failed")
    error.__cause__ = cause
    return error


class TestTransientConflictClassification:
    @pytest.mark.parametrize(
        "make",
        [
            lambda _: pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock"),
            lambda _: pymysql.err.OperationalError(1205, "Lock wait timeout exceeded"),
            lambda _: wrapped(pymysql.err.OperationalError(1213, "Deadlock found")),
            lambda _: raised_from(wrapped(pymysql.err.OperationalError(1205, "Lock wait"))),
            sqlite_busy_error,
            lambda directory: wrapped(sqlite_busy_error(directory)),
            lambda _: wrapped(sqlite3.OperationalError("database is locked")),
            lambda _: wrapped(psycopg.errors.DeadlockDetected("deadlock detected")),
            lambda _: psycopg.errors.SerializationFailure("could not serialize access"),
            lambda _: raised_from(wrapped(psycopg.errors.LockNotAvailable("lock timeout"))),
        ],
        ids=[
            "mysql-deadlock",
            "mysql-lock-wait-timeout",
            "wrapped-deadlock",
            "chained-lock-wait-timeout",
            "sqlite-busy",
            "wrapped-sqlite-busy",
            "sqlite-message-only",
            "postgresql-deadlock",
            "postgresql-serialization-failure",
            "postgresql-lock-timeout",
        ],
    )
    def test_deadlocks_and_lock_timeouts_are_transient(
        self, make: Callable[[Path], BaseException], tmp_path: Path
    ) -> None:
        assert is_transient_conflict(make(tmp_path))

    @pytest.mark.parametrize(
        "error",
        [
            pymysql.err.IntegrityError(1062, "Duplicate entry 'x' for key 'email'"),
            pymysql.err.OperationalError(2003, "Can't connect to MySQL server"),
            pymysql.err.OperationalError(1045, "Access denied for user"),
            wrapped(sqlite3.OperationalError("no such table: users")),
            wrapped(sqlite3.OperationalError("unable to open database file")),
            wrapped(psycopg.errors.UniqueViolation("duplicate key value")),
            psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
            ValueError("1213"),
            RuntimeError("database is locked"),  # the words alone, not from a driver
        ],
        ids=[
            "duplicate-key",
            "unreachable",
            "access-denied",
            "no-such-table",
            "cannot-open",
            "postgresql-duplicate-key",
            "postgresql-statement-timeout",
            "value-error",
            "not-a-driver",
        ],
    )
    def test_other_errors_are_not(self, error: BaseException) -> None:
        assert not is_transient_conflict(error)

    def test_a_cyclic_exception_chain_ends(self) -> None:
        first, second = ValueError("a"), ValueError("b")
        first.__context__, second.__context__ = second, first

        assert not is_transient_conflict(first)


# --- real conflicts on MariaDB and PostgreSQL ----------------------------------------------


@pytest.fixture
def server(backend: Backend, database: SqlDatabase) -> str:
    """The backend's name, where a second connection can hold a row lock."""
    require_row_locks(backend.name)
    return backend.name


def retries_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if RETRY_MESSAGE in record.getMessage()]


async def until_retried(caplog: pytest.LogCaptureFixture, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not retries_logged(caplog):
        assert time.monotonic() < deadline, "the operation was never run again"
        await asyncio.sleep(0.01)


class TestDeadlockIsRetried:
    async def test_a_deadlocked_mutation_runs_again_and_its_mail_goes_out_once(
        self, server: str, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="gql_auth")
        async with running_mail_app(make_settings(database.url), caplog) as app:
            registered = await register(app.client, "deadlocked")
            user_id, session_id = registered["user"]["id"], session_id_of(registered)
            with other_transaction(server, database, survives_deadlocks=True) as other:
                # The other transaction holds the session row; the app's operation takes
                # the user row (mail token, then logout) and then waits for the session.
                other.execute("SELECT id FROM sessions WHERE id = %s FOR UPDATE", session_id)
                request = asyncio.create_task(
                    gql(
                        app.client,
                        VERIFY_AND_LOGOUT,
                        {"token": registered["refreshToken"]},
                        token=registered["accessToken"],
                    )
                )
                await asyncio.to_thread(wait_for_a_lock_wait, server, database)
                # Now the other way round: a deadlock, and the server rolls the app's side back.
                await asyncio.to_thread(
                    other.execute, "SELECT id FROM users WHERE id = %s FOR UPDATE", user_id
                )
                await until_retried(caplog)
                await asyncio.to_thread(wait_for_a_lock_wait, server, database)  # the second try
            body = await request

            assert data_of(body, "logout") is True
            assert body["data"]["requestEmailVerification"] is True
            (mail,) = await app.mailbox.mails(registered["user"]["email"])
        (retry,) = retries_logged(caplog)
        deadlock = DEADLOCK[server]
        assert retry.getMessage().endswith(f"({deadlock.code})"), "the log names the driver's code"
        conflicts = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(deadlock.told_in(message) for message in conflicts)
        # The retry answered: the rolled-back attempt is no error in the log.
        assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
        (token_row,) = database.rows("account_tokens")
        assert token_row["token_hash"] == hashlib.sha256(mail.token.encode()).hexdigest()
        assert event_kinds(database, user_id) == ["REGISTERED", "LOGGED_OUT"]
        assert database.count("security_events") == 2  # the other side's writes rolled back


class TestLockWaitTimeoutIsRetried:
    @pytest.fixture
    def impatient_url(self, server: str, database: SqlDatabase) -> str:
        """The app's connections give up on a row lock after 2 seconds."""
        return lock_timeout_url(server, database, seconds=2)

    async def test_a_lock_wait_timeout_is_retried_and_then_succeeds(
        self,
        server: str,
        database: SqlDatabase,
        impatient_url: str,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.WARNING, logger="gql_auth")
        async with running_app(make_settings(impatient_url)) as client:
            registered = await register(client)
            with other_transaction(server, database) as other:
                other.execute(
                    "SELECT id FROM users WHERE id = %s FOR UPDATE", registered["user"]["id"]
                )
                request = asyncio.create_task(
                    gql(client, LOGOUT, {"token": registered["refreshToken"]})
                )
                await until_retried(caplog)  # the first attempt gave up waiting
            body = await request  # the lock is free now

        assert data_of(body, "logout") is True
        (retry,) = retries_logged(caplog)
        assert retry.getMessage().endswith(f"({LOCK_TIMEOUT[server].code})")
        (session,) = database.rows("sessions")
        assert session["revoked_at"] is not None
        assert event_kinds(database, registered["user"]["id"]) == ["REGISTERED", "LOGGED_OUT"]

    async def test_a_retried_sign_in_counts_once_under_the_limits(
        self,
        server: str,
        database: SqlDatabase,
        impatient_url: str,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """The rolled-back attempt's reservations are given back before the second one."""
        caplog.set_level(logging.WARNING, logger="gql_auth")
        settings = make_settings(impatient_url, rate_limit_signin_account_client="1/15minutes")
        async with running_app(settings) as client:
            registered = await register(client)  # register is no sign-in under this rule
            sign_in = {
                "input": {"username": registered["user"]["username"], "password": STRONG_PASSWORD}
            }
            with other_transaction(server, database) as other:
                other.execute(
                    "SELECT id FROM users WHERE id = %s FOR UPDATE", registered["user"]["id"]
                )
                request = asyncio.create_task(gql(client, LOGIN, sign_in))
                await until_retried(caplog)  # the first attempt gave up waiting
            body = await request
            second = await gql(client, LOGIN, sign_in)

        assert data_of(body, "login")["accessToken"]
        (retry,) = retries_logged(caplog)
        assert retry.getMessage().endswith(f"({LOCK_TIMEOUT[server].code})")
        assert_error(second, "RATE_LIMITED")  # the one sign-in the rule allows was that one
        assert event_kinds(database, registered["user"]["id"]).count("LOGIN_SUCCEEDED") == 1

    async def test_a_retried_registration_counts_once_under_its_plain_limit(
        self,
        server: str,
        database: SqlDatabase,
        impatient_url: str,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A plain count (REGISTER_IP, no reservation) of the rolled-back attempt is given back."""
        caplog.set_level(logging.WARNING, logger="gql_auth")
        settings = make_settings(impatient_url, rate_limit_register_ip="2/hour")
        async with running_app(settings) as client:
            registered = await register(client)  # the first of the two registrations allowed
            with other_transaction(server, database) as other:
                other.execute(
                    "SELECT id FROM users WHERE id = %s FOR UPDATE", registered["user"]["id"]
                )
                # register counts and inserts; logout then waits for the held user row.
                variables = {"input": register_input(), "token": registered["refreshToken"]}
                request = asyncio.create_task(gql(client, REGISTER_AND_LOGOUT, variables))
                await until_retried(caplog)  # the first attempt gave up waiting
            body = await request
            third = await gql(client, REGISTER, {"input": register_input()})

        (retry,) = retries_logged(caplog)
        assert retry.getMessage().endswith(f"({LOCK_TIMEOUT[server].code})")
        assert data_of(body, "register")["accessToken"]  # the retry was not refused
        assert data_of(body, "logout") is True
        assert_error(third, "RATE_LIMITED")  # the second allowed registration was that one
        assert database.count("users") == 2  # the rolled-back attempt left no account

    async def test_a_second_conflict_is_not_retried_and_saves_nothing(
        self,
        server: str,
        database: SqlDatabase,
        impatient_url: str,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.WARNING, logger="gql_auth")
        async with running_app(make_settings(impatient_url)) as client:
            registered = await register(client)
            with other_transaction(server, database) as other:
                other.execute(
                    "SELECT id FROM users WHERE id = %s FOR UPDATE", registered["user"]["id"]
                )
                response = await client.post(
                    "/graphql",
                    json={"query": LOGOUT, "variables": {"token": registered["refreshToken"]}},
                )

        error = assert_error(response.json(), "INTERNAL_SERVER_ERROR")
        assert error["extensions"]["requestId"] == response.headers["x-request-id"]
        assert not LOCK_TIMEOUT[server].told_in(response.text)
        (retry,) = retries_logged(caplog)
        assert retry.getMessage().endswith(f"({LOCK_TIMEOUT[server].code})")
        (logged,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert error["extensions"]["requestId"] in logged.getMessage()
        (session,) = database.rows("sessions")
        assert session["revoked_at"] is None
        assert event_kinds(database, registered["user"]["id"]) == ["REGISTERED"]
