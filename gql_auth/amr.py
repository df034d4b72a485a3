"""How a sign-in was proved, in RFC 8176 words: the `amr` of sessions and access tokens.

RFC 8176 has no word for a recovery code; a sign-in with one is reported as
"otp" too, since it stands in for the authenticator app and is as single-use.
"""

from __future__ import annotations

from collections.abc import Sequence

PASSWORD = ("pwd",)
PASSWORD_AND_OTP = ("pwd", "otp")
# A passkey: a hardware-bound key whose authenticator verified the user (PIN, biometrics).
PASSKEY = ("hwk", "user")

# Methods that make a sign-in multi-factor on their own account: a one-time code after
# the password, a passkey (possession plus the authenticator's user verification), or
# an explicit "mfa".
_MULTI_FACTOR = frozenset({"otp", "hwk", "mfa"})


def is_multi_factor(methods: Sequence[str]) -> bool:
    """Whether a session proved more than a password (what ADMIN_REQUIRES_MFA asks)."""
    return not _MULTI_FACTOR.isdisjoint(methods)
