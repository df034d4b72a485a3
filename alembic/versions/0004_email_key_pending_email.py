"""one normalized e-mail key under a binary collation, and pending e-mail changes

users.email_key holds NFKC + casefold of the address and carries the unique
index that users.email had, so uniqueness no longer depends on a backend's
collation (MariaDB's utf8mb4_*_ci made "josé" equal "jose", SQLite did not).
username_key moves to utf8mb4_bin on MySQL/MariaDB for the same reason.

Existing rows whose addresses now share one key (e.g. "jose@" and fullwidth
"ｊｏｓｅ@" were distinct before, on both backends): the oldest account keeps the
key; each later one gets "duplicate:<id>", which no address can produce. Those
accounts still sign in by username; an operator should give them a new address.
The migration logs their ids.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.dialects import mysql, postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")

EMAIL_MAX = 254
# Names for the unnamed UNIQUE constraints SQLite reflects, so batch mode can drop them.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


# Frozen copies of the model types and of validation.email_key: a migration must not
# change when the code does.
def key_string(length: int) -> sa.types.TypeEngine[str]:
    return (
        sa.String(length)
        .with_variant(
            mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
        )
        .with_variant(postgresql.VARCHAR(length, collation="C"), "postgresql")
    )


def email_key(stored: str) -> str:
    try:
        address = validate_email(stored.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        address = stored.strip()  # written by older rules; keyed as lookups key such input
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", address).casefold())
    return folded[:EMAIL_MAX]


def _is_mysql() -> bool:
    return op.get_bind().dialect.name in {"mysql", "mariadb"}


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _email_unique() -> str:
    """The name 0001's unnamed UNIQUE on users.email got: MySQL names it after the column,
    PostgreSQL after table and column, SQLite through NAMING."""
    return {"mysql": "email", "mariadb": "email", "postgresql": "users_email_key"}.get(
        op.get_bind().dialect.name, "uq_users_email"
    )


def _backfill() -> None:
    users = sa.table("users", sa.column("id", sa.BigInteger()), sa.column("email", sa.String(254)))
    keyed = sa.table("users", sa.column("id", sa.BigInteger()), sa.column("email_key", sa.String()))
    connection = op.get_bind()
    taken: set[str] = set()
    for user_id, email in connection.execute(sa.select(users.c.id, users.c.email).order_by("id")):
        key = email_key(email)
        if key in taken:
            logger.warning(
                "user %s: address collides with an older account under the normalized key; "
                "its e-mail sign-in and reset are off until it gets a new address",
                user_id,
            )
            key = f"duplicate:{user_id}"
        taken.add(key)
        connection.execute(sa.update(keyed).where(keyed.c.id == user_id).values(email_key=key))


def upgrade() -> None:
    with op.batch_alter_table("users", naming_convention=NAMING) as batch:
        batch.add_column(sa.Column("email_key", key_string(EMAIL_MAX), nullable=True))
        batch.add_column(sa.Column("pending_email", sa.String(EMAIL_MAX), nullable=True))
    _backfill()
    with op.batch_alter_table("users", naming_convention=NAMING) as batch:
        batch.alter_column("email_key", existing_type=key_string(EMAIL_MAX), nullable=False)
        batch.create_unique_constraint("uq_users_email_key", ["email_key"])
        # MySQL names a column's unnamed UNIQUE after the column; SQLite through NAMING.
        batch.drop_constraint(_email_unique(), type_="unique")
        if _is_mysql() or _is_postgresql():
            batch.alter_column("username_key", existing_nullable=False, type_=key_string(32))


def downgrade() -> None:
    with op.batch_alter_table("users", naming_convention=NAMING) as batch:
        if _is_mysql() or _is_postgresql():
            # No collation given: back to the table's default, as 0001 made it.
            batch.alter_column("username_key", existing_nullable=False, type_=sa.String(32))
        batch.create_unique_constraint(_email_unique(), ["email"])
        batch.drop_constraint("uq_users_email_key", type_="unique")
        batch.drop_column("pending_email")
        batch.drop_column("email_key")
