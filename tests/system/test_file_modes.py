"""Files gql-auth creates are private (0600), and a key file others could read is refused
(issue 11, item 14). Run through the real commands, as an operator would."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest

from tests.support.cli import assert_one_line_failure, run_cli
from tests.support.databases import migrate
from tests.support.helpers import make_settings, running_app
from tests.support.servers import ServerProcess, server_environment

KEY_FILE = ".gql_auth_secret"  # the default SECRET_KEY_FILE, beside the working directory
READABLE_KEY = "a-perfectly-long-key-that-others-could-read-0123456789"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def sqlite_files(database: Path) -> list[Path]:
    """The database and whichever of its WAL companions exist."""
    candidates = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    return [path for path in candidates if path.exists()]


@pytest.fixture(autouse=True)
def _usual_umask() -> object:
    """The common default umask: it is what made these files world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


class TestSqliteDatabaseFile:
    def test_migrate_creates_the_database_0600(self, tmp_path: Path) -> None:
        database = tmp_path / "fresh.db"

        result = run_cli("migrate", cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{database}"})

        assert result.returncode == 0, result.stderr
        assert database.stat().st_size > 0  # really migrated, not just an empty file
        assert {path.name: mode(path) for path in sqlite_files(database)} == {
            path.name: 0o600 for path in sqlite_files(database)
        }

    def test_alembic_run_directly_creates_the_database_0600(self, tmp_path: Path) -> None:
        database = tmp_path / "alembic.db"

        migrate(f"sqlite:///{database}")  # `alembic upgrade head`, without gql-auth migrate

        assert database.stat().st_size > 0
        assert mode(database) == 0o600

    def test_a_relative_database_url_is_created_0600_in_the_working_directory(
        self, tmp_path: Path
    ) -> None:
        result = run_cli("migrate", cwd=tmp_path, env={"DATABASE_URL": "sqlite:///./here.db"})

        assert result.returncode == 0, result.stderr
        assert mode(tmp_path / "here.db") == 0o600

    async def test_the_app_creates_a_missing_database_0600(self, tmp_path: Path) -> None:
        database = tmp_path / "served.db"

        async with running_app(make_settings(f"sqlite:///{database}")) as client:
            assert (await client.get("/healthz")).status_code == 200

        assert sqlite_files(database)
        for path in sqlite_files(database):
            assert mode(path) == 0o600, path

    def test_an_existing_database_keeps_its_mode(self, tmp_path: Path) -> None:
        database = tmp_path / "shared.db"
        database.touch(mode=0o640)
        database.chmod(0o640)

        result = run_cli("migrate", cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{database}"})

        assert result.returncode == 0, result.stderr
        assert mode(database) == 0o640  # the operator's choice, not ours to change


class TestServeInDevelopment:
    def test_serve_creates_the_key_file_and_the_database_0600(self, tmp_path: Path) -> None:
        database = tmp_path / "dev.db"
        env = server_environment(f"sqlite:///{database}")
        del env["SECRET_KEY"]  # development: the key is generated into KEY_FILE
        server = ServerProcess(env, tmp_path)
        try:
            server.wait_until_healthy()
            assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        finally:
            server.stop()

        key_file = tmp_path / KEY_FILE
        assert len(key_file.read_text().strip()) >= 32
        assert mode(key_file) == 0o600
        for path in sqlite_files(database):
            assert mode(path) == 0o600, path

    def test_serve_warns_about_a_database_others_may_read(self, tmp_path: Path) -> None:
        database = tmp_path / "shared.db"
        database.touch()
        database.chmod(0o644)
        server = ServerProcess(server_environment(f"sqlite:///{database}"), tmp_path)
        try:
            server.wait_until_healthy()
        finally:
            server.stop()

        assert "the SQLite database has mode 0644" in server.log.read_text()
        assert mode(database) == 0o644  # the operator's choice, not ours to change

    @pytest.mark.parametrize(
        ("plant", "expected"),
        [
            ("world-readable", "mode 0644"),
            ("symlink", "symbolic link"),
            ("other-owner", "owned by another user"),
        ],
    )
    def test_serve_refuses_a_key_file_that_is_not_private_in_one_line(
        self, tmp_path: Path, plant: str, expected: str
    ) -> None:
        key_file = tmp_path / KEY_FILE
        target = tmp_path / "target"
        target.write_text(READABLE_KEY + "\n")
        target.chmod(0o600)
        if plant == "world-readable":
            target.rename(key_file)
            key_file.chmod(0o644)
        elif plant == "symlink":
            key_file.symlink_to(target)
        else:
            if os.geteuid() != 0:
                pytest.skip("giving a file to another user needs root")
            target.rename(key_file)
            os.chown(key_file, 65534, 65534)

        # --workers 0 is refused right after the key check: were the key accepted,
        # the command would still end at once (naming --workers), never serve.
        result = run_cli(
            "serve",
            "--workers",
            "0",
            cwd=tmp_path,
            env={"SECRET_KEY": None, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"},
        )

        line = assert_one_line_failure(result)
        assert "SECRET_KEY_FILE" in line
        assert expected in line
        assert READABLE_KEY not in result.stderr + result.stdout
