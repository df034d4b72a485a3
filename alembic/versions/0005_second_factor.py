"""second factor: TOTP secrets, recovery codes, MFA challenges, and sessions.amr

totp_credentials holds one row per user: the encrypted secret in force, one
waiting for confirmTotp, and last_step, the replay marker (the newest time
step accepted). recovery_codes and mfa_challenges keep only SHA-256 hashes.
sessions.amr records how each sign-in was proved; sessions opened before
this migration were password sign-ins, so they get "pwd".

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types: a migration must not change when models.py does.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _user_id(**options: bool) -> sa.Column[int]:
    return sa.Column(
        "user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, **options
    )


def upgrade() -> None:
    op.create_table(
        "totp_credentials",
        _user_id(primary_key=True),
        sa.Column("secret", sa.String(255), nullable=True),
        sa.Column("enabled_at", TIMESTAMP, nullable=True),
        sa.Column("pending_secret", sa.String(255), nullable=True),
        sa.Column("pending_since", TIMESTAMP, nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        mysql_charset="utf8mb4",
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        _user_id(),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.Index("ix_recovery_codes_user_hash", "user_id", "code_hash"),
        mysql_charset="utf8mb4",
    )
    op.create_table(
        "mfa_challenges",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        _user_id(index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("password_fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        mysql_charset="utf8mb4",
    )
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(
            sa.Column("amr", sa.String(64), nullable=False, server_default="pwd"),
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("amr")
    op.drop_table("mfa_challenges")
    op.drop_table("recovery_codes")
    op.drop_table("totp_credentials")
