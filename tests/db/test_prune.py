"""`gql-auth prune`: expired sessions, retired refresh tokens whose session is gone, and security
events older than SECURITY_EVENT_RETENTION_DAYS (issue 11, item 9). Run as a real process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.support.cli import CliResult, assert_one_line_failure, call_cli
from tests.support.helpers import (
    SqlDatabase,
    assert_error,
    data_of,
    login,
    refresh,
    register,
    session_id_of,
)
from tests.support.mfa import mfa_token, user_with_totp


def prune(database: SqlDatabase, tmp_path: Path, **env: str) -> CliResult:
    result = call_cli("prune", cwd=tmp_path, env={"DATABASE_URL": database.url, **env})
    assert result.returncode == 0, result.stderr
    return result


def deleted(result: CliResult) -> dict[str, int]:
    """{"expired sessions": 2, ...} from the lines `deleted N <what>`."""
    counts = {}
    for line in result.stdout.splitlines():
        _deleted, count, what = line.split(" ", 2)
        counts[what.split(" of ")[0].split(" older ")[0]] = int(count)
    return counts


def age_events(database: SqlDatabase, user_id: str, days: float) -> None:
    """Moves every event of the user `days` into the past."""
    events = database.table("security_events")
    with database.engine.begin() as connection:
        connection.execute(
            sa.update(events)
            .where(events.c.user_id == int(user_id))
            .values(at=datetime.now(UTC) - timedelta(days=days))
        )


def orphan_retired_token(database: SqlDatabase) -> None:
    """A retired token whose session row is gone, as a connection without foreign keys leaves."""
    row = {"token_hash": "f" * 64, "session_id": "gone", "retired_at": datetime.now(UTC)}
    # SQLite's default is no foreign keys; the servers are told to skip their checks.
    checks_off, checks_on = {
        "mysql": ("SET SESSION foreign_key_checks = 0", "SET SESSION foreign_key_checks = 1"),
        "postgresql": (
            "SET session_replication_role = replica",  # no triggers: no foreign keys
            "SET session_replication_role = DEFAULT",
        ),
    }.get(database.engine.dialect.name, ("", ""))
    with database.engine.begin() as connection:
        if checks_off:
            connection.execute(sa.text(checks_off))
        connection.execute(sa.insert(database.table("retired_refresh_tokens")), row)
        if checks_on:
            connection.execute(sa.text(checks_on))


async def rotated_session(client: httpx.AsyncClient, username: str) -> dict[str, Any]:
    """A session signed in and refreshed twice: two retired refresh tokens."""
    first = await login(client, username)
    second = data_of(await refresh(client, first["refreshToken"]), "refreshToken")
    third = data_of(await refresh(client, second["refreshToken"]), "refreshToken")
    return {"first": first, "latest": third, "id": session_id_of(first)}


class TestPrune:
    async def test_prune_deletes_what_is_gone_or_old_and_says_how_much(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        old_user = await register(client, "olduser")
        recent_user = await register(client, "recentuser")
        expired = await rotated_session(client, "olduser")
        live = await rotated_session(client, "recentuser")
        database.update_session(expired["id"], expires_at=datetime.now(UTC) - timedelta(days=1))
        orphan_retired_token(database)
        age_events(database, old_user["user"]["id"], days=91)
        age_events(database, recent_user["user"]["id"], days=89)
        old_id = int(old_user["user"]["id"])
        old_events = sum(row["user_id"] == old_id for row in database.rows("security_events"))
        assert old_events >= 4  # registered, signed in, refreshed twice

        result = prune(database, tmp_path)

        assert deleted(result) == {
            "expired sessions": 1,
            "retired refresh tokens": 3,  # two of the expired session, one orphan
            "security events": old_events,
            "expired mfa tokens": 0,
            "expired states": 0,
            "expired invitations": 0,
            "API keys": 0,
            "webhook events": 0,
        }
        assert "older than 90 days" in result.stdout
        remaining = {row["session_id"] for row in database.rows("retired_refresh_tokens")}
        assert remaining == {live["id"]}
        assert {row["user_id"] for row in database.rows("security_events")} == {
            int(recent_user["user"]["id"])
        }
        # The live session's retired tokens still catch a replay.
        assert_error(
            await refresh(client, live["first"]["refreshToken"]),
            "UNAUTHENTICATED",
            reason="TOKEN_REVOKED",
        )

    async def test_the_retention_is_a_setting(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        registered = await register(client)
        age_events(database, registered["user"]["id"], days=8)

        kept = prune(database, tmp_path, SECURITY_EVENT_RETENTION_DAYS="9")
        assert deleted(kept)["security events"] == 0
        assert database.count("security_events") == 1

        result = prune(database, tmp_path, SECURITY_EVENT_RETENTION_DAYS="7")

        assert deleted(result)["security events"] == 1
        assert "older than 7 days" in result.stdout
        assert database.count("security_events") == 0

    def test_prune_of_an_empty_database_deletes_nothing(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        result = prune(database, tmp_path)

        assert deleted(result) == {
            "expired sessions": 0,
            "retired refresh tokens": 0,
            "security events": 0,
            "expired mfa tokens": 0,
            "expired states": 0,
            "expired invitations": 0,
            "API keys": 0,
            "webhook events": 0,
        }

    async def test_mfa_tokens_of_unfinished_sign_ins_go_once_expired(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        payload, _, _ = await user_with_totp(client)
        name = payload["user"]["username"]
        await mfa_token(client, name)
        await mfa_token(client, name)
        challenges = database.table("mfa_challenges")
        oldest = min(row["id"] for row in database.rows("mfa_challenges"))
        with database.engine.begin() as connection:
            connection.execute(
                challenges.update()
                .where(challenges.c.id == oldest)
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )

        result = prune(database, tmp_path)

        assert deleted(result)["expired mfa tokens"] == 1
        assert [row["id"] for row in database.rows("mfa_challenges")] != [oldest]
        assert database.count("mfa_challenges") == 1

    def test_states_of_unfinished_social_sign_ins_go_once_expired(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        now = datetime.now(UTC)
        states = [
            {
                "state_hash": name * 64,
                "purpose": "SIGN_IN",
                "provider": "acme",
                "redirect_uri": "https://app.example/cb",
                "code_verifier": "v" * 64,
                "nonce": "n" * 32,
                "created_at": now - timedelta(minutes=11),
                "expires_at": now + offset,
            }
            for name, offset in (("a", -timedelta(minutes=1)), ("b", timedelta(minutes=9)))
        ]
        with database.engine.begin() as connection:
            connection.execute(sa.insert(database.table("social_states")), states)

        result = prune(database, tmp_path)

        assert deleted(result)["expired states"] == 1
        assert [row["state_hash"] for row in database.rows("social_states")] == ["b" * 64]

    def test_expired_invitations_go_and_live_ones_stay(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        now = datetime.now(UTC)
        organization = {"name": "Acme", "slug": "acme", "created_at": now - timedelta(days=8)}
        invitations = [
            {
                "email": f"{name}@example.com",
                "email_key": f"{name}@example.com",
                "role": "MEMBER",
                "token_hash": name * 64,
                "created_at": now - timedelta(days=7, minutes=1),
                "expires_at": now + offset,
            }
            for name, offset in (("a", -timedelta(minutes=1)), ("b", timedelta(days=6)))
        ]
        with database.engine.begin() as connection:
            inserted = connection.execute(sa.insert(database.table("organizations")), organization)
            assert inserted.inserted_primary_key is not None
            (organization_id,) = inserted.inserted_primary_key
            connection.execute(
                sa.insert(database.table("invitations")),
                [{**row, "organization_id": organization_id} for row in invitations],
            )

        result = prune(database, tmp_path)

        assert deleted(result)["expired invitations"] == 1
        assert [row["token_hash"] for row in database.rows("invitations")] == ["b" * 64]
        assert database.count("organizations") == 1  # only the invitation goes

    async def test_api_keys_ended_longer_ago_than_the_retention_go(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        owner = await register(client)
        now = datetime.now(UTC)
        ended = {
            "long revoked": {"revoked_at": now - timedelta(days=91)},
            "long expired": {"expires_at": now - timedelta(days=91)},
            "lately revoked": {"revoked_at": now - timedelta(days=89)},
            "live": {"expires_at": now + timedelta(days=1)},
            "forever": {},
        }
        with database.engine.begin() as connection:
            connection.execute(
                sa.insert(database.table("api_keys")),
                [
                    {
                        "user_id": int(owner["user"]["id"]),
                        "name": name,
                        "prefix": "gqa_abcd",
                        "secret_hash": str(number) * 64,
                        "scopes": "profile:read",
                        "created_with_factor": False,
                        "created_at": now - timedelta(days=100),
                        "revoked_at": None,
                        "expires_at": None,
                        **times,
                    }
                    for number, (name, times) in enumerate(ended.items())
                ],
            )

        result = prune(database, tmp_path)

        assert deleted(result)["API keys"] == 2
        assert sorted(row["name"] for row in database.rows("api_keys")) == [
            "forever",
            "lately revoked",
            "live",
        ]

    @pytest.mark.parametrize("days", ["0", "-1", "soon"])
    def test_a_bad_retention_fails_in_one_line_naming_it(
        self, database: SqlDatabase, tmp_path: Path, days: str
    ) -> None:
        result = call_cli(
            "prune",
            cwd=tmp_path,
            env={"DATABASE_URL": database.url, "SECURITY_EVENT_RETENTION_DAYS": days},
        )

        assert "SECURITY_EVENT_RETENTION_DAYS" in assert_one_line_failure(result)
