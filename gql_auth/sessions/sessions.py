"""Server-side sign-in sessions: opening them, issuing their tokens, listing and counting them.

Ending them (logout, revocation, the cap, pruning) is sessions.endings'; the
lock order they all follow is users.locks' then sessions.locks'; checking one on
every request is sessions.viewer_lookup's, with the Viewer and LAST_USED_RESOLUTION
defined here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.api_keys.models import ApiKey
from gql_auth.api_keys.scopes import held_by
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.errors import ApiKeyNotAllowed, InvalidCredentials
from gql_auth.core.models import utcnow
from gql_auth.orgs.models import OrgRole
from gql_auth.security.tokens import (
    AccessTokenCodec,
    ActiveOrganization,
    hash_token,
    new_refresh_token,
    new_session_id,
)
from gql_auth.sessions.endings import live_at, prune_expired, revoke_oldest
from gql_auth.sessions.models import AuthSession
from gql_auth.users.locks import still_as_checked
from gql_auth.users.models import User
from gql_auth.webhooks import outbox
from gql_auth.webhooks.events import EventType, session_data

logger = logging.getLogger("gql_auth.sessions")

# lastUsedAt is a hint for people, not an audit log: one write a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """What a client receives when a session starts or rotates."""

    access_token: str
    expires_in: int
    refresh_token: str
    user: User
    session: AuthSession


@dataclass(frozen=True, slots=True)
class Grant:
    """What a sign-in proved: the user, how (amr), and the password hash it checked.

    The checks ran before the user's row lock; opening the session checks the
    hash and the active flag again under it. None: no password was checked (a
    passkey), so only the flag is.
    """

    user: User
    amr: tuple[str, ...]
    password_hash: str | None


@dataclass(frozen=True, slots=True)
class Viewer:
    """The authenticated caller: the user as the database has it now, and how they came in.

    Either a signed-in session, or an API key acting as its owner within its scopes.
    """

    user: User
    signed_in: AuthSession | None
    # The role in the session's active organization now (the viewer read joins it); None
    # without one, or once the membership is gone.
    org_role: OrgRole | None = None
    api_key: ApiKey | None = None

    @property
    def session(self) -> AuthSession:
        """The signed-in session; an API key has none, so what needs one is closed to keys."""
        if self.signed_in is None:
            raise ApiKeyNotAllowed
        return self.signed_in

    @property
    def used(self) -> AuthSession | ApiKey:
        """What this request came in with: its lastUsedAt is what gets written."""
        if self.api_key is not None:
            return self.api_key
        return self.session


async def start(
    db: AsyncSession,
    codec: AccessTokenCodec,
    *,
    grant: Grant,
    client: ClientInfo,
    lifetime: timedelta,
    max_sessions: int,
) -> SignedIn:
    """Opens a session for a user who just proved who they are, with the grant's amr saying how.

    InvalidCredentials when, under the user's row lock, the account is no
    longer as the sign-in checked it: a password changed or reset, or a
    deactivation, that committed while the sign-in was hashing.

    Beyond `max_sessions` live sessions the oldest are revoked, so no account
    (or whoever holds its password) can pile up sessions without end. The
    methods (RFC 8176: pwd, otp, hwk, ...) stay on the session row, so every
    access token rotation issues carries them, and permissions read them there.
    """
    user = grant.user
    # Locks the user: parallel sign-ins of one user take turns, so the cap holds.
    if not await still_as_checked(db, user_id=user.id, password_hash=grant.password_hash):
        raise InvalidCredentials
    await prune_expired(db, user_id=user.id)  # keeps the table bounded per user
    revoked = await revoke_oldest(db, user_id=user.id, keep=max_sessions - 1)  # room for this one
    if revoked:
        logger.info("user %s is over MAX_SESSIONS_PER_USER: revoking %d", user.id, revoked)
    refresh_token = new_refresh_token()
    now = utcnow()
    session = AuthSession(
        id=new_session_id(),
        user_id=user.id,
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetime,
        user_agent=client.user_agent,
        ip_address=client.ip_address,
        refresh_token_hash=hash_token(refresh_token),
        amr=" ".join(grant.amr),
    )
    db.add(session)
    await db.flush()
    await outbox.emit(
        db, EventType.SESSION_CREATED, session_data(user, session.id, methods=list(grant.amr))
    )
    return issue(codec, user=user, session=session, refresh_token=refresh_token)


def issue(
    codec: AccessTokenCodec,
    *,
    user: User,
    session: AuthSession,
    refresh_token: str,
    org_role: OrgRole | None = None,
) -> SignedIn:
    """Tokens for the session; `org_role`: the role in its active organization, read just now."""
    organization_id = session.active_organization_id
    access = codec.issue(
        user_id=user.id,
        session_id=session.id,
        role=user.role.value,
        amr=session.methods,
        scope=" ".join(held_by(user.role)),
        organization=(
            None
            if organization_id is None or org_role is None
            else ActiveOrganization(organization_id, org_role.value)
        ),
    )
    return SignedIn(
        access_token=access.token,
        expires_in=access.expires_in,
        refresh_token=refresh_token,
        user=user,
        session=session,
    )


async def active_sessions(db: AsyncSession, *, user_id: int) -> Sequence[AuthSession]:
    """The user's live sessions, newest first."""
    statement = (
        select(AuthSession)
        .where(AuthSession.user_id == user_id, *live_at(utcnow()))
        .order_by(AuthSession.created_at.desc())
    )
    return (await db.scalars(statement)).all()


async def count_live(db: AsyncSession) -> int:
    statement = select(func.count()).where(*live_at(utcnow()))
    return int(await db.scalar(statement) or 0)
