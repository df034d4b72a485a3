"""Pure parts of the second factor: TOTP steps, recovery-code spelling, sealing secrets, amr."""

from __future__ import annotations

import base64

import pyotp
import pytest

from gql_auth.core.errors import SecondFactorMethod, SecondFactorRequired, SettingsError
from gql_auth.factors import factors, recovery_codes, totp
from gql_auth.factors.totp_box import TOTP_INFO, totp_box
from gql_auth.graphql.engine.errors import wire_extensions
from gql_auth.security.secret_box import SecretBox, SecretUnreadable, derive_key
from gql_auth.sessions import amr
from gql_auth.settings import load_settings
from tests.support.helpers import make_settings

# RFC 6238 appendix B: the SHA-1 key "12345678901234567890"; at T=59 s the 8-digit
# code is 94287082, so its 6-digit code is the last six digits.
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


class TestMatchingStep:
    def test_the_rfc_6238_vector_matches_its_step(self) -> None:
        assert totp.matching_step(RFC_SECRET, "287082", now=59) == 1

    def test_one_step_of_drift_either_side_is_accepted_two_are_not(self) -> None:
        secret = pyotp.random_base32()
        now = 1_000_000 * 30 + 10.0
        code_of = pyotp.TOTP(secret).at

        assert totp.matching_step(secret, code_of(now - 30), now=now) == 1_000_000 - 1
        assert totp.matching_step(secret, code_of(now + 30), now=now) == 1_000_000 + 1
        for far in (now - 60, now + 60):
            if code_of(far) not in {code_of(now - 30), code_of(now), code_of(now + 30)}:
                assert totp.matching_step(secret, code_of(far), now=now) is None

    @pytest.mark.parametrize("code", ["", "12345", "1234567", "12a456", "１２３４５６"])
    def test_anything_but_six_ascii_digits_matches_nothing(self, code: str) -> None:
        assert totp.matching_step(RFC_SECRET, code, now=59) is None

    def test_spaces_inside_the_code_are_ignored(self) -> None:
        assert totp.matching_step(RFC_SECRET, " 287 082 ", now=59) == 1

    def test_the_qr_code_is_an_svg_document(self) -> None:
        svg = totp.qr_code_svg(totp.otpauth_uri(RFC_SECRET, account="alice", issuer="gql-auth"))

        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")


class TestRecoveryCodeSpelling:
    def test_a_shown_code_reads_back_in_any_case_with_or_without_dashes(self) -> None:
        compact = "ABCDEFGHIJKLMN23"
        shown = recovery_codes.shown(compact)

        assert shown == "abcd-efgh-ijkl-mn23"
        for typed in (shown, shown.upper(), shown.replace("-", ""), " abcd efgh ijkl mn23 "):
            assert recovery_codes.normalized(typed) == compact

    @pytest.mark.parametrize("typed", ["", "123456", "abcd-efgh-ijkl-mn2", "abcd-efgh-ijkl-mn01"])
    def test_what_cannot_be_a_code_is_none(self, typed: str) -> None:
        assert recovery_codes.normalized(typed) is None

    def test_a_six_digit_totp_code_is_never_taken_for_a_recovery_code(self) -> None:
        assert recovery_codes.normalized("287082") is None


class TestSecretBox:
    def test_a_sealed_secret_opens_only_in_its_own_context(self) -> None:
        box = SecretBox([derive_key("k" * 32, info=TOTP_INFO)])
        sealed = box.seal("JBSWY3DPEHPK3PXP", context="totp:user:1")

        assert "JBSWY3DPEHPK3PXP" not in sealed
        assert box.open(sealed, context="totp:user:1").plaintext == "JBSWY3DPEHPK3PXP"
        with pytest.raises(SecretUnreadable):
            box.open(sealed, context="totp:user:2")

    def test_each_seal_is_different(self) -> None:
        box = SecretBox([derive_key("k" * 32, info=TOTP_INFO)])

        assert box.seal("same", context="c") != box.seal("same", context="c")

    @pytest.mark.parametrize("tampered", ["v1:AAAA", "v2:xyz", "garbage", "v1:!!!"])
    def test_tampered_or_foreign_ciphertexts_do_not_open(self, tampered: str) -> None:
        with pytest.raises(SecretUnreadable):
            SecretBox([derive_key("k" * 32, info=TOTP_INFO)]).open(tampered, context="c")

    def test_a_secret_sealed_under_the_previous_signing_key_opens_and_is_stale(self) -> None:
        old = totp_box(make_settings("sqlite://", secret_key="o" * 32))
        rotated = totp_box(
            make_settings("sqlite://", secret_key="n" * 32, secret_key_previous="o" * 32)
        )
        sealed = old.seal("secret", context="c")

        opened = rotated.open(sealed, context="c")

        assert (opened.plaintext, opened.stale) == ("secret", True)
        assert rotated.open(rotated.seal("secret", context="c"), context="c").stale is False

    def test_an_own_encryption_key_does_not_depend_on_the_signing_key(self) -> None:
        first = totp_box(
            make_settings("sqlite://", secret_key="a" * 32, totp_encryption_key="t" * 32)
        )
        second = totp_box(
            make_settings("sqlite://", secret_key="b" * 32, totp_encryption_key="t" * 32)
        )

        assert second.open(first.seal("s", context="c"), context="c").plaintext == "s"

    def test_the_derived_key_is_not_the_signing_key(self) -> None:
        assert derive_key("k" * 32, info=TOTP_INFO) != ("k" * 32).encode()


class TestAmr:
    @pytest.mark.parametrize(
        ("methods", "multi"),
        [(amr.PASSWORD, False), ((), False), (amr.PASSWORD_AND_OTP, True), (amr.PASSKEY, True)],
    )
    def test_only_a_second_factor_or_a_passkey_is_multi_factor(
        self, methods: tuple[str, ...], multi: bool
    ) -> None:
        assert factors.proved_a_factor(methods) is multi

    @pytest.mark.parametrize("methods", [("pwd", "mfa"), ("pwd", "otp"), ("hwk", "user")])
    def test_every_factor_s_amr_counts_and_nothing_else(self, methods: tuple[str, ...]) -> None:
        assert factors.proved_a_factor(methods)
        assert not factors.proved_a_factor(("pwd", "user", "sms-unknown"))


def test_mfa_required_carries_its_token_and_methods_on_the_wire() -> None:
    error = SecondFactorRequired(
        mfa_token="t0ken",
        methods=(SecondFactorMethod.TOTP, SecondFactorMethod.RECOVERY_CODE),
    )

    assert wire_extensions(error) == {
        "code": "UNAUTHENTICATED",
        "reason": "MFA_REQUIRED",
        "mfaToken": "t0ken",
        "mfaMethods": ["TOTP", "RECOVERY_CODE"],
    }


def test_a_too_short_totp_encryption_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, secret_key="s" * 32, totp_encryption_key="tiny-key-value")

    assert "TOTP_ENCRYPTION_KEY" in str(refused.value)
    assert "tiny-key-value" not in str(refused.value)
