"""Passkeys (WebAuthn, with Duo Labs' `webauthn`): registering, listing, deleting, signing in.

Options and credentials travel as the JSON that the browser's
PublicKeyCredential.parse*OptionsFromJSON reads and toJSON writes. Every
ceremony answers a challenge of passkey_challenges, taken (deleted) before
its response is checked, so a response counts once even when sent twice at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import webauthn
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    generate_user_handle,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from gql_auth import accounts, audit, passkey_challenges, sessions
from gql_auth.audit import EventKind
from gql_auth.client_info import ClientInfo
from gql_auth.config import Settings
from gql_auth.db import rowcount
from gql_auth.errors import InvalidCredentials, InvalidInput, Reason, Subject
from gql_auth.models import CREDENTIAL_ID_MAX, ChallengePurpose, Passkey, User, utcnow
from gql_auth.passwords import PasswordHasher
from gql_auth.ratelimit import RateLimits, Rule
from gql_auth.validation import EMAIL_MAX

# A person has a handful; the cap keeps one account from piling up rows.
MAX_PASSKEYS_PER_USER = 20
NAME_MAX = 64
# Far above any real credential (a few hundred bytes of JSON), below MAX_BODY_BYTES.
CREDENTIAL_JSON_MAX = 16 * 1024
_TIMEOUT_MS = int(passkey_challenges.LIFETIME.total_seconds() * 1000)
# Requiring user verification makes a passkey a whole sign-in: something held, and
# the PIN or biometric that unlocked it (amr "hwk" and "user").
_SELECTION = AuthenticatorSelectionCriteria(
    resident_key=ResidentKeyRequirement.REQUIRED,
    user_verification=UserVerificationRequirement.REQUIRED,
)


@dataclass(frozen=True, slots=True)
class RelyingParty:
    """Who the passkeys are for: the RP id they are scoped to, the origins that may use them."""

    id: str
    name: str
    origins: tuple[str, ...]
    # Keys the decoy credential ids of usernames without passkeys (see begin_login).
    decoy_key: bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> RelyingParty:
        key = hmac.new(settings.signing_key().encode(), b"passkey decoys", hashlib.sha256)
        return cls(
            id=settings.webauthn_rp_id_in_force,
            name=settings.webauthn_rp_name,
            origins=settings.webauthn_origins_in_force,
            decoy_key=key.digest(),
        )


@dataclass(frozen=True, slots=True)
class LoginChallenge:
    challenge_id: str
    options: str  # PublicKeyCredentialRequestOptions as JSON


async def list_for(db: AsyncSession, *, user_id: int) -> Sequence[Passkey]:
    """The user's passkeys, oldest first."""
    statement = select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.id)
    return (await db.scalars(statement)).all()


async def begin_registration(
    db: AsyncSession,
    hasher: PasswordHasher,
    limits: RateLimits,
    party: RelyingParty,
    *,
    user: User,
    current_password: str,
    client: ClientInfo,
) -> str:
    """Creation options for a new passkey, after the password was checked again.

    A stolen access token alone must not be able to plant the thief's key.
    Passkeys the user has are excluded, so one authenticator is not registered twice.
    """
    await accounts.verify_current_password(
        db, hasher, limits, user=user, password=current_password, client=client
    )
    existing = await list_for(db, user_id=user.id)
    if len(existing) >= MAX_PASSKEYS_PER_USER:
        raise InvalidInput(
            Subject.PASSKEY_CREDENTIAL,
            Reason.TOO_MANY,
            f"At most {MAX_PASSKEYS_PER_USER} passkeys per account; delete one first.",
        )
    # One user.id per account: an authenticator then replaces its older key for us.
    handle = existing[0].user_handle if existing else bytes_to_base64url(generate_user_handle())
    options = webauthn.generate_registration_options(
        rp_id=party.id,
        rp_name=party.name,
        user_name=user.username,
        user_id=base64url_to_bytes(handle),
        user_display_name=user.username,
        timeout=_TIMEOUT_MS,
        authenticator_selection=_SELECTION,
        exclude_credentials=[_descriptor(passkey) for passkey in existing],
    )
    await passkey_challenges.issue(
        db,
        purpose=ChallengePurpose.REGISTRATION,
        challenge=bytes_to_base64url(options.challenge),
        user_id=user.id,
        user_handle=handle,
    )
    return webauthn.options_to_json(options)


async def finish_registration(
    db: AsyncSession,
    party: RelyingParty,
    *,
    user: User,
    credential: str,
    name: str | None,
    client: ClientInfo,
) -> Passkey:
    """Verifies the new credential against the user's challenge and stores its public key."""
    label = _clean_name(name)
    parsed = _registration(credential)
    challenge = _challenge_of(parsed) if parsed is not None else None
    taken = (
        await passkey_challenges.consume_registration(db, user_id=user.id, challenge=challenge)
        if challenge is not None
        else None
    )
    if parsed is None or taken is None or taken.user_handle is None:
        raise _unverified()
    try:
        verified = webauthn.verify_registration_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(taken.challenge),
            expected_rp_id=party.id,
            expected_origin=list(party.origins),
            require_user_verification=True,
        )
    except Exception:  # the library's, cbor2's or binascii's errors: all "not valid"
        raise _unverified() from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if len(credential_id) > CREDENTIAL_ID_MAX:  # over the spec's 1023 bytes
        raise _unverified()
    await sessions.lock_user(db, user.id)  # the user's row first: the one lock order
    passkey = Passkey(
        user_id=user.id,
        credential_id=credential_id,
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        user_handle=taken.user_handle,
        transports=_transports(parsed.response.transports),
        name=label,
        created_at=utcnow(),
    )
    try:
        async with db.begin_nested():  # a savepoint: a duplicate undoes this insert alone
            db.add(passkey)
            await db.flush()
    except IntegrityError:
        raise InvalidInput(
            Subject.PASSKEY_CREDENTIAL, Reason.TAKEN, "This passkey is already registered."
        ) from None
    audit.record(db, EventKind.PASSKEY_ADDED, user_id=user.id, client=client)
    return passkey


