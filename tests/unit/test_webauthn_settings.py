"""Whom passkeys are for: WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS, by default from PUBLIC_URL."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gql_auth.passkeys.passkeys import RelyingParty
from gql_auth.settings import Settings

SECRET = "unit-test-signing-key-0123456789-abcdef"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, secret_key=SECRET, **values)


class TestDefaults:
    def test_the_rp_id_and_origin_come_from_public_url(self) -> None:
        party = RelyingParty.from_settings(settings(public_url="https://Auth.Example.com/app/"))

        assert party.id == "auth.example.com"
        assert party.origins == ("https://auth.example.com",)
        assert party.name == "gql-auth"

    def test_a_port_stays_in_the_origin_but_not_in_the_rp_id(self) -> None:
        party = RelyingParty.from_settings(settings(public_url="http://localhost:8123"))

        assert party.id == "localhost"
        assert party.origins == ("http://localhost:8123",)


class TestExplicit:
    def test_origins_below_the_rp_id_are_accepted_as_listed(self) -> None:
        chosen = settings(
            webauthn_rp_id="example.com",
            webauthn_origins="https://example.com, https://login.example.com",
        )

        assert RelyingParty.from_settings(chosen).origins == (
            "https://example.com",
            "https://login.example.com",
        )

    @pytest.mark.parametrize(
        "origins",
        ["https://example.org", "https://notexample.com", "https://example.com.evil.example"],
    )
    def test_an_origin_outside_the_rp_id_stops_the_start(self, origins: str) -> None:
        with pytest.raises(ValidationError, match="WEBAUTHN_ORIGINS"):
            settings(webauthn_rp_id="example.com", webauthn_origins=origins)

    def test_an_rp_id_that_public_url_is_not_under_stops_the_start(self) -> None:
        with pytest.raises(ValidationError, match="is not on WEBAUTHN_RP_ID"):
            settings(public_url="https://auth.example.com", webauthn_rp_id="example.org")

    @pytest.mark.parametrize("origin", ["https://example.com/", "example.com", "https://x/path"])
    def test_an_origin_must_be_scheme_host_and_port_only(self, origin: str) -> None:
        with pytest.raises(ValidationError, match="is not an origin"):
            settings(webauthn_rp_id="example.com", webauthn_origins=origin)


def test_the_decoy_key_follows_the_signing_key() -> None:
    one = RelyingParty.from_settings(settings())
    other = RelyingParty.from_settings(
        Settings(_env_file=None, secret_key="another-signing-key-0123456789-abcdef")
    )

    assert one.decoy_key != other.decoy_key
    assert one.decoy_key == RelyingParty.from_settings(settings()).decoy_key
