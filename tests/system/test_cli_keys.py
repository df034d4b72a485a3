"""`gql-auth gen-key`, run as an operator would: a usable key, kept private, never overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gql_auth.security.signing_keys import MIN_RSA_BITS, load_signing_keys
from tests.support.cli import run_cli
from tests.support.helpers import make_settings


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
class TestGenKey:
    def test_it_writes_a_private_key_0600_and_its_public_key_beside_it(
        self, tmp_path: Path, algorithm: str
    ) -> None:
        done = run_cli("gen-key", "--algorithm", algorithm, "--output", "next.pem", cwd=tmp_path)

        assert done.returncode == 0, done.stderr
        private_file, public_file = tmp_path / "next.pem", tmp_path / "next.pub.pem"
        assert private_file.stat().st_mode & 0o777 == 0o600
        assert public_file.stat().st_mode & 0o077 != 0o077  # public: readable, not writable
        private_key = serialization.load_pem_private_key(private_file.read_bytes(), None)
        public_key = serialization.load_pem_public_key(public_file.read_bytes())
        assert private_key.public_key().public_numbers() == public_key.public_numbers()  # type: ignore[union-attr]
        if algorithm == "ES256":
            assert isinstance(private_key, ec.EllipticCurvePrivateKey)
            assert isinstance(private_key.curve, ec.SECP256R1)
        else:
            assert isinstance(private_key, rsa.RSAPrivateKey)
            assert private_key.key_size > MIN_RSA_BITS

        keys = load_signing_keys(
            make_settings("sqlite://", jwt_algorithm=algorithm, jwt_private_key_file=private_file)
        )
        assert done.stdout.strip().endswith(f"kid {keys.kid}")

    def test_it_never_overwrites_an_existing_file(self, tmp_path: Path, algorithm: str) -> None:
        existing = tmp_path / "signing.pem"
        existing.write_text("the key in use\n")

        done = run_cli("gen-key", "--algorithm", algorithm, "--output", str(existing), cwd=tmp_path)

        assert done.returncode == 1
        assert done.stderr == f"gql-auth: {existing} exists; refusing to overwrite a key\n"
        assert existing.read_text() == "the key in use\n"
        assert not (tmp_path / "signing.pub.pem").exists()

    def test_without_output_it_prints_the_private_key(self, tmp_path: Path, algorithm: str) -> None:
        done = run_cli("gen-key", "--algorithm", algorithm.lower(), cwd=tmp_path)

        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("-----BEGIN PRIVATE KEY-----\n")
        serialization.load_pem_private_key(done.stdout.encode(), None)
        assert list(tmp_path.iterdir()) == []


def test_an_algorithm_without_a_key_pair_is_refused(tmp_path: Path) -> None:
    done = run_cli("gen-key", "--algorithm", "HS256", cwd=tmp_path)

    assert done.returncode == 2
    assert "invalid choice: 'HS256'" in done.stderr


def test_serve_with_an_unusable_key_fails_in_one_line_before_any_worker(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not a key")
    key.chmod(0o600)

    done = run_cli(
        "serve",
        "--workers",
        "2",
        cwd=tmp_path,
        env={"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY_FILE": str(key)},
    )

    assert done.returncode == 1
    assert done.stderr == (
        f"gql-auth: JWT_PRIVATE_KEY_FILE {key} is not an unencrypted PEM private key "
        "(gql-auth gen-key writes one)\n"
    )
