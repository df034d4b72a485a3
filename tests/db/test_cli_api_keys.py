"""Operator commands on API keys, on every backend: api-keys lists live keys by their prefix
(never a secret), revoke-api-key takes one out of use at its next request and tells its
owner, and an id that names no live key ends in one line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx

from gql_auth.core.models import utcnow
from tests.support.api_keys import REVOKE_API_KEY, api_key_rows, create_api_key, update_api_key
from tests.support.cli import assert_one_line_failure, call_cli
from tests.support.helpers import (
    ME,
    SqlDatabase,
    assert_error,
    data_of,
    event_kinds,
    gql,
    register,
)
from tests.support.mailbox import smtp_server
from tests.support.servers import server_environment

KEY_REVOKED = "An API key was revoked"


class TestApiKeysCommand:
    async def test_lists_live_keys_by_prefix_and_never_a_secret(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        alice, bob = await register(client, "alice_keys"), await register(client, "bob_keys")
        live = await create_api_key(client, alice["accessToken"], ["profile:read"], name="deploy")
        other = await create_api_key(
            client, bob["accessToken"], ["organizations:read"], name="sync"
        )
        revoked = await create_api_key(client, alice["accessToken"], ["profile:read"], name="old")
        expired = await create_api_key(
            client, bob["accessToken"], ["profile:read"], name="gone", expires_in_days=1
        )
        data_of(
            await gql(
                client, REVOKE_API_KEY, {"id": revoked["apiKey"]["id"]}, token=alice["accessToken"]
            ),
            "revokeApiKey",
        )
        update_api_key(
            database, expired["apiKey"]["id"], expires_at=utcnow() - timedelta(seconds=1)
        )

        result = call_cli("api-keys", cwd=tmp_path, env={"DATABASE_URL": database.url})

        assert result.returncode == 0, result.stderr
        header, *rows, total = result.stdout.strip().splitlines()
        assert header.split()[:3] == ["ID", "USER", "PREFIX"]
        assert total == "2 key(s)"
        by_id = {row.split()[0]: row for row in rows}
        assert set(by_id) == {live["apiKey"]["id"], other["apiKey"]["id"]}  # no dead key
        for key, username, name in ((live, "alice_keys", "deploy"), (other, "bob_keys", "sync")):
            row = by_id[key["apiKey"]["id"]]
            assert username in row and key["apiKey"]["prefix"] in row and name in row
        for key in (live, other, revoked, expired):
            assert key["secret"][8:] not in result.stdout + result.stderr
        for stored in api_key_rows(database):  # nor what a request's lookup goes by
            assert stored["secret_hash"] not in result.stdout

    def test_no_keys_is_an_empty_list(self, database: SqlDatabase, tmp_path: Path) -> None:
        result = call_cli("api-keys", cwd=tmp_path, env={"DATABASE_URL": database.url})

        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith("0 key(s)")


class TestRevokeApiKeyCommand:
    async def test_the_key_stops_working_and_the_event_is_the_owner_s(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])
        sibling = await create_api_key(client, owner["accessToken"], ["profile:read"])
        data_of(await gql(client, ME, token=created["secret"]), "me")

        result = call_cli(
            "revoke-api-key",
            created["apiKey"]["id"],
            cwd=tmp_path,
            env={"DATABASE_URL": database.url},
        )

        assert result.returncode == 0, result.stderr
        assert created["apiKey"]["id"] in result.stdout
        assert_error(
            await gql(client, ME, token=created["secret"]),
            "UNAUTHENTICATED",
            reason="TOKEN_REVOKED",
        )
        assert data_of(await gql(client, ME, token=sibling["secret"]), "me")
        assert "API_KEY_REVOKED" in event_kinds(database, owner["user"]["id"])

    async def test_the_owner_hears_of_it(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        owner = await register(client)
        database.update_user(owner["user"]["id"], email_verified=True)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])

        with smtp_server() as inbox:
            environment = server_environment(
                database.url,
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=str(inbox.port),
                SMTP_STARTTLS="false",
            )
            done = call_cli(
                "revoke-api-key", created["apiKey"]["id"], cwd=tmp_path, env=environment
            )

        assert done.returncode == 0, done.stderr
        (message,) = inbox.messages
        assert message["To"] == owner["user"]["email"]
        assert message["Subject"] == KEY_REVOKED
        assert created["secret"] not in str(message.get_content())

    async def test_an_unknown_or_already_revoked_id_fails_in_one_line(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        owner = await register(client)
        created = await create_api_key(client, owner["accessToken"], ["profile:read"])
        env = {"DATABASE_URL": database.url}
        key_id = created["apiKey"]["id"]
        assert call_cli("revoke-api-key", key_id, cwd=tmp_path, env=env).returncode == 0

        again = call_cli("revoke-api-key", key_id, cwd=tmp_path, env=env)
        unknown = call_cli("revoke-api-key", "999999", cwd=tmp_path, env=env)

        assert key_id in assert_one_line_failure(again)
        assert "999999" in assert_one_line_failure(unknown)
        assert event_kinds(database, owner["user"]["id"]).count("API_KEY_REVOKED") == 1

    def test_an_id_that_is_no_number_is_a_usage_error(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        result = call_cli(
            "revoke-api-key", "gqa_abc", cwd=tmp_path, env={"DATABASE_URL": database.url}
        )

        assert result.returncode == 2
        assert "Traceback" not in result.stderr
