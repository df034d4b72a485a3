"""Managing webhook endpoints: ADMINs only, signed-in only, URLs checked, a cap that holds."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

from gql_auth.core.models import utcnow
from gql_auth.settings import Settings
from tests.support.api_keys import create_api_key
from tests.support.helpers import (
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    make_settings,
    register,
    register_admin,
    running_app,
)
from tests.support.webhooks import (
    CREATE_ENDPOINT,
    DELETE_ENDPOINT,
    ENDPOINTS,
    EVENT_TYPES,
    ROTATE_SECRET,
    UPDATE_ENDPOINT,
    create_endpoint,
)

URL = "https://hooks.example.com/gql-auth"


def create(url: str, event_types: list[str] | None = None) -> dict[str, Any]:
    return {"input": {"url": url, "eventTypes": event_types or []}}


class TestCreate:
    async def test_the_secret_is_shown_once_and_stored_sealed(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        created = await create_endpoint(client, admin["accessToken"], URL, ["user.created"])

        secret = created["secret"]
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
        assert created["endpoint"]["url"] == URL
        assert created["endpoint"]["eventTypes"] == ["user.created"]
        assert created["endpoint"]["enabled"] is True
        (row,) = database.rows("webhook_endpoints")
        stored = str(dict(row))
        assert secret not in stored and secret.removeprefix("whsec_") not in stored
        listed = data_of(
            await gql(client, ENDPOINTS, token=admin["accessToken"]), "webhookEndpoints"
        )
        assert [endpoint["id"] for endpoint in listed] == [created["endpoint"]["id"]]
        assert secret not in str(listed)

    async def test_every_event_type_is_listed(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        types = data_of(
            await gql(client, EVENT_TYPES, token=admin["accessToken"]), "webhookEventTypes"
        )

        assert {
            "user.created",
            "user.updated",
            "user.role_changed",
            "user.deactivated",
            "user.activated",
            "session.created",
            "session.revoked",
            "password.changed",
            "organization.created",
            "organization.deleted",
            "member.added",
            "member.updated",
            "member.removed",
        } <= set(types)

    async def test_an_unknown_event_type_is_refused_and_nothing_is_created(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        body = await gql(
            client,
            CREATE_ENDPOINT,
            create(URL, ["user.created", "user.nope"]),
            token=admin["accessToken"],
        )

        assert_error(body, "BAD_USER_INPUT", field="eventTypes", reason="UNKNOWN_EVENT_TYPE")
        assert database.count("webhook_endpoints") == 0

    @pytest.mark.parametrize(
        ("url", "reason"),
        [
            ("ftp://hooks.example.com/x", "INVALID"),
            ("hooks.example.com/x", "INVALID"),
            ("https://user:pw@hooks.example.com/x", "INVALID"),
            ("https://hooks.example.com/x#fragment", "INVALID"),
            ("https://hooks.example.com/a b", "INVALID"),
            ("https://hooks.example.com/\x00", "INVALID"),
            ("https://hooks.example.com:99999/", "INVALID"),
            ("https://hooks.example.com/" + "a" * 2048, "TOO_LONG"),
        ],
    )
    async def test_a_malformed_url_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase, url: str, reason: str
    ) -> None:
        admin = await register_admin(client, database)

        body = await gql(client, CREATE_ENDPOINT, create(url), token=admin["accessToken"])

        assert_error(body, "BAD_USER_INPUT", field="url", reason=reason)
        assert database.count("webhook_endpoints") == 0

    async def test_the_cap_holds_against_parallel_creations(self, database: SqlDatabase) -> None:
        settings = make_settings(database.url, webhook_max_endpoints=2)
        async with running_app(settings) as client:
            admin = await register_admin(client, database)

            bodies = await asyncio.gather(
                *(
                    gql(client, CREATE_ENDPOINT, create(f"{URL}/{n}"), token=admin["accessToken"])
                    for n in range(6)
                )
            )

        made = [body for body in bodies if not body.get("errors")]
        refused = [body for body in bodies if body.get("errors")]
        assert len(made) == 2
        for body in refused:
            assert_error(body, "BAD_USER_INPUT", reason="LIMIT_REACHED")
        assert database.count("webhook_endpoints") == 2


class TestPrivateAddresses:
    """WEBHOOK_ALLOW_PRIVATE_URLS=false, as production has it by default."""

    @pytest.fixture
    def settings(self, database: SqlDatabase) -> Settings:
        return make_settings(database.url, webhook_allow_private_urls=False)

    @pytest.mark.parametrize(
        "url",
        [
            "https://127.0.0.1/hooks",
            "https://127.1/hooks",
            "https://2130706433/hooks",  # 127.0.0.1 as one decimal number
            "https://0x7f000001/hooks",
            "https://localhost/hooks",  # a name that resolves to loopback
            "https://169.254.169.254/latest/meta-data/",  # cloud metadata
            "https://10.0.0.8/hooks",
            "https://192.168.1.1/hooks",
            "https://172.16.0.1/hooks",
            "https://100.64.0.1/hooks",  # carrier-grade NAT
            "https://0.0.0.0/hooks",
            "https://[::1]/hooks",
            "https://[::ffff:127.0.0.1]/hooks",
            "https://[::ffff:169.254.169.254]/hooks",
            "https://[fd00::1]/hooks",
            "https://[fe80::1]/hooks",
            "https://[64:ff9b::a9fe:a9fe]/hooks",  # NAT64 of 169.254.169.254
            "https://[2002:7f00:1::]/hooks",  # 6to4 of 127.0.0.1
        ],
    )
    async def test_a_non_public_address_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase, url: str
    ) -> None:
        admin = await register_admin(client, database)

        body = await gql(client, CREATE_ENDPOINT, create(url), token=admin["accessToken"])

        assert_error(body, "BAD_USER_INPUT", field="url", reason="PRIVATE_ADDRESS")
        assert database.count("webhook_endpoints") == 0

    async def test_plain_http_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        body = await gql(
            client,
            CREATE_ENDPOINT,
            create("http://hooks.example.com/x"),
            token=admin["accessToken"],
        )

        assert_error(body, "BAD_USER_INPUT", field="url", reason="NOT_HTTPS")

    async def test_a_name_that_does_not_resolve_is_refused(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        body = await gql(
            client, CREATE_ENDPOINT, create("https://nowhere.invalid/x"), token=admin["accessToken"]
        )

        assert_error(body, "BAD_USER_INPUT", field="url", reason="UNRESOLVABLE")

    async def test_an_update_to_a_private_address_is_refused_and_changes_nothing(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        (row,) = _insert_endpoint(database, URL)

        body = await gql(
            client,
            UPDATE_ENDPOINT,
            {"input": {"id": str(row), "url": "https://127.0.0.1/x", "enabled": False}},
            token=admin["accessToken"],
        )

        assert_error(body, "BAD_USER_INPUT", field="url", reason="PRIVATE_ADDRESS")
        (stored,) = database.rows("webhook_endpoints")
        assert (stored["url"], stored["enabled"]) == (URL, True)


def _insert_endpoint(database: SqlDatabase, url: str) -> list[int]:
    """An endpoint as an earlier deployment made it (a public name need not resolve here)."""
    table = database.table("webhook_endpoints")
    with database.engine.begin() as connection:
        result = connection.execute(
            table.insert().values(
                slot=0, url=url, event_types="", enabled=True, secret="v1:x", created_at=utcnow()
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return [int(key[0])]


class TestWhoMayManage:
    async def test_a_user_is_forbidden(self, client: httpx.AsyncClient) -> None:
        user = await register(client)

        body = await gql(client, CREATE_ENDPOINT, create(URL), token=user["accessToken"])

        assert_error(body, "FORBIDDEN")

    async def test_anonymous_is_unauthenticated(self, client: httpx.AsyncClient) -> None:
        body = await gql(client, ENDPOINTS)

        assert_error(body, "UNAUTHENTICATED")

    async def test_an_admins_api_key_is_never_enough(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        key = await create_api_key(client, admin["accessToken"], ["admin:read", "admin:write"])

        for query, variables in [(ENDPOINTS, {}), (CREATE_ENDPOINT, create(URL))]:
            body = await gql(client, query, variables, token=key["secret"])
            assert_error(body, "FORBIDDEN", reason="API_KEY_NOT_ALLOWED")
        assert database.count("webhook_endpoints") == 0


class TestChange:
    async def test_update_changes_only_what_is_given(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        created = await create_endpoint(client, admin["accessToken"], URL, ["user.created"])
        endpoint_id = created["endpoint"]["id"]

        updated = data_of(
            await gql(
                client,
                UPDATE_ENDPOINT,
                {
                    "input": {
                        "id": endpoint_id,
                        "eventTypes": ["session.revoked", "session.created"],
                    }
                },
                token=admin["accessToken"],
            ),
            "updateWebhookEndpoint",
        )

        assert updated["url"] == URL
        assert updated["eventTypes"] == ["session.created", "session.revoked"]
        assert updated["enabled"] is True

    async def test_an_unknown_id_is_not_found(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        attempts: list[tuple[str, dict[str, Any]]] = [
            (UPDATE_ENDPOINT, {"input": {"id": "999", "enabled": False}}),
            (ROTATE_SECRET, {"id": "999"}),
            (ROTATE_SECRET, {"id": "not-a-number"}),
        ]
        for query, variables in attempts:
            body = await gql(client, query, variables, token=admin["accessToken"])
            assert_error(body, "BAD_USER_INPUT", field="id", reason="NOT_FOUND")

    async def test_delete_removes_the_endpoint_and_its_queue(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)
        created = await create_endpoint(client, admin["accessToken"], "http://127.0.0.1:9/x")
        await register(client)  # queued for it (nothing listens on port 9)
        token = admin["accessToken"]

        first = await gql(client, DELETE_ENDPOINT, {"id": created["endpoint"]["id"]}, token=token)
        again = await gql(client, DELETE_ENDPOINT, {"id": created["endpoint"]["id"]}, token=token)

        assert data_of(first, "deleteWebhookEndpoint") is True
        assert data_of(again, "deleteWebhookEndpoint") is False
        assert database.count("webhook_endpoints") == 0
        assert database.count("webhook_deliveries") == 0
        assert database.count("webhook_events") > 0  # the outbox keeps what happened
