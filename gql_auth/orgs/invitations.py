"""Invitations by e-mail: a single-use link, accepted only by the address it was sent to.

The token is 256 random bits kept only as its SHA-256, like every mailed
token. Accepting needs a signed-in user whose *verified* address is the
invited one, and the inviter must still hold a role that may grant the
invited role: an admin on the way out cannot leave an invitation behind as a
way back in. A newer invitation to the same address replaces the older one.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import delete_expired, rowcount
from gql_auth.core.errors import (
    Forbidden,
    InvalidInput,
    InvitationNotForYou,
    Reason,
    Subject,
)
from gql_auth.core.models import utcnow
from gql_auth.limits.limiter import RateLimits, Rule
from gql_auth.orgs import memberships
from gql_auth.orgs.locks import lock_for_change, locked_with_role, role_of
from gql_auth.orgs.models import Invitation, Membership, Organization, OrgRole
from gql_auth.orgs.rules import may_grant
from gql_auth.security.tokens import hash_token, is_plausible_token
from gql_auth.security.validation import clean_email, email_key
from gql_auth.users.models import User


@dataclass(frozen=True, slots=True)
class IssuedInvitation:
    """A fresh invitation; its token exists in clear only until it is mailed."""

    invitation: Invitation
    organization: Organization
    token: str
    lifetime: timedelta


async def invite(
    db: AsyncSession,
    limits: RateLimits,
    *,
    actor_id: int,
    organization_id: int,
    email: str,
    role: OrgRole,
    lifetime: timedelta,
    client: ClientInfo,
) -> IssuedInvitation:
    """inviteMember: RATE_LIMIT_INVITATIONS per organization, reserved before any write."""
    address = clean_email(email)
    reservation = await limits.reserve({Rule.INVITATIONS: str(organization_id)})
    try:
        organization, actor = await _granting_under_lock(
            db, actor_id=actor_id, organization_id=organization_id, role=role
        )
    except (Forbidden, InvalidInput):
        await reservation.refund_all()  # refused before anything was sent: it does not count
        raise
    now = utcnow()
    key = email_key(address)
    await _replace_pending(db, organization_id=organization_id, email_key=key, actor=actor, now=now)
    token = secrets.token_urlsafe(32)  # 256 bits
    invitation = Invitation(
        organization_id=organization_id,
        email=address,
        email_key=key,
        role=role,
        token_hash=hash_token(token),
        invited_by_id=actor_id,
        created_at=now,
        expires_at=now + lifetime,
    )
    db.add(invitation)
    await db.flush()
    audit.record(db, EventKind.MEMBER_INVITED, user_id=actor_id, client=client)
    return IssuedInvitation(invitation, organization, token, lifetime)


async def revoke(db: AsyncSession, *, actor_id: int, invitation_id: int) -> bool:
    """revokeInvitation: True when a pending invitation stopped working now, False if none was."""
    found = (
        await db.execute(
            select(Invitation.organization_id, Invitation.role).where(
                Invitation.id == invitation_id
            )
        )
    ).first()
    if found is None:
        return False
    # An invitation's organization and role never change; whether it is pending does.
    await _granting_under_lock(
        db, actor_id=actor_id, organization_id=found.organization_id, role=found.role
    )
    now = utcnow()
    revoked = await db.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, *_pending(now))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(revoked) == 1


async def accept(
    db: AsyncSession, *, user_id: int, token: str, max_owned: int, client: ClientInfo
) -> tuple[Membership, User]:
    """acceptInvitation: the invited address, verified, joins with the invited role."""
    if not is_plausible_token(token):
        raise _invalid_token()
    found = await db.scalar(
        select(Invitation.organization_id).where(Invitation.token_hash == hash_token(token))
    )
    if found is None:
        raise _invalid_token()
    # The one lock order: the joining user (the membership refers to them), the organization.
    locked = await lock_for_change(db, found, user_id)
    user = await db.scalar(
        select(User).where(User.id == user_id).execution_options(populate_existing=True)
    )
    if locked is None or user is None:
        raise _invalid_token()
    invitation = await db.scalar(
        select(Invitation)
        .where(Invitation.token_hash == hash_token(token))
        .execution_options(populate_existing=True)
    )
    if invitation is None or not invitation.is_pending(utcnow()):
        raise _invalid_token()
    if email_key(user.email) != invitation.email_key:
        raise InvitationNotForYou(
            Reason.EMAIL_MISMATCH,
            "This invitation was sent to another address: sign in with the account that has it.",
        )
    if not user.email_verified:
        raise InvitationNotForYou(
            Reason.EMAIL_NOT_VERIFIED, "Verify your e-mail address first, then accept again."
        )
    await _inviter_still_may_grant(db, invitation)
    membership = await memberships.add(
        db,
        organization_id=invitation.organization_id,
        user_id=user_id,
        role=invitation.role,
        max_owned=max_owned,
    )
    await _spend(db, invitation)
    audit.record(db, EventKind.MEMBER_JOINED, user_id=user_id, client=client)
    return membership, user


async def pending(db: AsyncSession, *, organization_id: int) -> Sequence[Invitation]:
    """The invitations that still work, oldest first."""
    rows = await db.scalars(
        select(Invitation)
        .where(Invitation.organization_id == organization_id, *_pending(utcnow()))
        .order_by(Invitation.id)
    )
    return rows.all()


async def inviters(db: AsyncSession, rows: Sequence[Invitation]) -> dict[int | None, User]:
    """The accounts that sent these invitations, by id, in one read."""
    ids = {row.invited_by_id for row in rows if row.invited_by_id is not None}
    if not ids:
        return {}
    users = await db.scalars(select(User).where(User.id.in_(ids)))
    return {user.id: user for user in users}


async def organization_of(db: AsyncSession, invitation_id: int) -> int | None:
    """The organization an invitation belongs to, for the permission check at the edge."""
    organization_id: int | None = await db.scalar(
        select(Invitation.organization_id).where(Invitation.id == invitation_id)
    )
    return organization_id


async def prune_expired(db: AsyncSession, *, batch: int) -> int:
    """Drops up to `batch` expired invitations (core.database.delete_expired says how, and why)."""
    return await delete_expired(db, Invitation.id, Invitation.expires_at, batch=batch)


async def _granting_under_lock(
    db: AsyncSession, *, actor_id: int, organization_id: int, role: OrgRole
) -> tuple[Organization, OrgRole]:
    """The organization, locked, and the actor's role there, which may grant `role`."""
    organization, actor = await locked_with_role(db, organization_id, actor_id)
    if organization is None or actor is None or not may_grant(actor, role):
        raise Forbidden(
            "Only an owner invites owners or revokes their invitations."
            if actor is OrgRole.ADMIN
            else "Only an organization's admins and owners manage its invitations."
        )
    return organization, actor


