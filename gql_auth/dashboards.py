"""Figures for the dashboards, counted in the database with a fixed number of queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.audit.audit import EventKind
from gql_auth.audit.models import SecurityEvent
from gql_auth.core.models import Role, utcnow
from gql_auth.factors import factors
from gql_auth.users.models import User

RECENT = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class AdminStats:
    total_users: int
    active_users: int
    users_by_role: dict[Role, int]
    signups_last_24h: int
    failed_logins_last_24h: int
    mfa_users: int


async def admin_stats(db: AsyncSession) -> AdminStats:
    since = utcnow() - RECENT
    by_role = dict.fromkeys(Role, 0)  # every role present, even with no users
    active_users = 0
    rows = await db.execute(
        select(User.role, User.is_active, func.count()).group_by(User.role, User.is_active)
    )
    for role, is_active, count in rows:
        by_role[role] += count
        active_users += count if is_active else 0
    signups = await db.scalar(
        select(func.count()).select_from(User).where(User.created_at >= since)
    )
    failed = await db.scalar(
        select(func.count())
        .select_from(SecurityEvent)
        .where(SecurityEvent.kind == EventKind.LOGIN_FAILED.value, SecurityEvent.at >= since)
    )
    return AdminStats(
        total_users=sum(by_role.values()),
        active_users=active_users,
        users_by_role=by_role,
        signups_last_24h=signups or 0,
        failed_logins_last_24h=failed or 0,
        mfa_users=await factors.count_users_holding_any(db),
    )


async def recent_signups(db: AsyncSession, *, limit: int) -> Sequence[User]:
    statement = select(User).order_by(User.created_at.desc(), User.id.desc()).limit(limit)
    return (await db.scalars(statement)).all()
