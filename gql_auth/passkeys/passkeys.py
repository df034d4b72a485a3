"""Passkeys (WebAuthn, with Duo Labs' `webauthn`): registering, listing and deleting them.

Options and credentials travel as the JSON that the browser's
PublicKeyCredential.parse*OptionsFromJSON reads and toJSON writes. Every
ceremony answers a challenge of passkey_challenges, taken (deleted) before
its response is checked, so a response counts once even when sent twice at once.
Signing in with a passkey is passkey_login's.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import webauthn
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    generate_user_handle,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from gql_auth.accounts import accounts
from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import rowcount, savepoint
from gql_auth.core.errors import InvalidInput, Reason, Subject
from gql_auth.core.models import utcnow
from gql_auth.factors.factors import require_step_up
from gql_auth.factors.models import CREDENTIAL_ID_MAX, Passkey
from gql_auth.limits.limiter import RateLimits
from gql_auth.passkeys import challenges as passkey_challenges
from gql_auth.passkeys.models import ChallengePurpose
from gql_auth.passkeys.settings import PasskeySettings
from gql_auth.security.json_input import loads as bounded_json
from gql_auth.security.passwords import PasswordHasher
from gql_auth.users.models import User

# A person has a handful; the cap keeps one account from piling up rows.
MAX_PASSKEYS_PER_USER = 20
NAME_MAX = 64
# Far above any real credential (a few hundred bytes of JSON), below MAX_BODY_BYTES.
CREDENTIAL_JSON_MAX = 16 * 1024
TIMEOUT_MS = int(passkey_challenges.LIFETIME.total_seconds() * 1000)
# Offered and accepted alike: an authenticator must not pick a key type we then refuse.
_ALGORITHMS = [
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
# Requiring user verification makes a passkey a whole sign-in: something held, and
# the PIN or biometric that unlocked it (amr "hwk" and "user"). Resident keys let a
# sign-in start without a username.
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
    def from_settings(cls, settings: PasskeySettings) -> RelyingParty:
        key = hmac.new(settings.signing_key().encode(), b"passkey decoys", hashlib.sha256)
        return cls(
            id=settings.webauthn_rp_id_in_force,
            name=settings.webauthn_rp_name,
            origins=settings.webauthn_origins_in_force,
            decoy_key=key.digest(),
        )


@dataclass(frozen=True, slots=True)
class PasskeyServices:
    """What the passkey ceremonies work with, built once per app (gql_auth.services)."""

    hasher: PasswordHasher  # the current password, checked again before a change
    limits: RateLimits
    relying_party: RelyingParty


async def list_for(db: AsyncSession, *, user_id: int) -> Sequence[Passkey]:
    """The user's passkeys, oldest first."""
    statement = select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.id)
    return (await db.scalars(statement)).all()


async def begin_registration(
    db: AsyncSession,
    services: PasskeyServices,
    *,
    user: User,
    session_id: str,
    current_password: str,
    client: ClientInfo,
) -> str:
    """Creation options for a new passkey, after the password was checked again.

    A stolen access token alone must not be able to plant the thief's key, nor
    a stolen password once the account holds a factor (step-up). Passkeys the
    user has are excluded, so one authenticator is not registered twice.
    """
    await accounts.verify_current_password(
        db, services.hasher, services.limits, user=user, password=current_password, client=client
    )
    await require_step_up(db, user_id=user.id, session_id=session_id)
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
        rp_id=services.relying_party.id,
        rp_name=services.relying_party.name,
        user_name=user.username,
        user_id=base64url_to_bytes(handle),
        user_display_name=user.username,
        timeout=TIMEOUT_MS,
        authenticator_selection=_SELECTION,
        exclude_credentials=[descriptor(passkey) for passkey in existing],
        supported_pub_key_algs=_ALGORITHMS,
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
    services: PasskeyServices,
    *,
    user: User,
    session_id: str,
    credential: str,
    name: str | None,
    client: ClientInfo,
) -> Passkey:
    """Verifies the new credential against the user's challenge and stores its public key.

    Step-up is checked again under the lock: a factor added since the options counts.
    """
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
            expected_rp_id=services.relying_party.id,
            expected_origin=list(services.relying_party.origins),
            require_user_verification=True,
            supported_pub_key_algs=_ALGORITHMS,
        )
    except Exception:  # the library's, cbor2's or binascii's errors: all "not valid"
        raise _unverified() from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if len(credential_id) > CREDENTIAL_ID_MAX:  # over the spec's 1023 bytes
        raise _unverified()
    # The user's row lock first (the one lock order), taken by the step-up check.
    await require_step_up(db, user_id=user.id, session_id=session_id)
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
        async with savepoint(db):  # a savepoint: a duplicate undoes this insert alone
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
    services: PasskeyServices,
    *,
    user: User,
    session_id: str,
    passkey_id: str,
    current_password: str,
    client: ClientInfo,
) -> None:
    """Deletes one of the user's own passkeys; another user's is NOT_FOUND, like none.

    The password and a session that proved a factor (step-up): a password alone
    must never remove the last factor and then add the thief's own.
    """
    await accounts.verify_current_password(
        db, services.hasher, services.limits, user=user, password=current_password, client=client
    )
    await require_step_up(db, user_id=user.id, session_id=session_id)
    number = accounts.parse_user_id(passkey_id)  # the same shape of id
    deleted = 0
    if number is not None:
        result = await db.execute(
            delete(Passkey)
            .where(Passkey.id == number, Passkey.user_id == user.id)
            .execution_options(synchronize_session=False)
        )
        deleted = rowcount(result)
    if deleted != 1:
        raise InvalidInput(Subject.ITEM_ID, Reason.NOT_FOUND, "You have no such passkey.")
    audit.record(db, EventKind.PASSKEY_REMOVED, user_id=user.id, client=client)


def _unverified() -> InvalidInput:
    return InvalidInput(
        Subject.PASSKEY_CREDENTIAL,
        Reason.INVALID,
        "The passkey could not be verified; start the registration again.",
    )


def _registration(credential: str) -> RegistrationCredential | None:
    """The library's reading of a new credential's JSON, or None when it is malformed."""
    fields = json_object(credential)
    try:
        return parse_registration_credential_json(fields) if fields is not None else None
    except Exception:  # binascii's or the library's errors: all "malformed"
        return None


def json_object(text: str) -> dict[str, Any] | None:
    if len(text) > CREDENTIAL_JSON_MAX:
        return None
    try:
        value = bounded_json(text)  # 16 KiB of "[" would exhaust the recursion limit
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
            Subject.NAME, Reason.TOO_LONG, f"A name is at most {NAME_MAX} characters."
        )
    return label or None


def descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    transports = [
        AuthenticatorTransport(value)
        for value in (passkey.transports or "").split(",")
        if value in {member.value for member in AuthenticatorTransport}
    ]
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(passkey.credential_id), transports=transports or None
    )


def _transports(values: Sequence[AuthenticatorTransport] | None) -> str | None:
    joined = ",".join(value.value for value in values or ())
    return joined[:255] or None
