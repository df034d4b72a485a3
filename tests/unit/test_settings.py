"""Settings: refusals in one line naming the setting, and the development key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gql_auth.core.errors import SettingsError
from gql_auth.limits.rules import Rule
from gql_auth.settings import Settings, load_settings
from tests.support.helpers import LOW_ARGON2, SECRET_KEY

STOLEN_KEY = "a-perfectly-long-key-that-others-could-read-0123456789"


def load(**values: object) -> Settings:
    return load_settings(_env_file=None, **values)


BAD_VALUES = [
    pytest.param({"secret_key": "too-short"}, "SECRET_KEY", id="secret_key=too-short"),
    pytest.param(
        {"secret_key_previous": "too-short"},
        "SECRET_KEY_PREVIOUS",
        id="secret_key_previous=too-short",
    ),
    pytest.param(
        {"rate_limit_login_ip": "ten per minute"},
        "RATE_LIMIT_LOGIN_IP",
        id="rate_limit_login_ip=ten per minute",
    ),
    pytest.param(
        {"rate_limit_login_account": "lots"},
        "RATE_LIMIT_LOGIN_ACCOUNT",
        id="rate_limit_login_account=lots",
    ),
    pytest.param(
        {"rate_limit_login_account_client": "10 per quarter hour"},
        "RATE_LIMIT_LOGIN_ACCOUNT_CLIENT",
        id="rate_limit_login_account_client=10 per quarter hour",
    ),
    pytest.param(
        {"rate_limit_signin_account_client": "often"},
        "RATE_LIMIT_SIGNIN_ACCOUNT_CLIENT",
        id="rate_limit_signin_account_client=often",
    ),
    pytest.param(
        {"access_token_expire_minutes": "abc"},
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        id="access_token_expire_minutes=abc",
    ),
    pytest.param(
        {"access_token_expire_minutes": 0},
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        id="access_token_expire_minutes=0",
    ),
    pytest.param(
        {"max_sessions_per_user": 0}, "MAX_SESSIONS_PER_USER", id="max_sessions_per_user=0"
    ),
    pytest.param(
        {"security_event_retention_days": "forever"},
        "SECURITY_EVENT_RETENTION_DAYS",
        id="security_event_retention_days=forever",
    ),
    pytest.param({"jwt_algorithm": "none"}, "JWT_ALGORITHM", id="jwt_algorithm=none"),
    pytest.param({"jwt_algorithm": "RS512"}, "JWT_ALGORITHM", id="jwt_algorithm=RS512"),
    pytest.param({"environment": "staging"}, "ENVIRONMENT", id="environment=staging"),
    pytest.param(
        {"trusted_proxies": "not-a-network"}, "TRUSTED_PROXIES", id="trusted_proxies=not-a-network"
    ),
]


class TestRefusals:
    @pytest.mark.parametrize(("values", "named"), BAD_VALUES)
    def test_a_bad_value_is_one_line_naming_the_setting(
        self, values: dict[str, object], named: str
    ) -> None:
        with pytest.raises(SettingsError) as raised:
            load(**{"secret_key": SECRET_KEY, **values})

        message = str(raised.value)
        assert named in message
        assert "\n" not in message

    def test_a_short_secret_is_not_echoed_back(self) -> None:
        with pytest.raises(SettingsError) as raised:
            load(secret_key="short-but-secret")

        assert "short-but-secret" not in str(raised.value)

    def test_production_requires_an_explicit_secret_key(self) -> None:
        with pytest.raises(SettingsError, match="SECRET_KEY"):
            load(environment="production")

    def test_production_refuses_a_cheap_argon2(self) -> None:
        with pytest.raises(SettingsError, match="ARGON2"):
            load(environment="production", secret_key=SECRET_KEY, **LOW_ARGON2)

    def test_production_accepts_safe_settings(self) -> None:
        settings = load(environment="production", secret_key=SECRET_KEY)

        assert settings.is_production
        assert settings.signing_key() == SECRET_KEY

    def test_development_allows_a_cheap_argon2_for_tests(self) -> None:
        settings = load(secret_key=SECRET_KEY, **LOW_ARGON2)

        assert settings.argon2_time_cost == 1
        assert not settings.is_production

    def test_defaults_match_the_contract(self) -> None:
        settings = load(secret_key=SECRET_KEY)

        assert settings.database_url == "sqlite:///./gql_auth.db"
        assert settings.jwt_algorithm == "HS256"
        assert settings.jwt_issuer == settings.jwt_audience == "gql-auth"
        assert settings.access_token_expire_minutes == 15
        assert settings.refresh_token_expire_days == 14
        assert settings.max_sessions_per_user == 50
        assert settings.security_event_retention_days == 90
        assert settings.password_min_length == 8
        assert settings.model_dump()["rate_limit_login_account_client"] == "10/15minutes"
        assert settings.model_dump()["rate_limit_login_account"] == "100/hour"
        assert settings.model_dump()["rate_limit_login_ip"] == "100/15minutes"
        assert settings.model_dump()["rate_limit_signin_account_client"] == "60/15minutes"
        assert settings.model_dump()["rate_limit_register_ip"] == "100/hour"
        assert settings.model_dump()["rate_limit_reset_email"] == "3/hour"
        assert settings.model_dump()["rate_limit_reset_email_all_clients"] == "10/hour"
        assert settings.model_dump()["rate_limit_reset_ip"] == "20/hour"
        assert settings.model_dump()["rate_limit_passkey_challenge_ip"] == "60/15minutes"
        assert settings.model_dump()["rate_limit_passkey_login_ip"] == "30/15minutes"
        assert settings.model_dump()["rate_limit_passkey_login_account"] == "50/hour"
        assert settings.webauthn_rp_id_in_force == "127.0.0.1"
        assert settings.webauthn_origins_in_force == ("http://127.0.0.1:8000",)
        assert settings.cors_origins == []
        assert settings.metrics_enabled is False

    def test_comma_separated_lists_are_split(self) -> None:
        settings = load(
            secret_key=SECRET_KEY,
            cors_origins="https://a.example, https://b.example",
            trusted_proxies="10.0.0.0/8,127.0.0.1",
        )

        assert settings.cors_origins == ["https://a.example", "https://b.example"]
        assert settings.trusted_proxies == ["10.0.0.0/8", "127.0.0.1"]


class TestDevelopmentSecret:
    def test_a_missing_key_is_generated_into_a_private_file(self, tmp_path: Path) -> None:
        key_file = tmp_path / "secret"

        key = load(secret_key_file=key_file).signing_key()

        assert len(key.encode()) >= 32
        assert key_file.read_text().strip() == key
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    def test_the_generated_key_is_reused_so_tokens_survive_restarts(self, tmp_path: Path) -> None:
        key_file = tmp_path / "secret"
        first = load(secret_key_file=key_file).signing_key()

        second = load(secret_key_file=key_file).signing_key()

        assert second == first

    def test_a_key_file_too_short_to_be_safe_is_replaced(self, tmp_path: Path) -> None:
        key_file = tmp_path / "secret"
        key_file.write_text("short\n")
        key_file.chmod(0o600)

        key = load(secret_key_file=key_file).signing_key()

        assert key != "short"
        assert len(key.encode()) >= 32
        assert key_file.read_text().strip() == key
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    @pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
    def test_a_key_file_others_may_read_or_write_is_refused(
        self, tmp_path: Path, mode: int
    ) -> None:
        key_file = tmp_path / "secret"
        key_file.write_text(STOLEN_KEY + "\n")
        key_file.chmod(mode)

        with pytest.raises(SettingsError) as raised:
            load(secret_key_file=key_file).signing_key()

        message = str(raised.value)
        assert f"{mode:04o}" in message
        assert "chmod 600" in message
        assert STOLEN_KEY not in message
        assert key_file.read_text().strip() == STOLEN_KEY  # left as found

    def test_a_symlinked_key_file_is_refused_and_its_target_untouched(self, tmp_path: Path) -> None:
        target = tmp_path / "elsewhere"
        target.write_text(STOLEN_KEY + "\n")
        target.chmod(0o600)
        key_file = tmp_path / "secret"
        key_file.symlink_to(target)

        with pytest.raises(SettingsError, match="symbolic link"):
            load(secret_key_file=key_file).signing_key()

        assert target.read_text().strip() == STOLEN_KEY

    def test_a_dangling_symlink_is_not_written_through(self, tmp_path: Path) -> None:
        target = tmp_path / "planted"
        key_file = tmp_path / "secret"
        key_file.symlink_to(target)

        with pytest.raises(SettingsError, match="symbolic link"):
            load(secret_key_file=key_file).signing_key()

        assert not target.exists()

    @pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
    def test_a_key_file_owned_by_another_user_is_refused(self, tmp_path: Path) -> None:
        key_file = tmp_path / "secret"
        key_file.write_text(STOLEN_KEY + "\n")
        key_file.chmod(0o600)
        os.chown(key_file, 65534, 65534)  # nobody

        with pytest.raises(SettingsError, match="owned by another user"):
            load(secret_key_file=key_file).signing_key()

    @pytest.mark.parametrize("kind", ["fifo", "directory"])
    def test_a_key_file_that_is_not_a_regular_file_is_refused(
        self, tmp_path: Path, kind: str
    ) -> None:
        key_file = tmp_path / "secret"
        if kind == "fifo":
            os.mkfifo(key_file, 0o600)  # opening it for reading must not hang
        else:
            key_file.mkdir(mode=0o700)

        with pytest.raises(SettingsError, match="not a regular file"):
            load(secret_key_file=key_file).signing_key()

    def test_an_explicit_key_is_used_as_given_and_no_file_is_written(self, tmp_path: Path) -> None:
        key_file = tmp_path / "secret"

        key = load(secret_key=SECRET_KEY, secret_key_file=key_file).signing_key()

        assert key == SECRET_KEY
        assert not key_file.exists()


class TestEnvironmentVariables:
    def test_settings_are_read_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "7")
        monkeypatch.setenv("SECRET_KEY", SECRET_KEY)

        settings = load()

        assert settings.access_token_expire_minutes == 7
        assert settings.signing_key() == SECRET_KEY

    def test_settings_are_read_from_a_dotenv_file(self, tmp_path: Path) -> None:
        env_file = tmp_path / ".env"
        env_file.write_text(f"SECRET_KEY={SECRET_KEY}\nJWT_ISSUER=dotenv-issuer\n")

        settings = load_settings(_env_file=env_file)

        assert settings.jwt_issuer == "dotenv-issuer"
        assert settings.signing_key() == SECRET_KEY


class TestRateLimitRules:
    """Each limit is one Rule (rate_limit_rules.py); Settings has exactly one field per rule."""

    def test_every_rate_limit_setting_is_a_rule_and_every_rule_a_setting(self) -> None:
        settings = {
            name
            for name in Settings.model_fields
            if name.startswith("rate_limit_") and name != "rate_limit_key_prefix"
        }

        assert settings == {rule.setting for rule in Rule}

    def test_each_setting_defaults_to_its_rules_default(self) -> None:
        settings = load(secret_key=SECRET_KEY)

        for rule in Rule:
            assert getattr(settings, rule.setting) == rule.default, rule

    def test_the_environment_variable_is_the_setting_upper_cased(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("RATE_LIMIT_RESET_IP", "7/hour")

        assert load(secret_key=SECRET_KEY).model_dump()["rate_limit_reset_ip"] == "7/hour"
        assert Rule.RESET_IP.setting == "rate_limit_reset_ip"

    @pytest.mark.parametrize("rule", list(Rule), ids=lambda rule: rule.name)
    def test_every_rules_setting_is_checked_as_a_rate_limit(self, rule: Rule) -> None:
        with pytest.raises(SettingsError, match=rule.setting.upper()):
            load(secret_key=SECRET_KEY, **{rule.setting: "now and then"})

    def test_only_the_limits_that_guard_passwords_fail_closed(self) -> None:
        fail_closed = {rule for rule in Rule if rule.guards_passwords}

        assert fail_closed == {
            Rule.LOGIN_ACCOUNT_CLIENT,
            Rule.LOGIN_ACCOUNT,
            Rule.LOGIN_IP,
            Rule.SIGNIN_ACCOUNT_CLIENT,
            Rule.MFA,  # second-factor codes are guessed like passwords: 10**6 of them
        }
