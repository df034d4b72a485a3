"""Re-authentication before a sensitive change: the password, or a fresh sign-in without one.

An account with a password proves it again (limited and counted like a
sign-in). One made by social sign-in has none to give: its session must have
signed in within RECENT_SIGN_IN, so a token stolen hours ago is not enough.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.accounts import accounts
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.errors import InvalidInput, Reason, StepUpRequired, Subject
from gql_auth.core.models import utcnow
from gql_auth.limits.limiter import RateLimits
from gql_auth.security.passwords import PasswordHasher
from gql_auth.sessions.models import AuthSession
from gql_auth.users.models import User

RECENT_SIGN_IN = timedelta(minutes=10)


async def reauthenticate(
    db: AsyncSession,
    hasher: PasswordHasher,
    limits: RateLimits,
    *,
    user: User,
    session_id: str | None,
    current_password: str | None,
    client: ClientInfo,
) -> None:
    """currentPassword REQUIRED or INVALID_CREDENTIALS; STEP_UP_REQUIRED for a stale session.

    `session_id` None: an API key, which has no sign-in to show, so only a password will do.
    """
    if user.password_hash is not None:
        if current_password is None:
            raise InvalidInput(
                Subject.CURRENT_PASSWORD, Reason.REQUIRED, "The current password is required."
            )
        await accounts.verify_current_password(
            db, hasher, limits, user=user, password=current_password, client=client
        )
        return
    signed_in_at = (
        None
        if session_id is None
        else await db.scalar(select(AuthSession.created_at).where(AuthSession.id == session_id))
    )
    if signed_in_at is None or signed_in_at < utcnow() - RECENT_SIGN_IN:
        raise StepUpRequired(
            "An account without a password makes this change only in a session signed in "
            "within the last ten minutes: sign in again."
        )
