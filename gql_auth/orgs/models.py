"""Organization tables: organizations, who belongs to each with which role, invitations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gql_auth.core.models import Base, IdType, UTCDateTime, binary_string, utcnow


class OrgRole(StrEnum):
    """Roles inside one organization, in ascending order of privilege."""

    MEMBER = "MEMBER"
    ADMIN = "ADMIN"
    OWNER = "OWNER"

    @property
    def rank(self) -> int:
        return list(OrgRole).index(self)

    def includes(self, other: OrgRole) -> bool:
        return self.rank >= other.rank


def _role_column() -> Enum:
    return Enum(OrgRole, native_enum=False, length=16, create_constraint=False)


class Organization(Base):
    __tablename__ = "organizations"
    # Never reuse a deleted one's id (SQLite would, without AUTOINCREMENT): tokens issued
    # before the deletion name it in org_id, and its invitation limit is counted by it.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    # Validated lower-case ASCII (a DNS label), compared byte for byte on every backend.
    slug: Mapped[str] = mapped_column(binary_string(63), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Membership(Base):
    """One user in one organization; the primary key is also the viewer read's join."""

    __tablename__ = "memberships"
    __table_args__ = (Index("ix_memberships_user_id", "user_id"),)

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[OrgRole] = mapped_column(_role_column(), default=OrgRole.MEMBER)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invitation(Base):
    """A single-use invitation mailed as a link; only the token's SHA-256 is kept."""

    __tablename__ = "invitations"
    __table_args__ = (
        Index("ix_invitations_organization_id", "organization_id"),
        Index("ix_invitations_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # As typed and normalized (where the mail goes), and the key accepting compares.
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(binary_string(254))
    role: Mapped[OrgRole] = mapped_column(_role_column())
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set once: accepted, or revoked (by an admin, or replaced by a newer invitation).
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    def is_pending(self, now: datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now
