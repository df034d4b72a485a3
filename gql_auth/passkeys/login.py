"""Signing in with a passkey: request options for a username or any discoverable key, and
checking the assertion that answers them (challenge, signature, counter, account)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import webauthn
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    UserVerificationRequirement,
)

from gql_auth.accounts import accounts
from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import rowcount
from gql_auth.core.errors import InvalidCredentials
from gql_auth.core.models import utcnow
from gql_auth.factors.models import Passkey
from gql_auth.limits.limiter import Rule
from gql_auth.passkeys import challenges as passkey_challenges
from gql_auth.passkeys.models import ChallengePurpose
from gql_auth.passkeys.passkeys import (
    TIMEOUT_MS,
    PasskeyServices,
    RelyingParty,
    descriptor,
    json_object,
    list_for,
)
from gql_auth.security.validation import EMAIL_MAX, login_key
from gql_auth.users import locks
from gql_auth.users.models import User


@dataclass(frozen=True, slots=True)
class LoginChallenge:
    challenge_id: str
    options: str  # PublicKeyCredentialRequestOptions as JSON


async def begin_login(
    db: AsyncSession,
    services: PasskeyServices,
    *,
    username: str | None,
    client: ClientInfo,
) -> LoginChallenge:
    """Request options, for one account's passkeys or (no username) any discoverable one.

    A username nobody has, or an account without passkeys, gets decoy
    credential ids derived from the name: stable across requests and shaped
    like real ones, so the options do not tell whether the account exists.
    """
    await services.limits.consume(Rule.PASSKEY_CHALLENGE_IP, client.address_key)
    user: User | None = None
    allowed: list[PublicKeyCredentialDescriptor] = []
    if username is not None:
        user = await accounts.find_by_login(db, username) if len(username) <= EMAIL_MAX else None
        if user is not None:
            allowed = [descriptor(passkey) for passkey in await list_for(db, user_id=user.id)]
        if not allowed:
            allowed = [_decoy(services.relying_party, username)]
    options = webauthn.generate_authentication_options(
        rp_id=services.relying_party.id,
        timeout=TIMEOUT_MS,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    row = await passkey_challenges.issue(
        db,
        purpose=ChallengePurpose.LOGIN,
        challenge=bytes_to_base64url(options.challenge),
        user_id=user.id if user is not None else None,
        discoverable=username is None,
    )
    return LoginChallenge(challenge_id=row.id, options=webauthn.options_to_json(options))


async def authenticate(
    db: AsyncSession,
    services: PasskeyServices,
    *,
    challenge_id: str,
    credential: str,
    client: ClientInfo,
) -> User:
    """The active user whose passkey signed this challenge, else InvalidCredentials.

    Every failure looks the same: an unknown, used or expired challenge, a
    credential of another account, a bad signature, a sign counter that did
    not move on, a deactivated account. The attempt is reserved first and
    the challenge taken before anything is checked, so it counts once.
    """
    attempt = await services.limits.reserve({Rule.PASSKEY_LOGIN_IP: client.address_key})
    parsed = _assertion(credential)
    taken = await passkey_challenges.consume_login(db, challenge_id=challenge_id[:64])
    passkey = (
        await db.scalar(
            select(Passkey).where(Passkey.credential_id == bytes_to_base64url(parsed.raw_id))
        )
        if parsed is not None and taken is not None
        else None
    )
    if passkey is None or taken is None or parsed is None:
        raise _failed(db, user_id=None, client=client)
    account = await services.limits.reserve({Rule.PASSKEY_LOGIN_ACCOUNT: f"user:{passkey.user_id}"})
    user = await db.get(User, passkey.user_id)
    bound = taken.discoverable or taken.user_id == passkey.user_id
    handle = parsed.response.user_handle
    if user is None or not bound or (handle and bytes_to_base64url(handle) != passkey.user_handle):
        raise _failed(db, user_id=passkey.user_id, client=client)
    try:
        verified = webauthn.verify_authentication_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(taken.challenge),
            expected_rp_id=services.relying_party.id,
            expected_origin=list(services.relying_party.origins),
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except Exception:  # the library's, cbor2's or binascii's errors: all "not valid"
        raise _failed(db, user_id=user.id, client=client) from None
    # Under the user's row lock (the one lock order: user, then their passkeys), as
    # committed now: a deactivation or a deletion of this passkey meanwhile wins.
    active = await locks.still_as_checked(db, user_id=user.id, password_hash=None)
    if not active or not await _advance_counter(db, passkey, verified.new_sign_count):
        raise _failed(db, user_id=user.id, client=client)
    await attempt.refund(Rule.PASSKEY_LOGIN_IP)  # the owner's sign-ins use up no failures
    await account.refund(Rule.PASSKEY_LOGIN_ACCOUNT)
    return user


async def _advance_counter(db: AsyncSession, passkey: Passkey, new_count: int) -> bool:
    """Stores the new counter only if it moved on from what the database holds now.

    The library compared against the value read earlier; this compares again in
    the UPDATE, so two assertions with one counter (a cloned key) cannot both
    pass. Authenticators without a counter send 0 every time, which stays allowed.
    """
    moved_on = Passkey.sign_count == 0 if new_count == 0 else Passkey.sign_count < new_count
    result = await db.execute(
        update(Passkey)
        .where(Passkey.id == passkey.id, moved_on)
        .values(sign_count=new_count, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def _failed(db: AsyncSession, *, user_id: int | None, client: ClientInfo) -> InvalidCredentials:
    audit.record(db, EventKind.LOGIN_FAILED, user_id=user_id, client=client)
    return InvalidCredentials("The passkey sign-in failed; start again.")


def _assertion(credential: str) -> AuthenticationCredential | None:
    """The library's reading of a sign-in assertion's JSON, or None when it is malformed."""
    fields = json_object(credential)
    try:
        return parse_authentication_credential_json(fields) if fields is not None else None
    except Exception:  # binascii's or the library's errors: all "malformed"
        return None


def _decoy(party: RelyingParty, username: str) -> PublicKeyCredentialDescriptor:
    # Keyed by what the name means, as a real account's lookup is: every spelling alike.
    name = login_key(username).encode()
    decoy_id = hmac.new(party.decoy_key, name, hashlib.sha256).digest()
    return PublicKeyCredentialDescriptor(
        id=decoy_id, transports=[AuthenticatorTransport.INTERNAL, AuthenticatorTransport.HYBRID]
    )
