"""The keys that sign and verify access tokens: SECRET_KEY (HS*), or a PEM key pair (ES256/RS256).

With a key pair, other services verify tokens with the public half alone,
published as a JWKS; each key is named by its RFC 7638 thumbprint (`kid`),
and verification uses only keys of this allow-list.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk
from jose.backends.base import Key

from gql_auth.core.errors import SettingsError
from gql_auth.core.key_files import create_private_file, read_private_file
from gql_auth.security.settings import SecuritySettings

# RSA keys under this many bits are refused; new ones get more (NIST's size beyond 2030).
MIN_RSA_BITS = 2048
NEW_RSA_BITS = 3072
# RFC 7638 3.2: the members that make up each key type's thumbprint.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}

PublicJwk = dict[str, str]


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """What signs new tokens and what verifies presented ones, built once per process."""

    algorithm: str
    # HS*: SECRET_KEY as given. ES256/RS256: the private key.
    signing_key: str | Key
    # The signing key's thumbprint, sent as `kid`; None with HS* (tokens as they always were).
    kid: str | None = None
    # HS*: the current secret, then the previous one, tried in turn.
    secrets: tuple[Key, ...] = ()
    # ES256/RS256: every accepted public key by its thumbprint; nothing else verifies.
    by_kid: Mapping[str, Key] = field(default_factory=dict)
    # The JWKS members, the signing key's first; empty with HS*.
    published: tuple[PublicJwk, ...] = ()

    @property
    def asymmetric(self) -> bool:
        return self.kid is not None


def load_signing_keys(settings: SecuritySettings) -> SigningKeys:
    """The keys the settings name; SettingsError, naming the setting, if one is unusable."""
    algorithm = settings.jwt_algorithm
    if not settings.is_asymmetric:
        previous = settings.secret_key_previous
        secret = settings.signing_key()
        # Key objects are built once: given a string, python-jose tries it as
        # JSON and builds a new key on every decode (a third of its cost).
        candidates = [secret] + ([previous.get_secret_value()] if previous else [])
        return SigningKeys(
            algorithm, secret, secrets=tuple(jwk.construct(key, algorithm) for key in candidates)
        )
    private_key = _private_key(settings)
    public_keys = [private_key.public_key()] + [
        _previous_public_key(Path(path), algorithm)
        for path in settings.jwt_previous_public_key_files
    ]
    published: dict[str, PublicJwk] = {}
    by_kid: dict[str, Key] = {}
    for public_key in public_keys:
        key = _jose_public_key(public_key, algorithm)
        member = public_jwk(key)
        # Listing one key twice (e.g. the current one as "previous") publishes it once.
        published.setdefault(member["kid"], member)
        by_kid[member["kid"]] = key
    signer = jwk.construct(_private_pem(private_key), algorithm)
    kid = next(iter(published))  # the signing key's, listed first
    return SigningKeys(
        algorithm, signer, kid=kid, by_kid=by_kid, published=tuple(published.values())
    )


def public_jwk(key: Key) -> PublicJwk:
    """The JWKS member of a public key: its public parameters, `kid`, `alg` and `use: sig`."""
    members = {name: str(value) for name, value in key.to_dict().items()}
    members.update(kid=thumbprint(members), use="sig")
    return members


def thumbprint(members: Mapping[str, str]) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, without whitespace; base64url."""
    required = _THUMBPRINT_MEMBERS[members["kty"]]
    canonical = json.dumps({name: members[name] for name in required}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_private_key_pem(algorithm: str) -> str:
    """A fresh signing key as PKCS#8 PEM: P-256 for ES256, RSA-3072 for RS256."""
    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if algorithm == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "RS256":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=NEW_RSA_BITS)
    else:
        raise ValueError(f"no key pair for {algorithm}")
    return _private_pem(private_key).decode("ascii")


def public_key_pem(private_pem: str) -> str:
    """The public half of a PEM private key (what JWT_PREVIOUS_PUBLIC_KEY_FILES lists)."""
    private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return _public_pem(private_key.public_key()).decode("ascii")  # type: ignore[arg-type]


def kid_of_pem(private_pem: str, algorithm: str) -> str:
    """The `kid` of tokens signed with this PEM private key."""
    private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public_key = private_key.public_key()
    return public_jwk(_jose_public_key(public_key, algorithm))["kid"]  # type: ignore[arg-type]


def development_key_file(settings: SecuritySettings) -> Path:
    """Where development keeps its generated key pair: beside SECRET_KEY_FILE, per algorithm."""
    secret_file = settings.secret_key_file
    return secret_file.with_name(f"{secret_file.name}.{settings.jwt_algorithm.lower()}.pem")


_PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


def _jose_public_key(public_key: _PublicKey, algorithm: str) -> Key:
    return jwk.construct(_public_pem(public_key), algorithm)


def _public_pem(public_key: _PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _private_pem(private_key: _PrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _private_key(settings: SecuritySettings) -> _PrivateKey:
    setting = "JWT_PRIVATE_KEY_FILE"
    path = settings.jwt_private_key_file
    generated = path is None
    if path is None:
        if (
            settings.is_production
        ):  # SecuritySettings refuses this; a key per host must never be made
            raise SettingsError(f"JWT_PRIVATE_KEY_FILE must be set for {settings.jwt_algorithm}")
        path = development_key_file(settings)
        setting = f"JWT_PRIVATE_KEY_FILE (development: {path.name})"
    pem = read_private_file(path, setting=setting)
    if pem is None:
        if not generated:
            raise SettingsError(f"{setting} {path} does not exist (gql-auth gen-key writes one)")
        pem = create_private_file(
            path, new_private_key_pem(settings.jwt_algorithm), setting=setting
        )
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise SettingsError(
            f"{setting} {path} is not an unencrypted PEM private key (gql-auth gen-key writes one)"
        ) from None
    return _checked(key, settings.jwt_algorithm, f"{setting} {path}")  # type: ignore[return-value]


def _previous_public_key(path: Path, algorithm: str) -> _PublicKey:
    where = f"JWT_PREVIOUS_PUBLIC_KEY_FILES {path}"
    try:
        pem = path.read_bytes()
    except OSError as error:
        raise SettingsError(f"{where}: cannot read it ({error.strerror})") from None
    if b"PRIVATE KEY" in pem:
        # A retired private key has no business being spread around: ask for its public half.
        raise SettingsError(
            f"{where} holds a private key; list its public key instead "
            f"(openssl pkey -in {path} -pubout)"
        )
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError):
        raise SettingsError(f"{where} is not a PEM public key") from None
    return _checked(key, algorithm, where)  # type: ignore[return-value]


def _checked(key: object, algorithm: str, where: str) -> _PrivateKey | _PublicKey:
    """The key if it fits the algorithm: P-256 for ES256, RSA of MIN_RSA_BITS or more for RS256."""
    if algorithm == "ES256":
        if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) and isinstance(
            key.curve, ec.SECP256R1
        ):
            return key
        raise SettingsError(f"{where} is not a P-256 (prime256v1) key, which ES256 needs")
    if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        raise SettingsError(f"{where} is not an RSA key, which RS256 needs")
    if key.key_size < MIN_RSA_BITS:
        raise SettingsError(
            f"{where} is a {key.key_size}-bit RSA key; RS256 needs at least {MIN_RSA_BITS} bits"
        )
    return key
