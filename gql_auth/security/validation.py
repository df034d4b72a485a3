"""Input rules for usernames, e-mail addresses and passwords, shared by every form."""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email
from zxcvbn import zxcvbn

from gql_auth.core.errors import InvalidInput, Reason, Subject

USERNAME_MIN, USERNAME_MAX = 3, 32
PASSWORD_MAX = 256
EMAIL_MAX = 254
# ASCII only: look-alike Unicode letters would let "аdmin" pose as "admin".
_USERNAME = re.compile(r"[A-Za-z0-9_.\-]+")
# zxcvbn scores 0-4; 0 and 1 are "too guessable" (under a million guesses).
_MIN_STRENGTH_SCORE = 2
# zxcvbn slows sharply with length; a strong 64-character prefix is strong enough.
_STRENGTH_PREFIX = 64


def clean_username(username: str, subject: Subject = Subject.USERNAME) -> str:
    username = username.strip()
    if len(username) < USERNAME_MIN:
        raise InvalidInput(
            subject, Reason.TOO_SHORT, f"Username must be at least {USERNAME_MIN} characters."
        )
    if len(username) > USERNAME_MAX:
        raise InvalidInput(
            subject, Reason.TOO_LONG, f"Username must be at most {USERNAME_MAX} characters."
        )
    if not _USERNAME.fullmatch(username):
        raise InvalidInput(
            subject, Reason.INVALID, "Username may contain only letters, digits, '_', '.' and '-'."
        )
    return username


def username_key(username: str) -> str:
    """The form the unique index compares: NFKC and casefold, so fullwidth 'ａｌｉｃｅ' is 'alice'.

    Stored usernames are ASCII, whose key is their lower() as it always was.
    """
    return _fold(username.strip())


def _fold(text: str) -> str:
    # NFKC again after casefold: casefolding can un-normalize.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def login_key(typed: str) -> str:
    """What a typed username or e-mail means: the key its lookup, limits and decoys all use.

    One function, so no spelling of a name (case, padding, fullwidth letters) is
    counted or answered apart from the account it names, known or not.
    """
    if "@" in _fold(typed):  # a fullwidth '＠' makes an address too
        return address_key(typed)
    return username_key(typed)[:EMAIL_MAX]


def clean_email(email: str, subject: Subject = Subject.EMAIL) -> str:
    """The address as stored and mailed: email_validator's normalized form, lower-cased.

    Its email_key must fit the column too (NFKC can lengthen a string).
    """
    email = email.strip()
    if len(email) > EMAIL_MAX:
        raise InvalidInput(
            subject, Reason.TOO_LONG, f"E-mail must be at most {EMAIL_MAX} characters."
        )
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(subject, Reason.INVALID, "This is not a valid e-mail address.") from None
    cleaned = checked.normalized.lower()
    if len(email_key(cleaned)) > EMAIL_MAX:
        raise InvalidInput(
            subject, Reason.TOO_LONG, f"E-mail must be at most {EMAIL_MAX} characters."
        )
    return cleaned


def email_key(address: str) -> str:
    """What uniqueness and every lookup compare, byte for byte on every backend.

    NFKC folds look-alikes (fullwidth "ｊｏｓｅ" is "jose"), casefold folds case;
    accents stay, so "josé" and "jose" are two addresses, whatever a collation says.
    Pass a clean_email() result; NFKC runs again since casefolding can un-normalize.
    """
    return _fold(address)


def address_key(typed: str) -> str:
    """The email_key of whatever a client typed, valid address or not (lookups, mail limits)."""
    try:
        return email_key(clean_email(typed))
    except InvalidInput:
        # New accounts never have such an address; rows from older rules were keyed
        # this way by migration 0004, so they are still found. Either way, it counts.
        return email_key(typed.strip())[:EMAIL_MAX]


def check_password_shape(
    password: str, *, min_length: int, subject: Subject = Subject.PASSWORD
) -> None:
    """Length only: NIST 800-63B asks for no composition rules."""
    if len(password) < min_length:
        raise InvalidInput(
            subject, Reason.TOO_SHORT, f"Password must be at least {min_length} characters."
        )
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(
            subject, Reason.TOO_LONG, f"Password must be at most {PASSWORD_MAX} characters."
        )


def check_password_strength(
    password: str, *, user_inputs: list[str], subject: Subject = Subject.PASSWORD
) -> None:
    """Refuses common and easily guessed passwords; CPU-bound, run it off the loop."""
    result = zxcvbn(password[:_STRENGTH_PREFIX], user_inputs=user_inputs)
    if result["score"] < _MIN_STRENGTH_SCORE:
        raise InvalidInput(
            subject,
            Reason.TOO_COMMON,
            "This password is too common or easy to guess; choose another.",
        )


def clean_label(text: str, *, max_length: int) -> str:
    """A name a user gives something (an organization, an API key), without surrounding spaces.

    BAD_USER_INPUT on name: REQUIRED when empty, TOO_LONG, INVALID with control
    characters (a label ends up in lists, logs and mails).
    """
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput(Subject.NAME, Reason.REQUIRED, "A name is required.")
    if len(cleaned) > max_length:
        raise InvalidInput(
            Subject.NAME, Reason.TOO_LONG, f"A name is at most {max_length} characters."
        )
    if not cleaned.isprintable():
        raise InvalidInput(Subject.NAME, Reason.INVALID, "A name cannot hold control characters.")
    return cleaned
