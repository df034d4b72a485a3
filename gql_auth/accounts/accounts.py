"""Account policy: registration, sign-in checks, lookups and role changes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.accounts import token_revocation
from gql_auth.audit import audit
from gql_auth.audit.audit import EventKind
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.database import savepoint
from gql_auth.core.errors import InvalidCredentials, InvalidInput, Reason, Subject
from gql_auth.core.models import Role
from gql_auth.limits.limiter import RateLimits, Reservation, Rule
from gql_auth.security.passwords import PasswordHasher
from gql_auth.security.validation import (
    EMAIL_MAX,
    PASSWORD_MAX,
    check_password_shape,
    check_password_strength,
    clean_email,
    clean_username,
    email_key,
    login_key,
    username_key,
)
from gql_auth.users.locks import still_as_checked
from gql_auth.users.models import User
from gql_auth.webhooks import outbox
from gql_auth.webhooks.events import EventType, user_data, user_identity


async def register(
    db: AsyncSession,
    hasher: PasswordHasher,
    *,
    username: str,
    email: str,
    password: str,
    password_min_length: int,
    client: ClientInfo,
    role: Role = Role.USER,
) -> User:
    """Creates an account after every rule passed; a refusal creates nothing."""
    username = clean_username(username)
    email = clean_email(email)
    await ensure_available(db, username=username, email=email)
    user = User(
        username=username,
        username_key=username_key(username),
        email=email,
        email_key=email_key(email),
        password_hash=await hash_new_password(
            hasher,
            password,
            min_length=password_min_length,
            user_inputs=[username, email],
            subject=Subject.PASSWORD,
        ),
        role=role,
    )
    try:
        # A savepoint: losing the race undoes this insert alone, not the request.
        async with savepoint(db):
            db.add(user)
            await db.flush()
    except IntegrityError:
        # Lost a race with a concurrent registration of the same name: say which.
        await ensure_available(db, username=username, email=email, latest=True)
        raise
    audit.record(db, EventKind.REGISTERED, user_id=user.id, client=client)
    await outbox.emit(db, EventType.USER_CREATED, user_data(user))
    return user


async def hash_new_password(
    hasher: PasswordHasher,
    password: str,
    *,
    min_length: int,
    user_inputs: list[str],
    subject: Subject,
) -> str:
    """Applies the registration rules to a new password, then hashes it."""
    check_password_shape(password, min_length=min_length, subject=subject)
    await hasher.run(_check_strength, password, user_inputs, subject)
    return await hasher.hash(password)


def _check_strength(password: str, user_inputs: list[str], subject: Subject) -> None:
    check_password_strength(password, user_inputs=user_inputs, subject=subject)


async def ensure_available(
    db: AsyncSession,
    *,
    username: str | None = None,
    email: str | None = None,
    latest: bool = False,
) -> None:
    """TAKEN when another account holds the username (ignoring case) or e-mail; None skips.

    The e-mail is a clean_email() result, compared by its email_key: pending
    addresses of other accounts do not count (confirming one checks again).
    `latest` reads with a shared lock, which sees the latest commit rather than
    the transaction's snapshot: after a lost race, the winner's row.
    """
    key = username_key(username) if username is not None else None
    conditions = [
        *([User.username_key == key] if key is not None else []),
        *([User.email_key == email_key(email)] if email is not None else []),
    ]
    if not conditions:
        return
    statement = select(User.username_key).where(or_(*conditions))
    if latest:
        statement = statement.with_for_update(read=True)
    taken = (await db.execute(statement)).all()
    if key is not None and any(row.username_key == key for row in taken):
        raise InvalidInput(Subject.USERNAME, Reason.TAKEN, "This username is already taken.")
    if taken:
        raise InvalidInput(
            Subject.EMAIL, Reason.TAKEN, "This e-mail address is already registered."
        )


async def find_by_login(db: AsyncSession, login: str) -> User | None:
    """The user a typed username or e-mail names (its login_key); usernames cannot hold '@'."""
    key = login_key(login)
    if "\x00" in key:
        return None  # no name or address holds NUL (and PostgreSQL text cannot)
    column = User.email_key if "@" in key else User.username_key
    return await db.scalar(select(User).where(column == key))


# Longer than any id we will hand out: longer input cannot name a user.
_MAX_ID_DIGITS = 18


def parse_user_id(text: str) -> int | None:
    """An id as clients send it, or None when it cannot name any user."""
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_ID_DIGITS:
        return None
    return int(text)


async def get_user(db: AsyncSession, user_id: int) -> User | None:
    return await db.get(User, user_id)


@dataclass(frozen=True, slots=True)
class PasswordChecked:
    """A password that matched, and the hash it matched, to be checked again under the lock."""

    user: User
    password_hash: str
    # The same password hashed with today's parameters, when the stored hash is older;
    # stored only once the sign-in has seen, under the lock, that the hash is unchanged.
    upgraded_hash: str | None


async def authenticate(
    db: AsyncSession,
    hasher: PasswordHasher,
    limits: RateLimits,
    *,
    login: str,
    password: str,
    client: ClientInfo,
) -> PasswordChecked:
    """The active user whose password matches, else InvalidCredentials.

    Wrong password, unknown name and inactive account look identical, in
    message and in time, so nobody can probe which accounts exist. The attempt
    is reserved under every limit before any password is checked, so parallel
    guesses count too and a throttled guess learns nothing. This is the
    password step only, run before any lock (hashing must not hold one):
    signin.with_password checks the result again under the user's row lock.
    """
    user = await find_by_login(db, login) if len(login) <= EMAIL_MAX else None
    account_key = _account_key(user, login)
    attempt = await reserve_password_check(
        limits, account_key=account_key, client=client, signing_in=True
    )
    candidate = password if len(password) <= PASSWORD_MAX else ""
    stored = user.password_hash if user else None  # None: no account, or no password
    matches = await hasher.verify(stored, candidate)
    if user is None or stored is None or not matches or not candidate or not user.is_active:
        await attempt.refund(Rule.SIGNIN_ACCOUNT_CLIENT)  # a failure, not a sign-in
        count_failed_sign_in(db, user=user, client=client)
        raise InvalidCredentials
    await attempt.refund(*_FAILURE_RULES)  # the owner's sign-ins never use up their failures
    # Parameters were raised since this hash was made: upgrade it now we know the password.
    upgraded = await hasher.hash(password) if hasher.needs_rehash(stored) else None
    return PasswordChecked(user=user, password_hash=stored, upgraded_hash=upgraded)


def _account_key(user: User | None, login: str) -> str:
    """One budget per account, whichever of its names is typed; unknown names get their own."""
    if user is not None:
        return f"user:{user.id}"
    return "name:" + login_key(login)


# What a wrong password counts against; a correct one gives its reservation back.
_FAILURE_RULES = (Rule.LOGIN_ACCOUNT_CLIENT, Rule.LOGIN_ACCOUNT, Rule.LOGIN_IP)


async def reserve_password_check(
    limits: RateLimits, *, account_key: str, client: ClientInfo, signing_in: bool
) -> Reservation:
    """Reserves one password check under every limit that applies, or RateLimited.

    Reserved before the hash runs, all rules at once, so N parallel guesses
    get at most the limit's worth of checks. The caller refunds what the
    outcome does not count; an attempt that ends any other way (an error, a
    cancelled request) stays counted as a failure, the safe side. A refused
    attempt reserves nothing, so an attacker whose own (account, client) budget
    is spent cannot go on eating the account's shared one.
    """
    pair = f"{account_key}|{client.address_key}"
    attempt = {
        Rule.LOGIN_ACCOUNT_CLIENT: pair,
        Rule.LOGIN_ACCOUNT: account_key,
        Rule.LOGIN_IP: client.address_key,
    }
    if signing_in:
        attempt[Rule.SIGNIN_ACCOUNT_CLIENT] = pair
    return await limits.reserve(attempt)


def count_failed_sign_in(db: AsyncSession, *, user: User | None, client: ClientInfo) -> None:
    # The attempt was counted when it was reserved. A success never resets the
    # counts either: that would let an attacker interleave sign-ins to an
    # account of their own and guess on without limit.
    audit.record(db, EventKind.LOGIN_FAILED, user_id=user.id if user else None, client=client)


async def change_password(
    db: AsyncSession,
    hasher: PasswordHasher,
    limits: RateLimits,
    *,
    user: User,
    current_password: str,
    new_password: str,
    password_min_length: int,
    client: ClientInfo,
) -> None:
    """Checks the current password like a sign-in, then sets the new one.

    The caller revokes sessions; a wrong current password is recorded as a
    failed sign-in, since it is one more guess at the password. Mailed links
    die, and a pending address change with them.
    """
    await verify_current_password(
        db, hasher, limits, user=user, password=current_password, client=client
    )
    user.password_hash = await hash_new_password(
        hasher,
        new_password,
        min_length=password_min_length,
        user_inputs=[user.username, user.email],
        subject=Subject.NEW_PASSWORD,
    )
    # Reset links and a pending address change were vouched for by the old password.
    await token_revocation.discard_all(db, user=user)
    audit.record(db, EventKind.PASSWORD_CHANGED, user_id=user.id, client=client)
    await outbox.emit(db, EventType.PASSWORD_CHANGED, user_identity(user) | {"reset": False})


async def verify_current_password(
    db: AsyncSession,
    hasher: PasswordHasher,
    limits: RateLimits,
    *,
    user: User,
    password: str,
    client: ClientInfo,
) -> None:
    """Re-authentication before a sensitive change, limited and counted like a sign-in."""
    account_key = _account_key(user, user.username)
    attempt = await reserve_password_check(
        limits, account_key=account_key, client=client, signing_in=False
    )
    candidate = password if len(password) <= PASSWORD_MAX else ""
    checked = user.password_hash  # None: an account without a password never passes here
    if not await hasher.verify(checked, candidate) or checked is None or not candidate:
        count_failed_sign_in(db, user=user, client=client)
        raise InvalidCredentials("The current password is wrong.")
    await attempt.refund(*_FAILURE_RULES)
    # The hash ran before any lock: a change committed meanwhile (a new password, a
    # reset, a deactivation) wins over this check, on every database.
    if not await still_as_checked(db, user_id=user.id, password_hash=checked):
        count_failed_sign_in(db, user=user, client=client)
        raise InvalidCredentials("The current password is wrong.")
