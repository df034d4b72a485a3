"""Turning TOTP on and off: enrolment, confirmation, disabling and new recovery codes.

Enrolment keeps a new secret waiting until a code from it proves the
authenticator works; only then is TOTP on. Turning it off, or re-keying the
recovery codes, needs the current password and a current code, so a stolen
access token alone cannot remove the second factor. Checking codes is
second_factor's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.accounts import accounts
from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.errors import InvalidInput, Reason, SecondFactorState, Subject
from gql_auth.core.models import utcnow
from gql_auth.factors import recovery_codes, totp
from gql_auth.factors.factors import require_step_up
from gql_auth.factors.models import TotpCredential
from gql_auth.factors.second_factor import (
    FactorServices,
    account_key,
    credential_of,
    delete_totp,
    secret_context,
    status,
    verify_code,
)
from gql_auth.limits.limiter import Rule
from gql_auth.users.locks import lock_user
from gql_auth.users.models import User

# How long an enrolment waits for confirmTotp before enrollTotp must run again.
PENDING_LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Enrollment:
    """A new TOTP secret for the user's authenticator; off until confirmTotp."""

    secret: str
    otpauth_uri: str
    qr_code_svg: str


async def enroll_totp(
    db: AsyncSession,
    factors: FactorServices,
    *,
    user: User,
    session_id: str,
    current_password: str,
    client: ClientInfo,
) -> Enrollment:
    """Re-authenticates, then keeps a new secret waiting; TOTP stays as it was until confirmed.

    An account that already holds a passkey needs a session that proved it (step-up).
    """
    await accounts.verify_current_password(
        db, factors.hasher, factors.limits, user=user, password=current_password, client=client
    )
    await require_step_up(db, user_id=user.id, session_id=session_id)
    credential = await credential_of(db, user.id)
    if credential is not None and credential.enabled_at is not None:
        raise SecondFactorState(
            Reason.ALREADY_ENABLED, "TOTP is already on; disableTotp first to replace it."
        )
    secret = totp.new_secret()
    if credential is None:
        credential = TotpCredential(user_id=user.id)
        db.add(credential)
    credential.pending_secret = factors.box.seal(secret, context=secret_context(user.id))
    credential.pending_since = utcnow()
    await db.flush()
    uri = totp.otpauth_uri(secret, account=user.username, issuer=factors.totp_issuer)
    return Enrollment(secret=secret, otpauth_uri=uri, qr_code_svg=totp.qr_code_svg(uri))


async def confirm_totp(
    db: AsyncSession,
    factors: FactorServices,
    *,
    user: User,
    session_id: str,
    code: str,
    client: ClientInfo,
) -> list[str]:
    """Turns TOTP on once a code from the new secret matches; returns fresh recovery codes.

    Step-up is checked again here, under the lock: a passkey added since enrollTotp counts.
    """
    await require_step_up(db, user_id=user.id, session_id=session_id)
    credential = await credential_of(db, user.id)
    if credential is not None and credential.enabled_at is not None:
        raise SecondFactorState(Reason.ALREADY_ENABLED, "TOTP is already on.")
    if (
        credential is None
        or credential.pending_secret is None
        or credential.pending_since is None
        or credential.pending_since + PENDING_LIFETIME <= utcnow()
    ):
        raise InvalidInput(
            Subject.CODE, Reason.NOT_FOUND, "No TOTP enrolment is waiting: call enrollTotp first."
        )
    attempt = await factors.limits.reserve({Rule.MFA: account_key(user)})
    secret = factors.box.open(credential.pending_secret, context=secret_context(user.id)).plaintext
    step = totp.matching_step(secret, code)
    if step is None:
        raise InvalidInput(Subject.CODE, Reason.INVALID, "The code does not match the new secret.")
    await attempt.refund(Rule.MFA)
    credential.secret = factors.box.seal(secret, context=secret_context(user.id))
    credential.enabled_at = utcnow()
    credential.pending_secret = credential.pending_since = None
    credential.last_step = step  # the confirming code cannot sign in afterwards
    codes = await recovery_codes.replace_all(db, user_id=user.id)
    audit.record(db, EventKind.MFA_ENABLED, user_id=user.id, client=client)
    return codes


async def _reauthenticate(
    db: AsyncSession,
    factors: FactorServices,
    *,
    user: User,
    current_password: str,
    code: str,
    client: ClientInfo,
) -> None:
    """The current password, then a current code: what turning TOTP off or re-keying it needs."""
    await accounts.verify_current_password(
        db, factors.hasher, factors.limits, user=user, password=current_password, client=client
    )
    await lock_user(db, user.id)
    if not (await status(db, user_id=user.id)).totp_enabled:
        raise SecondFactorState(Reason.NOT_ENABLED, "TOTP is not on.")
    await verify_code(db, factors, user=user, code=code, client=client)


async def disable_totp(
    db: AsyncSession,
    factors: FactorServices,
    *,
    user: User,
    current_password: str,
    code: str,
    client: ClientInfo,
) -> None:
    await _reauthenticate(
        db, factors, user=user, current_password=current_password, code=code, client=client
    )
    await delete_totp(db, user_id=user.id)
    audit.record(db, EventKind.MFA_DISABLED, user_id=user.id, client=client)


async def regenerate_recovery_codes(
    db: AsyncSession,
    factors: FactorServices,
    *,
    user: User,
    current_password: str,
    code: str,
    client: ClientInfo,
) -> list[str]:
    """Ten new codes; the old ones, used or not, stop working."""
    await _reauthenticate(
        db, factors, user=user, current_password=current_password, code=code, client=client
    )
    audit.record(db, EventKind.RECOVERY_CODES_REGENERATED, user_id=user.id, client=client)
    return await recovery_codes.replace_all(db, user_id=user.id)
