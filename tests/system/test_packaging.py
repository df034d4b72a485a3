"""The wheel carries the migrations: `gql-auth migrate` works from anywhere after pip install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tests.support.helpers import SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]  # the checkout
MIGRATE = (
    "import sys; sys.argv = ['gql-auth', 'migrate']; "
    "import gql_auth, gql_auth.cli; print(gql_auth.__file__); "
    "print(gql_auth.cli.alembic_directory()); "
    "from gql_auth.cli import main; raise SystemExit(main())"
)


def _run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_an_installed_wheel_migrates_a_database_from_any_directory(tmp_path: Path) -> None:
    dist, site, elsewhere = tmp_path / "dist", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]

    built = _run(*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT))
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("gql_auth-*.whl")
    installed = _run(*pip, "install", "--no-deps", "--target", str(site), str(wheel))
    assert installed.returncode == 0, installed.stdout + installed.stderr

    database = tmp_path / "x.db"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(elsewhere),
        "PYTHONPATH": str(site),
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": SECRET_KEY,
    }
    migrated = _run(sys.executable, "-c", MIGRATE, cwd=elsewhere, env=environment)

    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    package_file, migrations, *_ = migrated.stdout.splitlines()
    assert Path(package_file).is_relative_to(site), "imported the checkout, not the wheel"
    assert Path(migrations) == site / "gql_auth" / "_alembic"
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"users", "sessions", "security_events", "alembic_version"} <= tables
