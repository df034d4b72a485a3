"""How a sign-in was proved, in RFC 8176 words: the `amr` of sessions and access tokens.

RFC 8176 has no word for a recovery code; a sign-in with one is reported as
"otp" too, since it stands in for the authenticator app and is as single-use.
"""

from __future__ import annotations

PASSWORD = ("pwd",)
PASSWORD_AND_OTP = ("pwd", "otp")
# A passkey: a hardware-bound key whose authenticator verified the user (PIN, biometrics).
PASSKEY = ("hwk", "user")
# Signed in through a social provider (OpenID Connect): federated, never "pwd". RFC 8176
# has no word for it; "fed" is what Azure AD and others send.
FEDERATED = ("fed",)