async def remove(
    db: AsyncSession,
    hasher: PasswordHasher,
    limits: RateLimits,
    *,
    user: User,
    passkey_id: str,
    current_password: str,
    client: ClientInfo,
) -> None:
    """Deletes one of the user's own passkeys; another user's is NOT_FOUND, like none."""
    await accounts.verify_current_password(
        db, hasher, limits, user=user, password=current_password, client=client
    )
    number = accounts.parse_user_id(passkey_id)  # the same shape of id
    deleted = 0
    if number is not None:
        await sessions.lock_user(db, user.id)
        result = await db.execute(
            delete(Passkey)
            .where(Passkey.id == number, Passkey.user_id == user.id)
            .execution_options(synchronize_session=False)
        )
        deleted = rowcount(result)
    if deleted != 1:
        raise InvalidInput(Subject.PASSKEY_ID, Reason.NOT_FOUND, "You have no such passkey.")
    audit.record(db, EventKind.PASSKEY_REMOVED, user_id=user.id, client=client)


async def begin_login(
    db: AsyncSession,
    limits: RateLimits,
    party: RelyingParty,
    *,
    username: str | None,
    client: ClientInfo,
) -> LoginChallenge:
    """Request options, for one account's passkeys or (no username) any discoverable one.

    A username nobody has, or an account without passkeys, gets decoy
    credential ids derived from the name: stable across requests and shaped
    like real ones, so the options do not tell whether the account exists.
    """
    await limits.consume(Rule.PASSKEY_CHALLENGE_IP, client.address_key)
    user: User | None = None
    allowed: list[PublicKeyCredentialDescriptor] = []
    if username is not None:
        user = await accounts.find_by_login(db, username) if len(username) <= EMAIL_MAX else None
        if user is not None:
            allowed = [_descriptor(passkey) for passkey in await list_for(db, user_id=user.id)]
        if not allowed:
            allowed = [_decoy(party, username)]
    options = webauthn.generate_authentication_options(
        rp_id=party.id,
        timeout=_TIMEOUT_MS,
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
    limits: RateLimits,
    party: RelyingParty,
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
    attempt = await limits.reserve({Rule.PASSKEY_LOGIN_IP: client.address_key})
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
    account = await limits.reserve({Rule.PASSKEY_LOGIN_ACCOUNT: f"user:{passkey.user_id}"})
    user = await db.get(User, passkey.user_id)
    bound = taken.discoverable or taken.user_id == passkey.user_id
    handle = parsed.response.user_handle
    if user is None or not bound or (handle and bytes_to_base64url(handle) != passkey.user_handle):
        raise _failed(db, user_id=passkey.user_id, client=client)
    try:
        verified = webauthn.verify_authentication_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(taken.challenge),
            expected_rp_id=party.id,
            expected_origin=list(party.origins),
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except Exception:  # the library's, cbor2's or binascii's errors: all "not valid"
        raise _failed(db, user_id=user.id, client=client) from None
    if not await _advance_counter(db, passkey, verified.new_sign_count) or not user.is_active:
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


def _unverified() -> InvalidInput:
    return InvalidInput(
        Subject.PASSKEY_CREDENTIAL,
        Reason.INVALID,
        "The passkey could not be verified; start the registration again.",
    )


def _registration(credential: str) -> RegistrationCredential | None:
    """The library's reading of a new credential's JSON, or None when it is malformed."""
    fields = _json_object(credential)
    try:
        return parse_registration_credential_json(fields) if fields is not None else None
    except Exception:  # binascii's or the library's errors: all "malformed"
        return None


def _assertion(credential: str) -> AuthenticationCredential | None:
    """The library's reading of a sign-in assertion's JSON, or None when it is malformed."""
    fields = _json_object(credential)
    try:
        return parse_authentication_credential_json(fields) if fields is not None else None
    except Exception:  # binascii's or the library's errors: all "malformed"
        return None


def _json_object(text: str) -> dict[str, Any] | None:
    if len(text) > CREDENTIAL_JSON_MAX:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _challenge_of(credential: RegistrationCredential) -> str | None:
    try:
        data = parse_client_data_json(credential.response.client_data_json)
    except Exception:  # malformed client data: no challenge to look for
        return None
    return bytes_to_base64url(data.challenge)


def _clean_name(name: str | None) -> str | None:
    label = (name or "").strip()
    if len(label) > NAME_MAX:
        raise InvalidInput(
            Subject.PASSKEY_NAME, Reason.TOO_LONG, f"A name is at most {NAME_MAX} characters."
        )
    return label or None


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    transports = [
        AuthenticatorTransport(value)
        for value in (passkey.transports or "").split(",")
        if value in {member.value for member in AuthenticatorTransport}
    ]
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(passkey.credential_id), transports=transports or None
    )


def _decoy(party: RelyingParty, username: str) -> PublicKeyCredentialDescriptor:
    name = username.strip().lower().encode()
    decoy_id = hmac.new(party.decoy_key, name, hashlib.sha256).digest()
    return PublicKeyCredentialDescriptor(
        id=decoy_id, transports=[AuthenticatorTransport.INTERNAL, AuthenticatorTransport.HYBRID]
    )


def _transports(values: Sequence[AuthenticatorTransport] | None) -> str | None:
    joined = ",".join(value.value for value in values or ())
    return joined[:255] or None
