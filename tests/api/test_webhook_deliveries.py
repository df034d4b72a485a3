"""Webhook deliveries end to end: a change commits, the worker signs and POSTs it to a real
receiver that checks the signature with the standardwebhooks library, retries, redelivery."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from gql_auth.settings import Settings
from tests.support.helpers import (
    CHANGE_PASSWORD,
    LOGOUT,
    LOGOUT_ALL,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    data_of,
    gql,
    login,
    make_settings,
    register,
    register_admin,
    running_app,
    session_id_of,
)
from tests.support.orgs import (
    DELETE_ORGANIZATION,
    REMOVE_MEMBER,
    SET_MEMBER_ROLE,
    UPDATE_ORGANIZATION,
    create_organization,
    put_member,
)
from tests.support.webhooks import (
    REDELIVER,
    ROTATE_SECRET,
    UPDATE_ENDPOINT,
    Receiver,
    create_endpoint,
    receiving,
    wait_for_deliveries,
    wait_for_endpoints,
)

# Quick retries and polls: the same settings an operator has, at test speed.
QUICK = {
    "webhook_retry_schedule": ["0s", "0s"],
    "webhook_poll_seconds": 0.05,
    "webhook_timeout_seconds": 2,
}


@pytest.fixture
def settings(database: SqlDatabase) -> Settings:
    return make_settings(database.url, **QUICK)


async def subscribed(
    client: httpx.AsyncClient,
    database: SqlDatabase,
    receiver: Receiver,
    event_types: list[str] | None = None,
) -> str:
    """An ADMIN with an endpoint at the receiver; returns the ADMIN's token."""
    admin = await register_admin(client, database)
    await create_endpoint(
        client, admin["accessToken"], receiver.url, event_types, receiver=receiver
    )
    return str(admin["accessToken"])


