"""An account's linked identities: finding one, linking one, listing them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import savepoint
from gql_auth.core.errors import InvalidInput, Reason, Subject
from gql_auth.social.flow import Returned
from gql_auth.social.models import SocialIdentity
from gql_auth.users.locks import lock_user


async def list_for(db: AsyncSession, *, user_id: int) -> Sequence[SocialIdentity]:
    """The user's linked identities, oldest first."""
    statement = (
        select(SocialIdentity).where(SocialIdentity.user_id == user_id).order_by(SocialIdentity.id)
    )
    return (await db.scalars(statement)).all()


async def find(db: AsyncSession, returned: Returned) -> SocialIdentity | None:
    """The link of the identity the provider just vouched for, if there is one."""
    return await db.scalar(
        select(SocialIdentity).where(
            SocialIdentity.provider == returned.provider.id,
            SocialIdentity.subject == returned.identity.subject,
        )
    )


async def add(
    db: AsyncSession, *, user_id: int, returned: Returned, client: ClientInfo
) -> SocialIdentity:
    """Links the identity to the account; IDENTITY_TAKEN when another request linked it first."""
    await lock_user(db, user_id)  # before inserting a row that refers to the user
    identity = SocialIdentity(
        user_id=user_id,
        provider=returned.provider.id,
        subject=returned.identity.subject,
        email=returned.identity.email,
    )
    try:
        async with savepoint(db):  # losing the race undoes this insert alone
            db.add(identity)
            await db.flush()
    except IntegrityError:
        raise taken() from None
    audit.record(db, EventKind.IDENTITY_LINKED, user_id=user_id, client=client)
    return identity


def taken() -> InvalidInput:
    return InvalidInput(
        Subject.PROVIDER,
        Reason.IDENTITY_TAKEN,
        "This provider account is already linked to an account.",
    )
