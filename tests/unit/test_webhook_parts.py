"""Webhooks' pure parts: waits, URLs and addresses, the body and its signatures."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gql_auth.webhooks import addresses
from gql_auth.webhooks.addresses import UnsafeUrl
from gql_auth.webhooks.events import CATALOGUE, EventType
from gql_auth.webhooks.sender import Message, body_of
from gql_auth.webhooks.settings import parse_wait
from gql_auth.webhooks.signing import new_secret, signature_header
from tests.support.helpers import make_settings


class TestWaits:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("5s", 5), ("5m", 300), ("2h", 7200), ("1d", 86400), ("250ms", 0.25), ("0s", 0)],
    )
    def test_a_wait_is_a_number_and_a_unit(self, text: str, seconds: float) -> None:
        assert parse_wait(text) == timedelta(seconds=seconds)

    @pytest.mark.parametrize("text", ["", "5", "s", "-5s", "5 minutes", "1e3s", "5S"])
    def test_anything_else_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError, match="not a wait"):
            parse_wait(text)

    def test_the_default_schedule_is_the_contracts(self) -> None:
        waits = make_settings("sqlite://").webhook_retry_waits()

        assert waits == tuple(
            timedelta(seconds=s) for s in (5, 300, 1800, 7200, 18000, 36000, 36000)
        )

    def test_a_schedule_from_the_environment_is_split_at_commas(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("WEBHOOK_RETRY_SCHEDULE", "1s, 2m")

        from gql_auth.settings import Settings

        settings = Settings(_env_file=None, secret_key="k" * 32)
        assert settings.webhook_retry_waits() == (timedelta(seconds=1), timedelta(minutes=2))

    @pytest.mark.parametrize("schedule", [["8d"], ["1s"] * 21, ["soon"]])
    def test_an_unreasonable_schedule_is_refused(self, schedule: list[str]) -> None:
        with pytest.raises(ValueError, match="webhook_retry_schedule"):
            make_settings("sqlite://", webhook_retry_schedule=schedule)


class TestPrivateUrlsDefault:
    def test_allowed_in_development_refused_in_production(self) -> None:
        assert make_settings("sqlite://").webhook_private_urls_allowed is True
        production = make_settings(
            "sqlite://", environment="production", argon2_memory_cost=19456, argon2_time_cost=2
        )
        assert production.webhook_private_urls_allowed is False

    def test_an_operator_may_open_them_in_production(self) -> None:
        settings = make_settings(
            "sqlite://",
            environment="production",
            argon2_memory_cost=19456,
            argon2_time_cost=2,
            webhook_allow_private_urls=True,
        )
        assert settings.webhook_private_urls_allowed is True


class TestUrls:
    def test_the_parts_are_what_is_sent(self) -> None:
        target = addresses.parse("https://Hooks.Example.com:8443/in?x=1", allow_private=False)

        assert (target.scheme, target.host, target.port, target.path) == (
            "https",
            "hooks.example.com",
            8443,
            "/in?x=1",
        )

    def test_the_default_ports(self) -> None:
        assert addresses.parse("https://h.example/", allow_private=False).port == 443
        assert addresses.parse("http://h.example", allow_private=True).port == 80
        assert addresses.parse("http://h.example", allow_private=True).path == "/"

    @pytest.mark.parametrize(
        "url",
        [
            "https://[::1",
            "https://h.example:0x50/",
            "javascript:alert(1)",
            "https:///path",
            "\thttps://h/",
        ],
    )
    def test_malformed_urls_are_invalid(self, url: str) -> None:
        with pytest.raises(UnsafeUrl) as refused:
            addresses.parse(url, allow_private=True)
        assert refused.value.reason == "INVALID"


class TestAddresses:
    @pytest.mark.parametrize(
        "address",
        [
            "127.0.0.1",
            "10.1.2.3",
            "172.31.255.255",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",  # noqa: S104 - an address checked, not bound
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:a9fe:a9fe::1",
            "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo of 127.0.0.1
            "ff02::1",
        ],
    )
    def test_non_public_addresses(self, address: str) -> None:
        assert addresses.is_public(ipaddress.ip_address(address)) is False

    @pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
    def test_public_addresses(self, address: str) -> None:
        assert addresses.is_public(ipaddress.ip_address(address)) is True

    async def test_a_literal_address_is_checked_without_dns(self) -> None:
        target = addresses.parse("https://169.254.169.254/", allow_private=False)

        with pytest.raises(UnsafeUrl) as refused:
            await addresses.resolve(target, allow_private=False)
        assert refused.value.reason == "PRIVATE_ADDRESS"
        allowed = await addresses.resolve(target, allow_private=True)
        assert str(allowed) == "169.254.169.254"

    async def test_a_name_is_checked_on_what_it_resolves_to(self) -> None:
        target = addresses.parse("https://localhost:9/", allow_private=False)

        with pytest.raises(UnsafeUrl) as refused:
            await addresses.resolve(target, allow_private=False)
        assert refused.value.reason == "PRIVATE_ADDRESS"


class TestSigning:
    MESSAGE = Message(
        event_id="msg_abc",
        event_type="user.created",
        occurred_at=datetime(2026, 12, 7, 9, 30, 0, 123456, tzinfo=UTC),
        data='{"id":"7","username":"alice","email":"alice@example.com"}',
    )

    def test_the_body_is_type_timestamp_and_data(self) -> None:
        body = json.loads(body_of(self.MESSAGE))

        assert body == {
            "type": "user.created",
            "timestamp": "2026-12-07T09:30:00.123Z",
            "data": {"id": "7", "username": "alice", "email": "alice@example.com"},
        }

    def test_a_secret_is_whsec_and_32_random_bytes(self) -> None:
        first, second = new_secret(), new_secret()

        assert first.startswith("whsec_") and first != second
        assert len(first) == len("whsec_") + 44

    def test_each_secret_verifies_its_own_signature_of_the_same_body(self) -> None:
        old, new = new_secret(), new_secret()
        at = datetime.now(UTC)
        body = body_of(self.MESSAGE)
        header = signature_header([new, old], event_id="msg_abc", at=at, body=body)
        headers = {
            "webhook-id": "msg_abc",
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": header,
        }

        assert header.count("v1,") == 2
        for secret in (old, new):
            Webhook(secret).verify(body, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(body, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(new).verify(body + b" ", headers)


def test_every_event_type_is_in_the_catalogue_with_an_example() -> None:
    assert set(CATALOGUE) == set(EventType)
    for documented in CATALOGUE.values():
        assert documented.when and documented.example