class TestDelivery:
    async def test_a_registration_is_delivered_signed_with_the_endpoint_secret(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        async with receiving() as receiver:
            await subscribed(client, database, receiver, ["user.created"])

            payload = await register(client)

            (got,) = await receiver.wait_for(1, where=lambda got: got.type == "user.created")
        assert got.verified_by == receiver.secrets
        assert got.id.startswith("msg_")
        assert got.headers["content-type"] == "application/json"
        event = got.event
        assert set(event) == {"type", "timestamp", "data"}
        assert event["timestamp"].endswith("Z")
        user = payload["user"]
        assert event["data"] == {
            "id": user["id"],
            "username": user["username"],
            "email": user["email"],
            "role": "USER",
            "active": True,
            "emailVerified": False,
        }
        # Never a credential: not the password, nor any token the client got.
        for secret in (STRONG_PASSWORD, payload["accessToken"], payload["refreshToken"]):
            assert secret not in got.body.decode()
        (row,) = [row for row in database.rows("webhook_events") if row["id"] == got.id]
        assert row["type"] == "user.created"

    async def test_a_subscription_receives_only_its_types(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        async with receiving() as receiver:
            token = await subscribed(client, database, receiver, ["session.created"])
            payload = await register(client)
            await wait_for_deliveries(
                client, token, lambda found: any(d["status"] == "SUCCEEDED" for d in found)
            )
            await asyncio.sleep(0.3)  # two polls: anything else queued would be out by now
        assert {got.type for got in receiver.received} == {"session.created"}
        mine = [
            got for got in receiver.received if got.event["data"]["id"] == payload["user"]["id"]
        ]
        assert mine[0].event["data"]["methods"] == ["pwd"]

    async def test_an_empty_subscription_receives_every_type(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        async with receiving() as receiver:
            await subscribed(client, database, receiver)
            await register(client)
            await receiver.wait_for(1, where=lambda got: got.type == "user.created")
            await receiver.wait_for(1, where=lambda got: got.type == "session.created")

    async def test_failed_attempts_are_retried_with_the_same_webhook_id(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        async with receiving(answers=[500, 503]) as receiver:
            token = await subscribed(client, database, receiver, ["user.created"])
            await register(client)
            got = await receiver.wait_for(3)
            deliveries = await wait_for_deliveries(
                client, token, lambda found: bool(found) and found[0]["status"] == "SUCCEEDED"
            )
        assert len({attempt.id for attempt in got}) == 1
        assert all(attempt.verified_by for attempt in got)
        assert [(d["attempt"], d["status"], d["responseStatus"]) for d in deliveries] == [
            (3, "SUCCEEDED", 204),
            (2, "FAILED", 503),
            (1, "FAILED", 500),
        ]
        assert deliveries[1]["error"] == "HTTP 503"
        assert {d["eventId"] for d in deliveries} == {got[0].id}

    async def test_after_the_last_retry_the_delivery_is_failed_and_redelivery_sends_it_again(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        async with receiving(status=500) as receiver:
            token = await subscribed(client, database, receiver, ["user.created"])
            await register(client)
            await receiver.wait_for(3)
            deliveries = await wait_for_deliveries(
                client, token, lambda found: len(found) == 3 and found[0]["status"] == "FAILED"
            )
            await asyncio.sleep(0.3)
            assert len(receiver.received) == 3  # the schedule has two retries: no fourth
            assert all(d["status"] == "FAILED" for d in deliveries)
            event_id = deliveries[0]["eventId"]

            receiver.status = 200
            redelivered = data_of(
                await gql(client, REDELIVER, {"eventId": event_id}, token=token),
                "redeliverWebhookEvent",
            )
            got = await receiver.wait_for(4)
        assert redelivered is True
        assert got[-1].id == event_id
        assert got[-1].verified_by

    async def test_redelivering_an_unknown_event_is_not_found(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        admin = await register_admin(client, database)

        body = await gql(client, REDELIVER, {"eventId": "msg_nope"}, token=admin["accessToken"])

        assert_error(body, "BAD_USER_INPUT", reason="NOT_FOUND", field="eventId")

    async def test_a_redirect_is_never_followed(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        async with receiving() as elsewhere:
            async with receiving(status=302, location=elsewhere.url) as receiver:
                token = await subscribed(client, database, receiver, ["user.created"])
                await register(client)
                deliveries = await wait_for_deliveries(
                    client, token, lambda found: len(found) == 3 and found[0]["status"] == "FAILED"
                )
        assert [d["responseStatus"] for d in deliveries] == [302, 302, 302]
        assert elsewhere.received == []

    async def test_a_receiver_slower_than_the_timeout_is_a_failed_attempt(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(
            database.url, **(QUICK | {"webhook_timeout_seconds": 0.3, "webhook_retry_schedule": []})
        )
        async with running_app(settings) as client, receiving(delay=2) as receiver:
            token = await subscribed(client, database, receiver, ["user.created"])
            await register(client)
            (delivery,) = await wait_for_deliveries(
                client, token, lambda found: bool(found) and found[0]["status"] == "FAILED"
            )
        assert delivery["responseStatus"] is None
        assert delivery["error"] == "timed out"

    async def test_a_disabled_endpoint_gets_none_of_the_events_meanwhile(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        async with receiving() as receiver:
            token = await subscribed(client, database, receiver, ["user.created"])
            (endpoint,) = database.rows("webhook_endpoints")
            update = {"id": str(endpoint["id"]), "enabled": False}
            data_of(
                await gql(client, UPDATE_ENDPOINT, {"input": update}, token=token),
                "updateWebhookEndpoint",
            )
            await register(client)
            await asyncio.sleep(0.3)
            assert receiver.received == []

            update["enabled"] = True
            data_of(
                await gql(client, UPDATE_ENDPOINT, {"input": update}, token=token),
                "updateWebhookEndpoint",
            )
            later = await register(client)
            (got,) = await receiver.wait_for(1)
        assert got.event["data"]["id"] == later["user"]["id"]

    async def test_after_a_rotation_both_secrets_sign_each_delivery(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        async with receiving() as receiver:
            token = await subscribed(client, database, receiver, ["user.created"])
            (old_secret,) = receiver.secrets
            (endpoint,) = database.rows("webhook_endpoints")
            rotated = data_of(
                await gql(client, ROTATE_SECRET, {"id": str(endpoint["id"])}, token=token),
                "rotateWebhookSecret",
            )
            receiver.secrets.append(rotated["secret"])
            await register(client)
            (got,) = await receiver.wait_for(1)
        assert rotated["secret"] != old_secret
        assert got.verified_by == [old_secret, rotated["secret"]]
        assert len(got.headers["webhook-signature"].split(" ")) == 2


class TestEventsOfEachChange:
    async def test_a_password_change_sends_password_changed_and_revokes_the_sessions(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        async with receiving() as receiver:
            await subscribed(client, database, receiver, ["password.changed", "session.revoked"])
            payload = await register(client)
            variables = {
                "input": {"currentPassword": STRONG_PASSWORD, "newPassword": "Another-Lantern-77x"}
            }
            data_of(
                await gql(client, CHANGE_PASSWORD, variables, token=payload["accessToken"]),
                "changePassword",
            )
            (changed,) = await receiver.wait_for(
                1, where=lambda got: got.type == "password.changed"
            )
            (revoked,) = await receiver.wait_for(1, where=lambda got: got.type == "session.revoked")
        assert changed.event["data"]["reset"] is False
        assert changed.event["data"]["id"] == payload["user"]["id"]
        assert revoked.event["data"]["reason"] == "credentials_changed"


class TestOperations:
    async def test_an_endpoint_failing_for_too_long_is_disabled_with_an_event(
        self, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings = make_settings(
            database.url,
            **(
                QUICK
                | {
                    # 0.1 s of nothing but failures, then two more failed retries.
                    "webhook_disable_after_days": 0.1 / 86400,
                    "webhook_retry_schedule": ["0.2s", "0.2s", "0.2s"],
                }
            ),
        )
        async with running_app(settings) as client, receiving(status=500) as receiver:
            token = await subscribed(client, database, receiver, ["user.created"])
            await register(client)
            listed = await wait_for_endpoints(client, token, lambda found: not found[0]["enabled"])
        (endpoint,) = listed
        assert endpoint["failingSince"] is not None
        attempts = len(receiver.received)
        assert 2 <= attempts <= 4
        (disabled,) = [
            row
            for row in database.rows("webhook_events")
            if row["type"] == "webhook.endpoint_disabled"
        ]
        assert json.loads(disabled["data"])["id"] == endpoint["id"]
        assert any("disabled" in record.getMessage() for record in caplog.records)

    async def test_metrics_count_deliveries_by_outcome_and_show_the_queue(
        self, database: SqlDatabase
    ) -> None:
        settings = make_settings(database.url, metrics_enabled=True, **QUICK)
        async with running_app(settings) as client, receiving(answers=[500]) as receiver:
            token = await subscribed(client, database, receiver, ["user.created"])
            await register(client)
            await wait_for_deliveries(
                client, token, lambda found: bool(found) and found[0]["status"] == "SUCCEEDED"
            )
            page = (await client.get("/metrics")).text
        assert 'gql_auth_webhook_deliveries_total{outcome="retrying"} 1.0' in page
        assert 'gql_auth_webhook_deliveries_total{outcome="delivered"} 1.0' in page
        assert "gql_auth_webhook_queue_depth 0.0" in page
        assert "gql_auth_webhook_oldest_due_seconds 0.0" in page


SET_ROLE = "mutation R($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id } }"
SET_ACTIVE = (
    "mutation A($id: ID!, $on: Boolean!) { setUserActive(userId: $id, active: $on) { id } }"
)
UPDATE_PROFILE = """
mutation U($input: UpdateProfileInput!) { updateProfile(input: $input) { username } }"""


class TestWhatEachChangeSends:
    """Each change, through the API, and the events a subscriber to everything receives."""

    async def test_account_changes(self, client: httpx.AsyncClient, database: SqlDatabase) -> None:
        async with receiving() as receiver:
            admin = await subscribed(client, database, receiver)
            alice = await register(client)
            alice_id = alice["user"]["id"]
            steps = [
                (
                    UPDATE_PROFILE,
                    {"input": {"username": "alice_renamed", "currentPassword": STRONG_PASSWORD}},
                    alice["accessToken"],
                ),
                (LOGOUT, {"token": alice["refreshToken"]}, None),
                (SET_ROLE, {"id": alice_id, "role": "ADMIN"}, admin),
                (SET_ACTIVE, {"id": alice_id, "on": False}, admin),
                (SET_ACTIVE, {"id": alice_id, "on": True}, admin),
            ]
            for query, variables, token in steps:
                assert not (await gql(client, query, variables, token=token)).get("errors")
            await receiver.wait_for(1, where=lambda got: got.type == "user.activated")
            await asyncio.sleep(0.3)  # two polls: nothing else is still on its way
        of_alice = [got for got in receiver.received if got.event["data"].get("id") == alice_id]
        # Events of one transaction go out side by side: their arrival order is the network's.
        seen = sorted((got.type, got.event["data"].get("reason") or "") for got in of_alice)
        assert seen == sorted(
            [
                ("user.created", ""),
                ("session.created", ""),
                ("user.updated", ""),
                ("session.revoked", "logout"),
                ("user.role_changed", ""),
                ("user.deactivated", ""),
                ("user.activated", ""),
            ]
        )
        by_type = {got.type: got.event["data"] for got in of_alice}
        assert by_type["user.updated"]["username"] == "alice_renamed"
        assert by_type["user.role_changed"]["previousRole"] == "USER"
        assert by_type["user.role_changed"]["role"] == "ADMIN"
        assert by_type["user.deactivated"]["active"] is False
        assert all(got.verified_by for got in receiver.received)

    async def test_logout_all_revokes_each_session_once(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        async with receiving() as receiver:
            await subscribed(client, database, receiver, ["session.revoked"])
            alice = await register(client)
            again = await login(client, alice["user"]["username"])
            assert not (await gql(client, LOGOUT_ALL, token=again["accessToken"])).get("errors")
            got = await receiver.wait_for(2)
        assert {r.event["data"]["sessionId"] for r in got} == {
            session_id_of(alice),
            session_id_of(again),
        }
        assert {r.event["data"]["reason"] for r in got} == {"logout_all"}

    async def test_organization_changes(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        owner = await register(client)
        member = await register(client)
        async with receiving() as receiver:
            await subscribed(
                client,
                database,
                receiver,
                [
                    "organization.created",
                    "organization.updated",
                    "organization.deleted",
                    "member.added",
                    "member.updated",
                    "member.removed",
                ],
            )
            token = owner["accessToken"]
            organization = await create_organization(client, token, name="Acme")
            org_id = organization["id"]
            await asyncio.to_thread(put_member, database, org_id, member["user"]["id"])
            steps = [
                (UPDATE_ORGANIZATION, {"input": {"organizationId": org_id, "name": "Acme Inc."}}),
                (
                    SET_MEMBER_ROLE,
                    {
                        "input": {
                            "organizationId": org_id,
                            "userId": member["user"]["id"],
                            "role": "ADMIN",
                        }
                    },
                ),
                (REMOVE_MEMBER, {"org": org_id, "user": member["user"]["id"]}),
                (DELETE_ORGANIZATION, {"id": org_id, "password": STRONG_PASSWORD}),
            ]
            for query, variables in steps:
                body = await gql(client, query, variables, token=token)
                assert not body.get("errors"), body
            await receiver.wait_for(1, where=lambda got: got.type == "organization.deleted")
        assert sorted(got.type for got in receiver.received) == sorted(
            [
                "organization.created",
                "member.added",
                "organization.updated",
                "member.updated",
                "member.removed",
                "organization.deleted",
            ]
        )
        added, updated, removed = (
            receiver.of_type(t)[0].event["data"]
            for t in ("member.added", "member.updated", "member.removed")
        )
        assert added["user"]["id"] == owner["user"]["id"] and added["role"] == "OWNER"
        assert updated["user"]["id"] == member["user"]["id"]
        assert (updated["role"], updated["previousRole"]) == ("ADMIN", "MEMBER")
        assert removed["role"] == "ADMIN"
        assert receiver.of_type("organization.updated")[0].event["data"]["name"] == "Acme Inc."


class TestSecretKeyRotation:
    async def test_a_secret_sealed_under_the_previous_key_signs_and_is_sealed_again(
        self, database: SqlDatabase
    ) -> None:
        old_key, new_key = "o" * 40, "n" * 40
        async with receiving() as receiver:
            async with running_app(
                make_settings(database.url, secret_key=old_key, **QUICK)
            ) as client:
                await subscribed(client, database, receiver, ["user.created"])
            (before,) = database.rows("webhook_endpoints")
            rotated = make_settings(
                database.url, secret_key=new_key, secret_key_previous=old_key, **QUICK
            )
            async with running_app(rotated) as client:
                await register(client)
                (first,) = await receiver.wait_for(1)
            (after,) = database.rows("webhook_endpoints")
            # SECRET_KEY_PREVIOUS retired: the secret was sealed again under the new key.
            async with running_app(
                make_settings(database.url, secret_key=new_key, **QUICK)
            ) as client:
                await register(client)
                second = (await receiver.wait_for(2))[1]
        assert first.verified_by == receiver.secrets
        assert second.verified_by == receiver.secrets
        assert after["secret"] != before["secret"]
