"""organizations: organizations, memberships, invitations, a session's active organization

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types: a migration must not change when the models do.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
ROLE = sa.String(16)


def binary(length: int) -> sa.String:
    """Compared byte for byte on every backend (slugs and address keys are normalized first)."""
    return (
        sa.String(length)
        .with_variant(
            mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
        )
        .with_variant(postgresql.VARCHAR(length, collation="C"), "postgresql")
    )


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("slug", binary(63), nullable=False, unique=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        mysql_charset="utf8mb4",
        # A deleted organization's id is never given again: tokens may still name it.
        sqlite_autoincrement=True,
    )
    op.create_table(
        "memberships",
        sa.Column(
            "organization_id",
            ID,
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role", ROLE, nullable=False),
        sa.Column("joined_at", TIMESTAMP, nullable=False),
        sa.Index("ix_memberships_user_id", "user_id"),
        mysql_charset="utf8mb4",
    )
    op.create_table(
        "invitations",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "organization_id",
            ID,
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("email_key", binary(254), nullable=False),
        sa.Column("role", ROLE, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column(
            "invited_by_id", ID, sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("accepted_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.Index("ix_invitations_organization_id", "organization_id"),
        sa.Index("ix_invitations_expires_at", "expires_at"),
        mysql_charset="utf8mb4",
    )
    with op.batch_alter_table("sessions") as sessions:
        sessions.add_column(sa.Column("active_organization_id", ID, nullable=True))
        sessions.create_foreign_key(
            "fk_sessions_active_organization_id",
            "organizations",
            ["active_organization_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as sessions:
        sessions.drop_constraint("fk_sessions_active_organization_id", type_="foreignkey")
        sessions.drop_column("active_organization_id")
    op.drop_table("invitations")
    op.drop_table("memberships")
    op.drop_table("organizations")
