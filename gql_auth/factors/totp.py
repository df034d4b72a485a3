"""TOTP (RFC 6238) with pyotp: secrets, otpauth:// URIs, QR codes and matching a code to its step.

Pure functions, no database: the replay marker (which steps were used) is
second_factor's. A code is checked against the current 30-second step and
one either side (clock drift), in constant time each.
"""

from __future__ import annotations

import hmac
import io
import time

import pyotp
import segno

# RFC 6238's defaults, which every authenticator app assumes: 6 digits, 30 s, SHA-1.
DIGITS = 6
STEP_SECONDS = 30
# Steps either side of now that still count: a phone a little fast or slow, a slow typist.
DRIFT_STEPS = 1


def new_secret() -> str:
    """160 random bits in base32 (RFC 4226's recommended length)."""
    return pyotp.random_base32(32)


def otpauth_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_code_svg(uri: str) -> str:
    """The URI as a standalone SVG document (segno), for an <img> or inline."""
    buffer = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(buffer, kind="svg", scale=4, xmldecl=False)
    return buffer.getvalue().decode("utf-8")


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def looks_like_code(code: str) -> bool:
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step whose code this is, within the drift allowed, else None."""
    code = code.strip().replace(" ", "")
    if not looks_like_code(code):
        return None
    totp = pyotp.TOTP(secret)
    step = current_step(now)
    found = None
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        # Every candidate is compared: the time taken does not say which one matched.
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            found = candidate
    return found
