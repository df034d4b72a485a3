"""The `gql-auth` console script, run as an operator would: a real process, environment
settings, its exit status and one-line errors. The database commands are in tests/db/test_cli.py."""

from __future__ import annotations

import base64
from pathlib import Path

from gql_auth.graphql.schema import export_sdl
from tests.support.cli import assert_one_line_failure, run_cli
from tests.support.helpers import (
    UNREACHABLE_DATABASE_URLS,
)
from tests.support.keys import write_key_pair

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


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