async def _inviter_still_may_grant(db: AsyncSession, invitation: Invitation) -> None:
    inviter = invitation.invited_by_id
    role = (
        None
        if inviter is None
        else await role_of(db, organization_id=invitation.organization_id, user_id=inviter)
    )
    if not may_grant(role, invitation.role):
        raise _invalid_token()


async def _replace_pending(
    db: AsyncSession, *, organization_id: int, email_key: str, actor: OrgRole, now: datetime
) -> None:
    """A newer invitation replaces the older ones to its address that the actor could revoke.

    Only those: an ADMIN re-inviting an address must not cancel an OWNER's
    invitation of it as OWNER, which revokeInvitation would not let them do.
    """
    await db.execute(
        update(Invitation)
        .where(
            Invitation.organization_id == organization_id,
            Invitation.email_key == email_key,
            Invitation.role.in_([role for role in OrgRole if may_grant(actor, role)]),
            *_pending(now),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def _pending(now: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
    )


async def _spend(db: AsyncSession, invitation: Invitation) -> None:
    # Compare-and-set as well as the lock: of two acceptances, exactly one wins.
    spent = await db.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(accepted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rowcount(spent) != 1:
        raise _invalid_token()


def _invalid_token() -> InvalidInput:
    # Unknown, used, revoked, expired, lapsed: one answer, so an invitation's history stays private.
    return InvalidInput(Subject.TOKEN, Reason.INVALID, "This invitation is invalid or has expired.")
