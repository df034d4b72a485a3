"""passkeys (WebAuthn credentials) and their single-use challenges

Revision ID: 0006
Revises: 0004 (the TOTP branch adds 0005 in parallel; at merge this revises 0005)
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types: a migration must not change when models.py does.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
CREDENTIAL_ID = sa.String(1364).with_variant(
    mysql.VARCHAR(1364, charset="ascii", collation="ascii_bin"), "mysql", "mariadb"
)


def upgrade() -> None:
    op.create_table(
        "passkeys",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("credential_id", CREDENTIAL_ID, nullable=False, unique=True),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("user_handle", sa.String(128), nullable=False),
        sa.Column("transports", sa.String(255), nullable=True),
        sa.Column("name", sa.String(64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Index("ix_passkeys_user_id", "user_id"),
        mysql_charset="utf8mb4",
    )
    op.create_table(
        "passkey_challenges",
        sa.Column("id", sa.String(43), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("challenge", sa.String(128), nullable=False),
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
        sa.Column("discoverable", sa.Boolean(), nullable=False),
        sa.Column("user_handle", sa.String(128), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Index("ix_passkey_challenges_user_id", "user_id"),
        sa.Index("ix_passkey_challenges_expires_at", "expires_at"),
        mysql_charset="utf8mb4",
    )


def downgrade() -> None:
    op.drop_table("passkey_challenges")
    op.drop_table("passkeys")
