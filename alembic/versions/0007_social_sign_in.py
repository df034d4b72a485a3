"""social sign-in: linked identities, sign-in states, password-less accounts, the first factor of an mfaToken

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types: a migration must not change when the models do.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def binary(length: int) -> sa.String:
    """Compared byte for byte on every backend (the provider's subject is case-sensitive)."""
    return (
        sa.String(length)
        .with_variant(
            mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
        )
        .with_variant(postgresql.VARCHAR(length, collation="C"), "postgresql")
    )


def upgrade() -> None:
    op.create_table(
        "social_identities",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("provider", binary(32), nullable=False),
        sa.Column("subject", binary(255), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.UniqueConstraint("provider", "subject", name="uq_social_identities_provider_subject"),
        sa.Index("ix_social_identities_user_id", "user_id"),
        mysql_charset="utf8mb4",
    )
    op.create_table(
        "social_states",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("redirect_uri", sa.String(2048), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
        sa.Column("session_id", sa.String(36), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Index("ix_social_states_expires_at", "expires_at"),
        mysql_charset="utf8mb4",
    )
    # An account made by social sign-in has no password until it sets one.
    with op.batch_alter_table("users") as users:
        users.alter_column("password_hash", existing_type=sa.String(255), nullable=True)
    # What the password check of an mfaToken was: verifyMfa adds otp to it.
    with op.batch_alter_table("mfa_challenges") as challenges:
        challenges.add_column(
            sa.Column("first_factor", sa.String(16), nullable=False, server_default="pwd")
        )


def downgrade() -> None:
    with op.batch_alter_table("mfa_challenges") as challenges:
        challenges.drop_column("first_factor")
    op.drop_table("social_states")
    op.drop_table("social_identities")
    # Accounts without a password cannot go back to a NOT NULL column: give them an
    # unusable hash first (no password verifies against it).
    op.execute("UPDATE users SET password_hash = '!' WHERE password_hash IS NULL")
    with op.batch_alter_table("users") as users:
        users.alter_column("password_hash", existing_type=sa.String(255), nullable=False)
