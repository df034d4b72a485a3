"""The `gql-auth` command, run as an operator would: a real process, environment settings."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from gql_auth.graphql.schema import export_sdl
from tests.helpers import (
    ADMIN_DASHBOARD,
    SECRET_KEY,
    STRONG_PASSWORD,
    UNREACHABLE_DATABASE_URLS,
    SqlDatabase,
    data_of,
    gql,
    login,
    register,
    register_admin,
)
from tests.keys import write_key_pair

GQL_AUTH = Path(sys.executable).parent / "gql-auth"
SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def run_cli(
    *args: str,
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Runs gql-auth with a clean environment: only what the test passes, plus PATH."""
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cwd),
        "LANG": "C.UTF-8",
        "SECRET_KEY": SECRET_KEY,
        "ARGON2_MEMORY_COST": "1024",
        "ARGON2_TIME_COST": "1",
        "ARGON2_PARALLELISM": "1",
    }
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return subprocess.run(
        [str(GQL_AUTH), *args],
        cwd=cwd,
        env=environment,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_line_failure(result: subprocess.CompletedProcess[str]) -> str:
    """Exit status 1 and a single readable line on stderr, never a traceback."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


class TestMigrate:
    def test_migrate_creates_the_tables_in_a_fresh_sqlite_file(self, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"

        result = run_cli("migrate", cwd=tmp_path, env={"DATABASE_URL": url})

        assert result.returncode == 0, result.stderr
        engine = sa.create_engine(url)
        try:
            tables = set(sa.inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert {"users", "sessions", "security_events", "alembic_version"} <= tables

    def test_migrate_twice_is_harmless(self, database: SqlDatabase, tmp_path: Path) -> None:
        result = run_cli("migrate", cwd=tmp_path, env={"DATABASE_URL": database.url})

        assert result.returncode == 0, result.stderr

    @pytest.mark.parametrize(
        "database_url", UNREACHABLE_DATABASE_URLS.values(), ids=UNREACHABLE_DATABASE_URLS.keys()
    )
    def test_migrate_against_an_unreachable_database_fails_in_one_line(
        self, tmp_path: Path, database_url: str
    ) -> None:
        result = run_cli("migrate", cwd=tmp_path, env={"DATABASE_URL": database_url})

        line = assert_one_line_failure(result)
        assert "database" in line.lower()


class TestCreateAdmin:
    async def test_create_admin_reads_the_password_from_stdin_and_the_admin_can_sign_in(
        self, client: httpx.AsyncClient, database: SqlDatabase, tmp_path: Path
    ) -> None:
        result = run_cli(
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
        first = run_cli(*arguments, cwd=tmp_path, env=env, stdin=STRONG_PASSWORD + "\n")
        assert first.returncode == 0, first.stderr

        second = run_cli(*arguments, cwd=tmp_path, env=env, stdin=STRONG_PASSWORD + "\n")

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
        result = run_cli(
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

        result = run_cli(
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

        result = run_cli(
            "set-role", "CARL@Example.com", "USER", cwd=tmp_path, env={"DATABASE_URL": database.url}
        )

        assert result.returncode == 0, result.stderr
        assert database.user_row("carl")["role"] == "USER"

    def test_set_role_on_nobody_fails_in_one_line(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        result = run_cli(
            "set-role", "nobody", "admin", cwd=tmp_path, env={"DATABASE_URL": database.url}
        )

        line = assert_one_line_failure(result)
        assert "nobody" in line

    def test_set_role_with_an_unknown_role_fails_without_a_traceback(
        self, database: SqlDatabase, tmp_path: Path
    ) -> None:
        result = run_cli(
            "set-role", "bob", "superuser", cwd=tmp_path, env={"DATABASE_URL": database.url}
        )

        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert "superuser" in result.stderr


class TestSettingsErrors:
    def test_a_malformed_setting_fails_in_one_line_naming_it(self, tmp_path: Path) -> None:
        result = run_cli(
            "migrate",
            cwd=tmp_path,
            env={
                "ACCESS_TOKEN_EXPIRE_MINUTES": "abc",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            },
        )

        line = assert_one_line_failure(result)
        assert "ACCESS_TOKEN_EXPIRE_MINUTES" in line
        assert not (tmp_path / "x.db").exists()

    def test_a_malformed_setting_in_a_dotenv_file_fails_in_one_line(self, tmp_path: Path) -> None:
        (tmp_path / ".env").write_text("RATE_LIMIT_LOGIN_IP=lots\n")

        result = run_cli(
            "migrate", cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
        )

        line = assert_one_line_failure(result)
        assert "RATE_LIMIT_LOGIN_IP" in line

    def test_production_without_a_secret_key_fails_in_one_line(self, tmp_path: Path) -> None:
        result = run_cli(
            "migrate",
            cwd=tmp_path,
            env={
                "ENVIRONMENT": "production",
                "SECRET_KEY": None,
                "ARGON2_MEMORY_COST": None,
                "ARGON2_TIME_COST": None,
                "ARGON2_PARALLELISM": None,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            },
        )

        line = assert_one_line_failure(result)
        assert "SECRET_KEY" in line

    def test_serve_in_production_with_a_key_file_but_no_secret_key_fails_in_one_line(
        self, tmp_path: Path
    ) -> None:
        """ES256 signs with the key file, but TOTP encryption and passkey decoys need SECRET_KEY."""
        key = write_key_pair(tmp_path, "signing", "ES256")

        result = run_cli(
            "serve",
            "--port",
            "0",
            cwd=tmp_path,
            env={
                "ENVIRONMENT": "production",
                "SECRET_KEY": None,
                "JWT_ALGORITHM": "ES256",
                "JWT_PRIVATE_KEY_FILE": str(key.private_file),
                "ARGON2_MEMORY_COST": None,
                "ARGON2_TIME_COST": None,
                "ARGON2_PARALLELISM": None,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            },
            timeout=30,  # the old code served here, never returning
        )

        line = assert_one_line_failure(result)
        assert "SECRET_KEY must be set" in line
        written = sorted(path.name for path in tmp_path.iterdir())
        assert written == ["signing.pem", "signing.pub.pem"]

    def test_a_secret_key_is_never_echoed_in_the_error(self, tmp_path: Path) -> None:
        result = run_cli("migrate", cwd=tmp_path, env={"SECRET_KEY": "too-short-secret"})

        line = assert_one_line_failure(result)
        assert "SECRET_KEY" in line
        assert "too-short-secret" not in result.stderr

    async def test_set_role_against_an_unreachable_database_fails_in_one_line(
        self, tmp_path: Path
    ) -> None:
        result = run_cli(
            "set-role",
            "bob",
            "admin",
            cwd=tmp_path,
            env={"DATABASE_URL": UNREACHABLE_DATABASE_URLS["mysql-closed-port"]},
        )

        assert_one_line_failure(result)


class TestOtherCommands:
    def test_gen_secret_prints_a_new_256_bit_url_safe_secret(self, tmp_path: Path) -> None:
        first = run_cli("gen-secret", cwd=tmp_path)
        second = run_cli("gen-secret", cwd=tmp_path)

        assert first.returncode == 0, first.stderr
        secret = first.stdout.strip()
        assert len(secret) == 43
        assert len(base64.urlsafe_b64decode(secret + "=")) == 32
        assert secret != second.stdout.strip()

    def test_export_schema_prints_the_committed_schema(self, tmp_path: Path) -> None:
        result = run_cli("export-schema", cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        assert result.stdout == export_sdl()
        assert result.stdout == SCHEMA_FILE.read_text()

    def test_export_schema_writes_the_file_given(self, tmp_path: Path) -> None:
        result = run_cli("export-schema", "--output", "out.graphql", cwd=tmp_path)

        assert result.returncode == 0, result.stderr
        assert (tmp_path / "out.graphql").read_text() == export_sdl()

    def test_the_console_script_needs_no_settings_to_show_help(self, tmp_path: Path) -> None:
        result = run_cli("--help", cwd=tmp_path, env={"SECRET_KEY": None})

        assert result.returncode == 0
        for command in ("serve", "migrate", "create-admin", "set-role", "export-schema"):
            assert command in result.stdout
