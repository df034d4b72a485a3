"""Encryption at rest for secrets the server must read back (TOTP seeds, webhook secrets).

AES-256-GCM under keys derived with HKDF-SHA256, each use with its own `info`,
so no derived key is ever the signing key or another feature's key. With keys
derived from SECRET_KEY and SECRET_KEY_PREVIOUS, a ciphertext made under the
previous key still opens during a key rotation, and the caller re-seals it.
Each ciphertext is bound to its owner (`context`, e.g. the user id) as
associated data: copied onto another row it does not open.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1:"
_NONCE_BYTES = 12
_TAG_BYTES = 16


class SecretUnreadable(Exception):
    """No key in use opens this ciphertext (a lost key, or a tampered row)."""


@dataclass(frozen=True, slots=True)
class Opened:
    plaintext: str
    # Opened with an older key: seal it again so the old key can be retired.
    stale: bool


def derive_key(material: str, *, info: bytes) -> bytes:
    """A 256-bit AES key for one use (`info`) from a secret of at least 32 bytes."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info)
    return hkdf.derive(material.encode())


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("a SecretBox needs at least one key")
        self._ciphers = [AESGCM(key) for key in keys]

    @classmethod
    def derived(cls, materials: list[str], *, info: bytes) -> SecretBox:
        """Sealing under the first secret, opening under any (a rotation's previous one)."""
        return cls([derive_key(material, info=info) for material in materials])

    def seal(self, plaintext: str, *, context: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)  # random 96-bit nonces: fine far beyond 2**32 seals
        sealed = self._ciphers[0].encrypt(nonce, plaintext.encode(), context.encode())
        return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, ciphertext: str, *, context: str) -> Opened:
        if not ciphertext.startswith(_VERSION):
            raise SecretUnreadable
        try:
            raw = base64.urlsafe_b64decode(ciphertext.removeprefix(_VERSION))
        except ValueError:
            raise SecretUnreadable from None
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise SecretUnreadable
        nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
        for index, cipher in enumerate(self._ciphers):
            try:
                plaintext = cipher.decrypt(nonce, sealed, context.encode())
            except InvalidTag:
                continue
            return Opened(plaintext.decode(), stale=index > 0)
        raise SecretUnreadable
