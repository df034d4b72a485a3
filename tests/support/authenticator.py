"""A software WebAuthn authenticator (ES256, attestation "none") built on `cryptography`.

It makes what a browser's navigator.credentials.create/get would hand to
PublicKeyCredential.toJSON(), byte for byte per the WebAuthn spec:
authenticatorData = rpIdHash | flags | signCount | attestedCredentialData,
signed together with the SHA-256 of clientDataJSON. Tests bend one part at
a time (origin, RP id, counter, flags) to see the server refuse it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import encode_cbor

USER_PRESENT = 0x01
USER_VERIFIED = 0x04
ATTESTED_DATA = 0x40
# COSE_Key labels (RFC 9053): kty EC2, alg ES256, crv P-256, x, y.
COSE_EC2, COSE_ES256, COSE_P256 = 2, -7, 1


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftCredential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    """Holds its credentials like a platform authenticator; counter_step 0 keeps no counter."""

    origin: str
    counter_step: int = 1
    credentials: dict[bytes, SoftCredential] = field(default_factory=dict)

    def create(
        self,
        options_json: str,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        flags: int = USER_PRESENT | USER_VERIFIED,
    ) -> str:
        """navigator.credentials.create for these creation options, as toJSON() gives it."""
        options = json.loads(options_json)
        key = ec.generate_private_key(ec.SECP256R1())
        credential = SoftCredential(
            credential_id=os.urandom(16),
            private_key=key,
            rp_id=options["rp"]["id"],
            user_handle=unb64url(options["user"]["id"]),
        )
        self.credentials[credential.credential_id] = credential
        numbers = key.public_key().public_numbers()
        cose_key = encode_cbor(
            {
                1: COSE_EC2,
                3: COSE_ES256,
                -1: COSE_P256,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )
        attested = (
            bytes(16)  # AAGUID: zeros, as attestation "none" allows
            + struct.pack(">H", len(credential.credential_id))
            + credential.credential_id
            + cose_key
        )
        auth_data = self._auth_data(rp_id or credential.rp_id, flags | ATTESTED_DATA, 0) + attested
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": b64url(credential.credential_id),
                "rawId": b64url(credential.credential_id),
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal"],
                },
            }
        )

    def get(
        self,
        options_json: str,
        *,
        credential_id: bytes | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        sign_count: int | None = None,
        flags: int = USER_PRESENT | USER_VERIFIED,
    ) -> str:
        """navigator.credentials.get for these request options, as toJSON() gives it."""
        options = json.loads(options_json)
        credential = self.credentials[credential_id or self._pick(options)]
        if sign_count is None:
            credential.sign_count += self.counter_step
            sign_count = credential.sign_count
        auth_data = self._auth_data(rp_id or credential.rp_id, flags, sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = credential.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return json.dumps(
            {
                "id": b64url(credential.credential_id),
                "rawId": b64url(credential.credential_id),
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature),
                    "userHandle": b64url(credential.user_handle),
                },
            }
        )

    @property
    def only_credential_id(self) -> bytes:
        (credential_id,) = self.credentials
        return credential_id

    def _pick(self, options: dict[str, Any]) -> bytes:
        allowed = [unb64url(item["id"]) for item in options.get("allowCredentials") or []]
        for credential_id in allowed or list(self.credentials):  # empty: discoverable
            if credential_id in self.credentials:
                return credential_id
        raise LookupError("no credential of this authenticator is allowed")

    @staticmethod
    def _auth_data(rp_id: str, flags: int, sign_count: int) -> bytes:
        return (
            hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count)
        )

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin},
            separators=(",", ":"),
        ).encode()
