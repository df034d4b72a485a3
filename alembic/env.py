"""Alembic environment: migrates DATABASE_URL through the sync driver (pymysql/sqlite)."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

from gql_auth.core.database import create_private_sqlite_file, sync_url
from gql_auth.settings import get_settings
from gql_auth.tables import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    # Set by `gql-auth migrate` and the tests; otherwise read like the service does.
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    return sync_url(url).render_as_string(hide_password=False)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    create_private_sqlite_file(url)  # before SQLite creates it 0644, also for plain `alembic`
    connect_args = {"charset": "utf8mb4"} if url.startswith(("mysql", "mariadb")) else {}
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
