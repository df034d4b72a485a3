"""The session's active organization: switching it, and the role tokens name for it.

Tokens carry `org_id` and `org_role` as read when they are issued; permission
checks never trust them, they read the membership on every request (the viewer
read joins it), so a removal or demotion applies at the next request.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.core.errors import InvalidInput, Reason, Subject, TokenRevoked
from gql_auth.core.models import utcnow
from gql_auth.orgs.locks import lock_organization, role_of
from gql_auth.orgs.models import OrgRole
from gql_auth.security.tokens import AccessTokenCodec, hash_token, new_refresh_token
from gql_auth.sessions.models import AuthSession, RetiredRefreshToken
from gql_auth.sessions.sessions import SignedIn, issue
from gql_auth.users.models import User


async def role_in_active(db: AsyncSession, session: AuthSession) -> OrgRole | None:
    """The user's role in the session's active organization now; None without one."""
    if session.active_organization_id is None:
        return None
    return await role_of(
        db, organization_id=session.active_organization_id, user_id=session.user_id
    )


async def switch(
    db: AsyncSession,
    codec: AccessTokenCodec,
    *,
    user: User,
    session_id: str,
    organization_id: int | None,
) -> SignedIn:
    """switchOrganization: sets (or clears) the active organization and rotates the tokens.

    Only an organization the caller belongs to, else organizationId NOT_FOUND (the
    same answer whether it exists or not). The refresh token rotates as on a
    refresh: the one held before is retired, and replaying it revokes the session.
    Locks in the one order: the organization, then the session (writing the
    session's reference to it takes a shared lock on the organization's row, which a
    deletion holding it and waiting for this session would deadlock with).
    """
    role = None
    if organization_id is not None:
        found = await lock_organization(db, organization_id)
        role = (
            None
            if found is None
            else await role_of(db, organization_id=organization_id, user_id=user.id)
        )
        if role is None:
            raise InvalidInput(
                Subject.ORGANIZATION_ID, Reason.NOT_FOUND, "You are not a member of it."
            )
    session = await db.scalar(
        select(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.user_id == user.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    now = utcnow()
    if session is None or not session.is_live(now):
        raise TokenRevoked
    db.add(RetiredRefreshToken(token_hash=session.refresh_token_hash, session_id=session.id))
    refresh_token = new_refresh_token()
    session.refresh_token_hash = hash_token(refresh_token)
    session.active_organization_id = organization_id
    session.last_used_at = now
    await db.flush()
    return issue(codec, user=user, session=session, refresh_token=refresh_token, org_role=role)
