"""The second factors an account can hold, in one list: who holds which, what each proves.

Kratos counts credentials per strategy; here each Factor says whether a user
holds it (as a SQL clause, so one account or all of them are counted the same
way), the amr a session that proved it carries, how sign-in offers it
(mfaMethods) and how to remove it. Sign-in's methods_of, adminDashboard's
mfaUsers, reset-mfa, step-up and ADMIN_REQUIRES_MFA all read FACTORS, so they
cannot disagree again: a new kind of factor is one more entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import rowcount
from gql_auth.core.errors import SecondFactorMethod, StepUpRequired, TokenRevoked
from gql_auth.core.models import utcnow
from gql_auth.factors import recovery_codes
from gql_auth.factors.models import Passkey, RecoveryCode, TotpCredential
from gql_auth.sessions.endings import live_at
from gql_auth.sessions.models import AuthSession
from gql_auth.users.locks import lock_user
from gql_auth.users.models import User


class Factor(Protocol):
    """One kind of second factor."""

    @property
    def name(self) -> str: ...

    @property
    def amr(self) -> str:
        """The RFC 8176 method that a session which proved this factor carries."""

    @property
    def method(self) -> SecondFactorMethod:
        """How sign-in offers it in mfaMethods."""

    def held(self) -> ColumnElement[bool]:
        """True for the users (User.id) who hold this factor."""

    async def remove_all(self, db: AsyncSession, *, user_id: int) -> int:
        """Deletes every one the user holds; how many went."""


@dataclass(frozen=True, slots=True)
class _Totp:
    name: str = "TOTP"
    amr: str = "otp"
    method: SecondFactorMethod = SecondFactorMethod.TOTP

    def held(self) -> ColumnElement[bool]:
        return exists().where(
            TotpCredential.user_id == User.id, TotpCredential.enabled_at.is_not(None)
        )

    async def remove_all(self, db: AsyncSession, *, user_id: int) -> int:
        held = await db.scalar(select(self.held()).where(User.id == user_id))
        await db.execute(
            delete(TotpCredential)
            .where(TotpCredential.user_id == user_id)
            .execution_options(synchronize_session=False)
        )
        return 1 if held else 0  # an enrolment still waiting was no factor


@dataclass(frozen=True, slots=True)
class _RecoveryCodes:
    """Stand-ins for the authenticator app: a sign-in with one is reported as "otp" too."""

    name: str = "recovery code"
    amr: str = "otp"
    method: SecondFactorMethod = SecondFactorMethod.RECOVERY_CODE

    def held(self) -> ColumnElement[bool]:
        return exists().where(RecoveryCode.user_id == User.id, RecoveryCode.used_at.is_(None))

    async def remove_all(self, db: AsyncSession, *, user_id: int) -> int:
        return await recovery_codes.delete_all(db, user_id=user_id)


@dataclass(frozen=True, slots=True)
class _Passkeys:
    """A hardware-bound key whose authenticator verified the user: a whole sign-in on its own."""

    name: str = "passkey"
    amr: str = "hwk"
    method: SecondFactorMethod = SecondFactorMethod.PASSKEY

    def held(self) -> ColumnElement[bool]:
        return exists().where(Passkey.user_id == User.id)

    async def remove_all(self, db: AsyncSession, *, user_id: int) -> int:
        result = await db.execute(
            delete(Passkey)
            .where(Passkey.user_id == user_id)
            .execution_options(synchronize_session=False)
        )
        return rowcount(result)


TOTP = _Totp()
RECOVERY_CODES = _RecoveryCodes()
PASSKEYS = _Passkeys()
# In the order mfaMethods lists them.
FACTORS: tuple[Factor, ...] = (TOTP, RECOVERY_CODES, PASSKEYS)

# What a session proved beyond a password: a factor's amr, or RFC 8176's explicit "mfa".
_PROVING = frozenset({*(factor.amr for factor in FACTORS), "mfa"})


def proved_a_factor(methods: Sequence[str]) -> bool:
    """Whether a session's amr shows a second factor or a passkey (step-up, ADMIN_REQUIRES_MFA)."""
    return not _PROVING.isdisjoint(methods)


async def held_by(db: AsyncSession, *, user_id: int) -> tuple[Factor, ...]:
    """The factors this user holds, read in one statement."""
    row = (
        await db.execute(select(*(factor.held() for factor in FACTORS)).where(User.id == user_id))
    ).first()
    if row is None:
        return ()
    return tuple(factor for factor, held in zip(FACTORS, row, strict=True) if held)


async def methods_of(db: AsyncSession, *, user_id: int) -> tuple[SecondFactorMethod, ...]:
    """What finishes a sign-in after the password; empty when the password is enough.

    Recovery codes stand in for TOTP and are offered only beside it.
    """
    held = await held_by(db, user_id=user_id)
    if RECOVERY_CODES in held and TOTP not in held:
        held = tuple(factor for factor in held if factor is not RECOVERY_CODES)
    return tuple(factor.method for factor in held)


async def count_users_holding_any(db: AsyncSession) -> int:
    """Accounts holding any second factor (adminDashboard.mfaUsers)."""
    clauses = (factor.held() for factor in FACTORS)
    statement = select(func.count()).select_from(User).where(or_(*clauses))
    return int(await db.scalar(statement) or 0)


@dataclass(frozen=True, slots=True)
class Removed:
    """What reset-mfa took away, per factor."""

    counts: dict[str, int]

    @property
    def anything(self) -> bool:
        return any(self.counts.values())


async def remove_all(db: AsyncSession, *, user: User, client: ClientInfo) -> Removed:
    """Every second factor of the user goes (an operator's answer to a lost phone or key)."""
    await lock_user(db, user.id)
    counts = {factor.name: await factor.remove_all(db, user_id=user.id) for factor in FACTORS}
    removed = Removed(counts=counts)
    if removed.anything:
        audit.record(db, EventKind.MFA_DISABLED, user_id=user.id, client=client)
    return removed


async def require_step_up(db: AsyncSession, *, user_id: int, session_id: str) -> None:
    """Adding or removing a way in needs a session that proved a factor, once the account holds one.

    Otherwise a password alone (stolen, or phished) could plant the thief's own
    authenticator or passkey, or remove the owner's last factor and then add one.
    Checked under the user's row lock, on the session as it is now: a factor added
    or a session revoked by a parallel request counts.
    """
    await lock_user(db, user_id)
    amr = await db.scalar(
        select(AuthSession.amr).where(AuthSession.id == session_id, *live_at(utcnow()))
    )
    if amr is None:
        raise TokenRevoked
    if await held_by(db, user_id=user_id) and not proved_a_factor(amr.split()):
        raise StepUpRequired
