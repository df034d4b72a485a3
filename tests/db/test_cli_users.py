"""Operator commands on accounts: users, deactivate, activate (and the admin guard)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.cli import assert_one_line_failure, call_cli
from tests.support.helpers import SqlDatabase, assert_error, gql, register, register_admin

ME = "query { me { username } }"


class TestUsersCommand:
    async def test_lists_every_user_with_role_and_state(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        alice = await register(client, "Alice_ops")
        await register(client, "bob_ops")

        result = call_cli("users", cwd=tmp_path, env={"DATABASE_URL": database.url})

        assert result.returncode == 0, result.stderr
        assert "Alice_ops" in result.stdout and "bob_ops" in result.stdout
        assert alice["user"]["email"] in result.stdout
        assert result.stdout.strip().endswith("2 user(s)")

    async def test_filters_by_role_and_by_search_in_any_case(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        admin = await register_admin(client, database)
        await register(client, "carol_ops")
        env = {"DATABASE_URL": database.url}

        admins = call_cli("users", "--role", "ADMIN", cwd=tmp_path, env=env)
        searched = call_cli("users", "--search", "CAROL", cwd=tmp_path, env=env)

        assert admin["user"]["username"] in admins.stdout
        assert "carol_ops" not in admins.stdout
        assert "carol_ops" in searched.stdout
        assert searched.stdout.strip().endswith("1 user(s)")


class TestDeactivateCommand:
    async def test_deactivation_revokes_live_tokens_and_activation_allows_sign_in_again(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        payload = await register(client, "dave_ops")
        env = {"DATABASE_URL": database.url}

        result = call_cli("deactivate", "DAVE_OPS", cwd=tmp_path, env=env)

        assert result.returncode == 0, result.stderr
        refused = await gql(client, ME, token=payload["accessToken"])
        assert_error(refused, "UNAUTHENTICATED", reason="TOKEN_REVOKED")
        assert database.user_row("dave_ops")["is_active"] in (False, 0)
        assert call_cli("activate", "dave_ops", cwd=tmp_path, env=env).returncode == 0
        assert database.user_row("dave_ops")["is_active"] in (True, 1)

    def test_deactivating_nobody_fails_in_one_line(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        result = call_cli("deactivate", "nobody", cwd=tmp_path, env={"DATABASE_URL": database.url})

        assert "nobody" in assert_one_line_failure(result)

    async def test_the_last_active_admin_cannot_be_deactivated_or_demoted(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        admin = await register_admin(client, database)
        name = admin["user"]["username"]
        env = {"DATABASE_URL": database.url}

        deactivate = call_cli("deactivate", name, cwd=tmp_path, env=env)
        demote = call_cli("set-role", name, "user", cwd=tmp_path, env=env)

        assert "last active admin" in assert_one_line_failure(deactivate).lower()
        assert "last active admin" in assert_one_line_failure(demote).lower()
        assert database.user_row(name)["role"] == "ADMIN"
