"""Social sign-in's settings: OAUTH_PROVIDERS and each provider's OAUTH_<ID>_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from gql_auth.core.errors import SettingsError
from gql_auth.settings import load_settings
from tests.support.helpers import SECRET_KEY

ISSUER = "https://login.acme.example"


def acme(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    monkeypatch.setenv("OAUTH_PROVIDERS", "acme")
    values = {"ISSUER": ISSUER, "CLIENT_ID": "client-1", "CLIENT_SECRET": "s3cret", **variables}
    for name, value in values.items():
        monkeypatch.setenv(f"OAUTH_ACME_{name}", value)


class TestProviders:
    def test_none_by_default(self) -> None:
        assert load_settings(_env_file=None, secret_key=SECRET_KEY).social_providers == {}

    def test_each_listed_id_is_read_from_its_variables(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        acme(monkeypatch, DISPLAY_NAME="Acme ID", TRUST_EMAIL="true")

        provider = load_settings(_env_file=None, secret_key=SECRET_KEY).social_providers["acme"]

        assert provider.issuer == ISSUER and provider.client_id == "client-1"
        assert provider.client_secret.get_secret_value() == "s3cret"
        assert provider.display_name == "Acme ID" and provider.trust_email is True
        assert provider.scopes == ("openid", "email", "profile")

    def test_a_dotenv_file_works_like_the_environment(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        env_file = tmp_path / ".env"
        env_file.write_text(
            "OAUTH_PROVIDERS=acme\nOAUTH_ACME_ISSUER=https://id.example/\n"
            "OAUTH_ACME_CLIENT_ID=c\nOAUTH_ACME_CLIENT_SECRET=s\n"
        )

        settings = load_settings(_env_file=env_file, secret_key=SECRET_KEY)

        assert settings.social_providers["acme"].issuer == "https://id.example"

    @pytest.mark.parametrize("missing", ["ISSUER", "CLIENT_ID", "CLIENT_SECRET"])
    def test_a_missing_variable_stops_the_start_naming_it(
        self, monkeypatch: pytest.MonkeyPatch, missing: str
    ) -> None:
        acme(monkeypatch)
        monkeypatch.delenv(f"OAUTH_ACME_{missing}")

        with pytest.raises(SettingsError, match=f"OAUTH_ACME_{missing}"):
            load_settings(_env_file=None, secret_key=SECRET_KEY)

    def test_the_secret_is_never_echoed(self, monkeypatch: pytest.MonkeyPatch) -> None:
        acme(monkeypatch, TRUST_EMAIL="sometimes", CLIENT_SECRET="do-not-print-me")

        with pytest.raises(SettingsError) as raised:
            load_settings(_env_file=None, secret_key=SECRET_KEY)

        assert "OAUTH_ACME_TRUST_EMAIL" in str(raised.value)
        assert "do-not-print-me" not in str(raised.value)

    @pytest.mark.parametrize("provider_id", ["Acme", "1acme", "ac-me", "a" * 33])
    def test_an_id_that_cannot_be_a_variable_name_part_is_refused(self, provider_id: str) -> None:
        with pytest.raises(SettingsError, match="OAUTH_PROVIDERS"):
            load_settings(_env_file=None, secret_key=SECRET_KEY, oauth_providers=[provider_id])

    def test_openid_must_be_among_the_scopes(self, monkeypatch: pytest.MonkeyPatch) -> None:
        acme(monkeypatch, SCOPES="email profile")

        with pytest.raises(SettingsError, match="OAUTH_ACME_SCOPES"):
            load_settings(_env_file=None, secret_key=SECRET_KEY)


class TestProduction:
    def test_an_http_issuer_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        acme(monkeypatch, ISSUER="http://login.acme.example")

        with pytest.raises(SettingsError, match="OAUTH_ACME_ISSUER must use https"):
            load_settings(_env_file=None, secret_key=SECRET_KEY, environment="production")

    @pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost:9000", "[::1]:8080"])
    def test_a_loopback_http_issuer_is_allowed(
        self, monkeypatch: pytest.MonkeyPatch, host: str
    ) -> None:
        acme(monkeypatch, ISSUER=f"http://{host}")

        settings = load_settings(_env_file=None, secret_key=SECRET_KEY, environment="production")

        assert settings.social_providers["acme"].issuer == f"http://{host}"


class TestRedirectUris:
    @pytest.mark.parametrize(
        "uri", ["/relative", "javascript:alert(1)", "https://app.example/cb#fragment"]
    )
    def test_only_absolute_http_uris_without_a_fragment(self, uri: str) -> None:
        with pytest.raises(SettingsError, match="OAUTH_REDIRECT_URIS"):
            load_settings(_env_file=None, secret_key=SECRET_KEY, oauth_redirect_uris=[uri])


class TestGithubPreset:
    def test_needs_only_the_client_id_and_secret(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OAUTH_PROVIDERS", "github")
        monkeypatch.setenv("OAUTH_GITHUB_CLIENT_ID", "Iv1.client")
        monkeypatch.setenv("OAUTH_GITHUB_CLIENT_SECRET", "s3cret")

        github = load_settings(_env_file=None, secret_key=SECRET_KEY).social_providers["github"]

        assert github.is_github and github.display_name == "GitHub"
        assert github.issuer == "https://github.com"
        assert github.api_base == "https://api.github.com"
        assert github.scopes == ("read:user", "user:email")

    def test_an_enterprise_server_has_its_api_under_api_v3(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("OAUTH_PROVIDERS", "github")
        monkeypatch.setenv("OAUTH_GITHUB_ISSUER", "https://git.corp.example/")
        monkeypatch.setenv("OAUTH_GITHUB_CLIENT_ID", "c")
        monkeypatch.setenv("OAUTH_GITHUB_CLIENT_SECRET", "s")

        github = load_settings(_env_file=None, secret_key=SECRET_KEY).social_providers["github"]

        assert github.api_base == "https://git.corp.example/api/v3"

    def test_the_address_scope_cannot_be_left_out(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OAUTH_PROVIDERS", "github")
        monkeypatch.setenv("OAUTH_GITHUB_CLIENT_ID", "c")
        monkeypatch.setenv("OAUTH_GITHUB_CLIENT_SECRET", "s")
        monkeypatch.setenv("OAUTH_GITHUB_SCOPES", "read:user")

        with pytest.raises(SettingsError, match="OAUTH_GITHUB_SCOPES"):
            load_settings(_env_file=None, secret_key=SECRET_KEY)
