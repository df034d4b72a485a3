"""The `gql-auth` commands that work on a database (migrate, create-admin, set-role), called
in-process on every backend: migrations, uniqueness and lookups in any case. The real
console script's settings errors and other commands are in tests/system/test_cli.py."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.support.cli import assert_one_line_failure, call_cli
from tests.support.helpers import (
    ADMIN_DASHBOARD,
    STRONG_PASSWORD,
    UNREACHABLE_DATABASE_URLS,
    SqlDatabase,
    data_of,
    gql,
    login,
    register,
    register_admin,
)


class TestMigrate:
    def test_migrate_creates_the_tables_in_a_fresh_sqlite_file(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"

        result = call_cli("migrate", cwd=tmp_path, env={"DATABASE_URL": url})

        assert result.returncode == 0, result.stderr
        engine = sa.create_engine(url)
        try:
            tables = set(sa.inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert {"users", "sessions", "security_events", "alembic_version"} <= tables

    def test_migrate_twice_is_harmless(self, database: SqlDatabase, tmp_path: Path) -> None:
        result = call_cli("migrate", cwd=tmp_path, env={"DATABASE_URL": database.url})

        assert result.returncode == 0, result.stderr

    @pytest.mark.parametrize(
        "database_url", UNREACHABLE_DATABASE_URLS.values(), ids=UNREACHABLE_DATABASE_URLS.keys()
    )
    def test_migrate_against_an_unreachable_database_fails_in_one_line(
        self, tmp_path: Path, database_url: str
    ) -> None:
        result = call_cli("migrate", cwd=tmp_path, env={"DATABASE_URL": database_url})

        line = assert_one_line_failure(result)
        assert "database" in line.lower()


class TestCreateAdmin:
    async def test_create_admin_reads_the_password_from_stdin_and_the_admin_can_sign_in(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        result = call_cli(
            *("create-admin", "--username", "root_admin", "--email", "Root@Example.com"),
            cwd=tmp_path,
            env={"DATABASE_URL": database.url},
            stdin=STRONG_PASSWORD + "\n",
        )

        assert result.returncode == 0, result.stderr
        row = database.user_row("root_admin")
        assert row["role"] == "ADMIN"
        assert row["email"] == "root@example.com"
        assert row["password_hash"].startswith("$argon2id$")
        admin = await login(client, "root_admin")
        dashboard = await gql(client, ADMIN_DASHBOARD, token=admin["accessToken"])
        assert data_of(dashboard, "adminDashboard")["totalUsers"] == 1

    def test_create_admin_twice_fails_in_one_line_saying_it_exists(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        arguments = ("create-admin", "--username", "twice", "--email", "twice@example.com")
        env = {"DATABASE_URL": database.url}
        first = call_cli(*arguments, cwd=tmp_path, env=env, stdin=STRONG_PASSWORD + "\n")
        assert first.returncode == 0, first.stderr

        second = call_cli(*arguments, cwd=tmp_path, env=env, stdin=STRONG_PASSWORD + "\n")

        line = assert_one_line_failure(second)
        assert "exists" in line
        assert database.count("users") == 1

    @pytest.mark.parametrize(
        ("stdin", "expected"),
        [("", "password"), ("password123\n", "password")],
        ids=["no-password", "common-password"],
    )
    def test_create_admin_with_a_bad_password_fails_in_one_line(
        self, database: SqlDatabase, tmp_path: Path, stdin: str, expected: str
    ) -> None:
        result = call_cli(
            *("create-admin", "--username", "weak", "--email", "weak@example.com"),
            cwd=tmp_path,
            env={"DATABASE_URL": database.url},
            stdin=stdin,
        )

        line = assert_one_line_failure(result)
        assert expected in line.lower()
        assert database.count("users") == 0


class TestSetRole:
    async def test_set_role_finds_the_user_by_name_in_any_case(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        await register(client, "bob")

        result = call_cli(
            "set-role", "BOB", "admin", cwd=tmp_path, env={"DATABASE_URL": database.url}
        )

        assert result.returncode == 0, result.stderr
        assert database.user_row("bob")["role"] == "ADMIN"

    async def test_set_role_finds_the_user_by_email_and_demotes(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        await register_admin(client, database)  # carl is not the last admin, so may be demoted
        payload = await register(client, "carl", "carl@example.com")
        database.update_user(payload["user"]["id"], role="ADMIN")

        result = call_cli(
            "set-role", "CARL@Example.com", "USER", cwd=tmp_path, env={"DATABASE_URL": database.url}
        )

        assert result.returncode == 0, result.stderr
        assert database.user_row("carl")["role"] == "USER"

    def test_set_role_on_nobody_fails_in_one_line(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        result = call_cli(
            "set-role", "nobody", "admin", cwd=tmp_path, env={"DATABASE_URL": database.url}
        )

        line = assert_one_line_failure(result)
        assert "nobody" in line

    def test_set_role_with_an_unknown_role_fails_without_a_traceback(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        result = call_cli(
            "set-role", "bob", "superuser", cwd=tmp_path, env={"DATABASE_URL": database.url}
        )

        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert "superuser" in result.stderr
