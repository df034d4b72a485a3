"""Reading an account's linked identities."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.social.models import SocialIdentity


async def list_for(db: AsyncSession, *, user_id: int) -> Sequence[SocialIdentity]:
    """The user's linked identities, oldest first."""
    statement = (
        select(SocialIdentity).where(SocialIdentity.user_id == user_id).order_by(SocialIdentity.id)
    )
    return (await db.scalars(statement)).all()
