"""The `member.*` webhook events, written in the transaction of the membership's change."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.orgs.models import Membership, Organization
from gql_auth.users.models import User
from gql_auth.webhooks import outbox
from gql_auth.webhooks.events import EventType, member_data


async def announce(
    db: AsyncSession, event_type: EventType, membership: Membership, **details: str
) -> None:
    """The event names the organization, the member and their role (`details` adds to it)."""
    organization = await db.get(Organization, membership.organization_id)
    user = await db.get(User, membership.user_id)
    if organization is not None and user is not None:
        data = member_data(organization, user, membership.role.value) | details
        await outbox.emit(db, event_type, data)
