"""ES256/RS256 key files: required in production, generated in development, checked. Parallel
first starts of real processes are in tests/system/test_signing_key_files.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gql_auth.core.errors import SettingsError
from gql_auth.security.signing_keys import development_key_file, load_signing_keys
from gql_auth.settings import load_settings
from tests.support.databases import migrate
from tests.support.helpers import (
    PRODUCTION_ARGON2,
    SECRET_KEY,
    running_app,
)
from tests.support.keys import ASYMMETRIC, development, write_key_pair


def write_pem(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> Path:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)
    path.chmod(0o600)
    return path


def production(tmp_path: Path, algorithm: str, **extra: Any) -> dict[str, Any]:
    """What an operator sets for ES256/RS256 in production, SECRET_KEY_FILE kept in tmp_path."""
    key = write_key_pair(tmp_path, "signing", algorithm)
    return {
        "environment": "production",
        "jwt_algorithm": algorithm,
        "jwt_private_key_file": str(key.private_file),
        "secret_key_file": str(tmp_path / ".gql_auth_secret"),
        "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
        **PRODUCTION_ARGON2,
        **extra,
    }


@pytest.mark.parametrize("algorithm", ASYMMETRIC)
class TestProduction:
    """Production never generates a key: a per-host one breaks TOTP and decoys across hosts."""

    def test_it_refuses_to_start_without_a_private_key_file(self, algorithm: str) -> None:
        with pytest.raises(SettingsError, match="JWT_PRIVATE_KEY_FILE must be set"):
            load_settings(_env_file=None, environment="production", jwt_algorithm=algorithm)

    def test_a_key_file_without_secret_key_is_refused_in_one_line_and_writes_no_file(
        self, algorithm: str, tmp_path: Path
    ) -> None:
        with pytest.raises(SettingsError) as raised:
            load_settings(_env_file=None, **production(tmp_path, algorithm))

        message = str(raised.value)
        assert "SECRET_KEY must be set" in message
        assert "TOTP" in message
        assert "\n" not in message
        written = sorted(path.name for path in tmp_path.iterdir())
        assert written == ["signing.pem", "signing.pub.pem"]

    def test_both_missing_are_named_in_one_line(self, algorithm: str) -> None:
        with pytest.raises(SettingsError) as raised:
            load_settings(
                _env_file=None,
                environment="production",
                jwt_algorithm=algorithm,
                **PRODUCTION_ARGON2,
            )

        message = str(raised.value)
        assert "SECRET_KEY must be set" in message
        assert "JWT_PRIVATE_KEY_FILE must be set" in message
        assert "\n" not in message

    async def test_it_starts_with_a_key_file_and_a_secret_key_and_writes_no_file(
        self, algorithm: str, tmp_path: Path
    ) -> None:
        settings = load_settings(
            _env_file=None, **production(tmp_path, algorithm, secret_key=SECRET_KEY)
        )
        migrate(settings.database_url)

        async with running_app(settings) as client:
            health = await client.get("/healthz")
            jwks = (await client.get("/.well-known/jwks.json")).json()

        assert health.status_code == 200
        assert [key["kid"] for key in jwks["keys"]] == [load_signing_keys(settings).kid]
        assert not (tmp_path / ".gql_auth_secret").exists()
        assert not development_key_file(settings).exists()


def test_hs256_in_production_still_needs_secret_key() -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY must be set"):
        load_settings(_env_file=None, environment="production", **PRODUCTION_ARGON2)


class TestKeysThatDoNotFit:
    def test_an_rsa_key_under_2048_bits_is_refused(self, tmp_path: Path) -> None:
        small = write_pem(tmp_path / "small.pem", rsa.generate_private_key(65537, 1024))  # noqa: S505 - the point

        with pytest.raises(SettingsError, match="1024-bit RSA key; RS256 needs at least 2048"):
            load_signing_keys(development(tmp_path, "RS256", jwt_private_key_file=small))

    @pytest.mark.parametrize(
        ("algorithm", "make_key", "problem"),
        [
            ("ES256", lambda: ec.generate_private_key(ec.SECP384R1()), "not a P-256"),
            ("ES256", lambda: rsa.generate_private_key(65537, 2048), "not a P-256"),
            ("RS256", lambda: ec.generate_private_key(ec.SECP256R1()), "not an RSA key"),
        ],
        ids=["es256-p384", "es256-rsa", "rs256-ec"],
    )
    def test_a_key_of_another_kind_is_refused(
        self,
        tmp_path: Path,
        algorithm: str,
        make_key: Callable[[], ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey],
        problem: str,
    ) -> None:
        path = write_pem(tmp_path / "key.pem", make_key())

        with pytest.raises(SettingsError, match=problem):
            load_signing_keys(development(tmp_path, algorithm, jwt_private_key_file=path))

    def test_a_file_that_is_no_pem_key_is_refused_without_echoing_it(self, tmp_path: Path) -> None:
        path = tmp_path / "key.pem"
        path.write_text(SECRET_KEY)
        path.chmod(0o600)

        with pytest.raises(SettingsError) as raised:
            load_signing_keys(development(tmp_path, "ES256", jwt_private_key_file=path))

        assert "not an unencrypted PEM private key" in str(raised.value)
        assert SECRET_KEY not in str(raised.value)

    def test_a_missing_key_file_is_named(self, tmp_path: Path) -> None:
        missing = tmp_path / "nowhere.pem"

        with pytest.raises(SettingsError, match=f"JWT_PRIVATE_KEY_FILE {missing} does not exist"):
            load_signing_keys(development(tmp_path, "ES256", jwt_private_key_file=missing))

    def test_a_private_key_listed_as_previous_is_refused(self, tmp_path: Path) -> None:
        current = write_key_pair(tmp_path, "current", "ES256")
        retired = write_key_pair(tmp_path, "retired", "ES256")
        settings = development(
            tmp_path,
            "ES256",
            jwt_private_key_file=current.private_file,
            jwt_previous_public_key_files=str(retired.private_file),
        )

        with pytest.raises(SettingsError, match="holds a private key; list its public key"):
            load_signing_keys(settings)

    def test_a_previous_key_of_another_kind_is_refused(self, tmp_path: Path) -> None:
        current = write_key_pair(tmp_path, "current", "ES256")
        rsa_key = write_key_pair(tmp_path, "rsa", "RS256")
        settings = development(
            tmp_path,
            "ES256",
            jwt_private_key_file=current.private_file,
            jwt_previous_public_key_files=f"{current.public_file}, {rsa_key.public_file}",
        )

        with pytest.raises(SettingsError, match="JWT_PREVIOUS_PUBLIC_KEY_FILES .*not a P-256"):
            load_signing_keys(settings)


class TestPrivateFileSafety:
    """The same refusals as for SECRET_KEY_FILE: nobody else may read, plant or swap the key."""

    def test_a_key_file_others_may_read_is_refused(self, tmp_path: Path) -> None:
        key = write_key_pair(tmp_path, "signing", "ES256")
        key.private_file.chmod(0o644)

        with pytest.raises(SettingsError, match="has mode 0644, so other users may read the key"):
            load_signing_keys(development(tmp_path, "ES256", jwt_private_key_file=key.private_file))

    def test_a_symlinked_key_file_is_refused(self, tmp_path: Path) -> None:
        key = write_key_pair(tmp_path, "signing", "ES256")
        link = tmp_path / "link.pem"
        link.symlink_to(key.private_file)

        with pytest.raises(SettingsError, match="is a symbolic link"):
            load_signing_keys(development(tmp_path, "ES256", jwt_private_key_file=link))

    def test_a_planted_symlink_where_development_keeps_its_key_is_refused(
        self, tmp_path: Path
    ) -> None:
        settings = development(tmp_path, "ES256")
        target = tmp_path / "elsewhere"
        development_key_file(settings).symlink_to(target)

        with pytest.raises(SettingsError, match="is a symbolic link"):
            load_signing_keys(settings)
        assert not target.exists()  # nothing was written through it
