"""Codes as a second factor: checking a TOTP or recovery code once, deleting TOTP.

A code is accepted once. TOTP's replay marker is the newest time step
accepted, stored on the user's row and moved by compare-and-set, so the same
code (or an older one still inside the drift window) fails on every worker
and host; recovery codes are spent the same way (recovery_codes.redeem).
Wrong codes are reserved under RATE_LIMIT_MFA per account before they are
checked, and a right one gives its reservation back, as passwords do.

Which factors an account holds, and removing them all, is factors'; turning
TOTP on and off by the user is totp_enrollment's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import rowcount
from gql_auth.core.errors import InvalidCredentials, SecondFactorMethod
from gql_auth.factors import factors, recovery_codes, totp
from gql_auth.factors.models import TotpCredential
from gql_auth.limits.limiter import RateLimits, Rule
from gql_auth.security.passwords import PasswordHasher
from gql_auth.security.secret_box import SecretBox
from gql_auth.users.models import User

WRONG_CODE = "The code is invalid."
# What verifyMfa accepts; a passkey finishes a sign-in through its own.
CODE_METHODS = frozenset({SecondFactorMethod.TOTP, SecondFactorMethod.RECOVERY_CODE})


@dataclass(frozen=True, slots=True)
class FactorServices:
    hasher: PasswordHasher
    limits: RateLimits
    box: SecretBox
    totp_issuer: str


@dataclass(frozen=True, slots=True)
class FactorStatus:
    totp_enabled: bool
    recovery_codes_left: int


def secret_context(user_id: int) -> str:
    return f"totp:user:{user_id}"  # a ciphertext opens only on its own user's row


async def credential_of(db: AsyncSession, user_id: int) -> TotpCredential | None:
    return await db.get(TotpCredential, user_id, populate_existing=True)


async def status(db: AsyncSession, *, user_id: int) -> FactorStatus:
    credential = await credential_of(db, user_id)
    enabled = credential is not None and credential.enabled_at is not None
    left = await recovery_codes.count_left(db, user_id=user_id) if enabled else 0
    return FactorStatus(totp_enabled=enabled, recovery_codes_left=left)


async def verify_code(
    db: AsyncSession, factors: FactorServices, *, user: User, code: str, client: ClientInfo
) -> SecondFactorMethod:
    """Accepts a current TOTP code or an unused recovery code once, else InvalidCredentials.

    The caller holds the user's row lock. The attempt is reserved before the
    code is checked; a wrong code stays counted and records MFA_FAILED.
    """
    attempt = await factors.limits.reserve({Rule.MFA: account_key(user)})
    method = await _accept(db, factors, user=user, code=code)
    if method is None:
        audit.record(db, EventKind.MFA_FAILED, user_id=user.id, client=client)
        raise InvalidCredentials(WRONG_CODE)
    await attempt.refund(Rule.MFA)
    if method is SecondFactorMethod.RECOVERY_CODE:
        audit.record(db, EventKind.RECOVERY_CODE_USED, user_id=user.id, client=client)
    return method


async def _accept(
    db: AsyncSession, factors: FactorServices, *, user: User, code: str
) -> SecondFactorMethod | None:
    credential = await credential_of(db, user.id)
    if credential is None or credential.secret is None or credential.enabled_at is None:
        return None
    if totp.looks_like_code(code.strip().replace(" ", "")):
        opened = factors.box.open(credential.secret, context=secret_context(user.id))
        step = totp.matching_step(opened.plaintext, code)
        if step is None:
            return None
        resealed = factors.box.seal(opened.plaintext, context=secret_context(user.id))
        return SecondFactorMethod.TOTP if await _mark_step(db, user.id, step, resealed) else None
    if await recovery_codes.redeem(db, user_id=user.id, code=code):
        return SecondFactorMethod.RECOVERY_CODE
    return None


async def _mark_step(db: AsyncSession, user_id: int, step: int, resealed: str) -> bool:
    """Moves the replay marker forward to `step`; False when this step (or a later) was used.

    Compare-and-set in one UPDATE: two workers with the same code both try it,
    the database lets one change the row. The secret is sealed again on the
    way, so a key rotation retires old ciphertexts as their owners sign in.
    """
    result = await db.execute(
        update(TotpCredential)
        .where(
            TotpCredential.user_id == user_id,
            or_(TotpCredential.last_step.is_(None), TotpCredential.last_step < step),
        )
        .values(last_step=step, secret=resealed)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def delete_totp(db: AsyncSession, *, user_id: int) -> None:
    """TOTP goes with the recovery codes that stand in for it."""
    for factor in (factors.TOTP, factors.RECOVERY_CODES):
        await factor.remove_all(db, user_id=user_id)


def account_key(user: User) -> str:
    return f"user:{user.id}"
