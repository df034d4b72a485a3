"""Migrations: up, down and up again on a fresh database, ending exactly at the models."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from gql_auth.core.database import sync_url
from gql_auth.tables import Base
from tests.support.databases import Backend, alembic_config


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_migrations_upgrade_downgrade_and_upgrade_again(backend: Backend, tmp_path: Path) -> None:
    with backend.empty_database(tmp_path) as url:
        config = alembic_config(url)
        engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
        try:
            command.upgrade(config, "head")
            assert {table.name for table in Base.metadata.sorted_tables} <= _tables(engine)

            command.downgrade(config, "base")
            assert _tables(engine) <= {"alembic_version"}

            command.upgrade(config, "head")
            with engine.connect() as connection:
                context = MigrationContext.configure(connection)
                current = context.get_current_heads()
                differences = compare_metadata(context, Base.metadata)
        finally:
            engine.dispose()

    assert set(current) == set(ScriptDirectory.from_config(config).get_heads())
    assert differences == []


def test_migrations_form_a_single_line_of_history() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))

    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1


def _users_at_0003(engine: sa.Engine, emails: list[str]) -> None:
    users = sa.table(
        "users",
        *(sa.column(name) for name in ("id", "username", "username_key", "email")),
        *(sa.column(name) for name in ("password_hash", "role", "is_active", "email_verified")),
        sa.column("created_at"),
    )
    with engine.begin() as connection:
        for number, email in enumerate(emails, start=1):
            connection.execute(
                sa.insert(users).values(
                    id=number,
                    username=f"user{number}",
                    username_key=f"user{number}",
                    email=email,
                    password_hash="x",
                    role="USER",
                    is_active=True,
                    email_verified=False,
                    created_at=datetime(2026, 1, 1),
                )
            )


class TestEmailKeyMigration:
    """0004 keys existing rows in Python, and survives rows that now collide."""

    def test_existing_rows_get_their_key_and_later_collisions_a_marker(
        self, backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        # Distinct under 0003 on both backends (utf8mb4_general_ci tells fullwidth from
        # ASCII), equal under the new key; and an address that older rules let through.
        emails = ["jose@example.com", "\uff4a\uff4f\uff53\uff45@example.com", "Not An Address"]
        with backend.empty_database(tmp_path) as url:
            config = alembic_config(url)
            engine = sa.create_engine(sync_url(url), poolclass=sa.pool.NullPool)
            try:
                command.upgrade(config, "0003")
                _users_at_0003(engine, emails)
                with engine.begin() as connection:
                    connection.execute(
                        sa.text(
                            "INSERT INTO security_events (user_id, kind, at) "
                            "VALUES (1, 'REGISTERED', '2026-01-01 00:00:00')"
                        )
                    )

                command.upgrade(config, "head")

                with engine.connect() as connection:
                    rows = connection.execute(
                        sa.text("SELECT id, email, email_key, pending_email FROM users ORDER BY id")
                    ).all()
                    # SQLite rebuilds users in batch mode: rows that point at it must survive.
                    events = connection.execute(
                        sa.text("SELECT user_id, kind FROM security_events")
                    ).all()
            finally:
                engine.dispose()

        assert [tuple(row) for row in rows] == [
            (1, "jose@example.com", "jose@example.com", None),
            (2, emails[1], "duplicate:2", None),
            (3, "Not An Address", "not an address", None),
        ]
        assert [tuple(event) for event in events] == [(1, "REGISTERED")]
        assert "user 2: address collides" in caplog.text

    def test_the_keys_compare_byte_for_byte_on_mysql(self, backend: Backend) -> None:
        if backend.name != "mariadb":
            pytest.skip("SQLite compares strings byte for byte (BINARY) already")
        assert backend.engine is not None
        with backend.engine.connect() as connection:
            collations: dict[str, str] = dict(
                connection.execute(
                    sa.text(
                        "SELECT column_name, collation_name FROM information_schema.columns "
                        "WHERE table_schema = DATABASE() AND table_name = 'users' "
                        "AND column_name IN ('email_key', 'username_key')"
                    )
                ).all()
            )

        assert collations == {"email_key": "utf8mb4_bin", "username_key": "utf8mb4_bin"}
