"""Key pairs for the ES256/RS256 tests: PEM files as an operator keeps them, made once per run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jose import jwk, jwt

from gql_auth.security.signing_keys import new_private_key_pem, public_jwk, public_key_pem
from gql_auth.settings import Settings
from tests.support.helpers import (
    AUDIENCE,
    ISSUER,
    LOW_ARGON2,
)

ASYMMETRIC = ["ES256", "RS256"]


@dataclass(frozen=True)
class KeyPair:
    algorithm: str
    private_file: Path
    public_file: Path

    @property
    def private_pem(self) -> str:
        return self.private_file.read_text()

    @property
    def kid(self) -> str:
        return public_jwk(jwk.construct(self.public_file.read_text(), self.algorithm))["kid"]

    def sign(self, claims: dict[str, Any], **headers: Any) -> str:
        """Claims signed with this key, under its kid unless the headers say otherwise."""
        return str(
            jwt.encode(
                claims,
                self.private_pem,
                algorithm=self.algorithm,
                headers={"kid": self.kid, **headers},
            )
        )

    def claims_of(self, token: str) -> dict[str, Any]:
        """Verified with the public key only, as another service would."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self.public_file.read_text(),
            algorithms=[self.algorithm],
            audience=AUDIENCE,
            issuer=ISSUER,
        )
        return claims


def write_key_pair(directory: Path, name: str, algorithm: str) -> KeyPair:
    private_pem = new_private_key_pem(algorithm)
    private_file = directory / f"{name}.pem"
    private_file.write_text(private_pem)
    os.chmod(private_file, 0o600)
    public_file = directory / f"{name}.pub.pem"
    public_file.write_text(public_key_pem(private_pem))
    return KeyPair(algorithm, private_file, public_file)


def development(tmp_path: Path, algorithm: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "jwt_algorithm": algorithm,
        "secret_key_file": tmp_path / ".gql_auth_secret",
        "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
        **LOW_ARGON2,
        **extra,
    }
    return Settings(_env_file=None, **values)
