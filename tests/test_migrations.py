"""Migrations: up, down and up again on a fresh database, ending exactly at the models."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from alembic import command
from gql_auth.db import sync_url
from gql_auth.models import Base
from tests.conftest import Backend, alembic_config


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
