"""The key format: `gqa_` + random base62 + a CRC32 checksum, recognizable offline.

Secret scanners (GitHub push protection, trufflehog, gitleaks) find a key by
its prefix and confirm it by its checksum without calling us, and so can we:
a key whose checksum is wrong is refused before any database read.
"""

from __future__ import annotations

import secrets
import string
import zlib

PREFIX = "gqa_"
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase  # 0-9A-Za-z
RANDOM_LENGTH = 32  # 32 base62 digits: about 190 bits
MIN_RANDOM_LENGTH = 27  # 160 bits: what the contract promises any key has
MAX_RANDOM_LENGTH = 64
CHECKSUM_LENGTH = 6  # 62**6 > 2**32: every CRC32 fits
# The first characters shown in lists to tell keys apart: the prefix and four random ones.
PUBLIC_PREFIX_LENGTH = len(PREFIX) + 4
_DIGITS = frozenset(ALPHABET)


def new_key() -> str:
    body = PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + checksum(body)


def checksum(body: str) -> str:
    """CRC32 (IEEE) of `body` as 6 base62 digits, most significant first, zero-padded."""
    value = zlib.crc32(body.encode("ascii"))
    digits = []
    for _ in range(CHECKSUM_LENGTH):
        value, digit = divmod(value, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def presents_a_key(token: str) -> bool:
    """Whether a bearer credential claims to be a key (and not an access token)."""
    return token.startswith(PREFIX)


def is_well_formed(key: str) -> bool:
    """The prefix, a plausible length, base62 only, and a checksum that matches."""
    random_length = len(key) - len(PREFIX) - CHECKSUM_LENGTH
    if not key.startswith(PREFIX) or not MIN_RANDOM_LENGTH <= random_length <= MAX_RANDOM_LENGTH:
        return False
    rest = key[len(PREFIX) :]
    if not _DIGITS.issuperset(rest):
        return False
    body, given = key[:-CHECKSUM_LENGTH], key[-CHECKSUM_LENGTH:]
    return secrets.compare_digest(checksum(body), given)


def public_prefix(key: str) -> str:
    return key[:PUBLIC_PREFIX_LENGTH]
