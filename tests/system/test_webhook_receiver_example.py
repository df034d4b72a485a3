"""examples/webhook-receiver: a real Node.js service kept in sync by gql-auth's webhooks.

First against deliveries this test signs itself with the standardwebhooks package, as
gql-auth does: only genuine, fresh deliveries change anything, each webhook-id at most
once, and an older event never overwrites newer data. Then end to end: gql-auth's own
deliveries (retried through 503s with the same webhook-id) keep the receiver's users
table equal to what gql-auth says. Skipped without node and npm, failed without them
under CI=true.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.support.helpers import (
    LOGIN,
    REGISTER,
    STRONG_PASSWORD,
    SqlDatabase,
    register_input,
    unique_username,
)
from tests.support.live_server import REPO, npm_ci, require_tools
from tests.support.servers import ServerProcess, free_port, server_environment

EXAMPLE = REPO / "examples" / "webhook-receiver"
STARTUP_TIMEOUT = 20.0
# What the receiver answers 2xx with: handled now (applied, stale, ignored) or before.
HANDLED = {"applied", "stale", "ignored", "duplicate"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def node() -> str:
    tools = require_tools("node", "npm", why="the webhook-receiver example needs them")
    npm_ci(EXAMPLE, tools["npm"])
    return tools["node"]


def new_secret() -> str:
    """A signing secret as gql-auth makes them: whsec_ and the base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_webhook_id() -> str:
    return f"msg_{secrets.token_hex(12)}"


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_body(kind: str, data: dict[str, Any], happened: datetime) -> bytes:
    return json.dumps({"type": kind, "timestamp": rfc3339(happened), "data": data}).encode()


def user_data(user_id: str = "7", **changes: Any) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": f"user{user_id}",
        "email": f"user{user_id}@example.com",
        "role": "USER",
        "active": True,
        "emailVerified": False,
        **changes,
    }


def signed_headers(
    secret: str, body: bytes, webhook_id: str | None = None, sent: datetime | None = None
) -> dict[str, str]:
    """The headers of a delivery of `body`, signed as gql-auth signs (now, unless told)."""
    webhook_id = webhook_id or new_webhook_id()
    sent = sent or datetime.now(UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, sent, body),
        "content-type": "application/json",
    }


class Receiver:
    """`node server.mjs` from the example, started and always stopped."""

    def __init__(
        self, node: str, secret: str, workdir: Path, *, port: int = 0, fail_first: int = 0
    ) -> None:
        self.secret = secret
        self.log = workdir / f"webhook-receiver-{secrets.token_hex(4)}.log"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "WEBHOOK_SECRET": secret,
            "PORT": str(port),  # 0: any free port, named in the line it prints
            "FAIL_FIRST": str(fail_first),
        }
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [node, str(EXAMPLE / "server.mjs")],
                cwd=EXAMPLE,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.url = self._listening_url()

    def _listening_url(self) -> str:
        """From "webhook-receiver: listening on http://127.0.0.1:PORT", its first line."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            first, newline, _ = self.log.read_text().partition("\n")
            if newline:
                assert " listening on http://" in first, first
                return first.rpartition(" ")[2]
            if self.process.poll() is not None:
                pytest.fail(f"the receiver exited {self.process.returncode}:\n{self.log_text()}")
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"the receiver did not start in {STARTUP_TIMEOUT:.0f}s:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text()

    def post(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{self.url}/webhooks", content=body, headers=headers, timeout=10)

    def deliver(
        self,
        kind: str,
        data: dict[str, Any],
        happened: datetime | None = None,
        webhook_id: str | None = None,
    ) -> httpx.Response:
        """A genuine delivery, signed now with the receiver's secret."""
        body = event_body(kind, data, happened or datetime.now(UTC))
        return self.post(body, signed_headers(self.secret, body, webhook_id))

    def users(self) -> list[dict[str, Any]]:
        users: list[dict[str, Any]] = httpx.get(f"{self.url}/users", timeout=10).json()
        return users

    def usernames(self) -> dict[str, str]:
        return {user["id"]: user["username"] for user in self.users()}

    def events(self) -> dict[str, Any]:
        events: dict[str, Any] = httpx.get(f"{self.url}/events", timeout=10).json()
        return events

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it hangs; its exit status (None: it had to be killed)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                return None
        return self.process.returncode


@pytest.fixture
def receiver(node: str, tmp_path: Path) -> Iterator[Receiver]:
    started = Receiver(node, new_secret(), tmp_path)
    try:
        yield started
    finally:
        started.stop()


def test_a_signed_user_created_shows_up_in_users_and_health_answers(receiver: Receiver) -> None:
    happened = datetime.now(UTC)

    answer = receiver.deliver("user.created", user_data("7", username="alice"), happened)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "applied"}
    assert receiver.users() == [
        {
            **user_data("7", username="alice"),
            "updatedAt": rfc3339(happened),
        }
    ]
    assert httpx.get(f"{receiver.url}/healthz", timeout=10).json() == {"status": "ok"}
    assert receiver.events()["accepted"] == 1


def test_users_are_listed_by_id_in_numeric_order(receiver: Receiver) -> None:
    for user_id in ("10", "9", "100"):
        assert receiver.deliver("user.created", user_data(user_id)).status_code == 200

    assert [user["id"] for user in receiver.users()] == ["9", "10", "100"]


def test_the_raw_body_is_verified_as_sent_not_as_reserialized_json(receiver: Receiver) -> None:
    # Spacing, key order and a \u escape that JSON.stringify(JSON.parse(...)) would not keep.
    happened = rfc3339(datetime.now(UTC))
    body = (
        '{ "data" : {"username": "ren\\u00e9e", "id": "8", "email": "renee@example.com",'
        ' "role": "USER", "active": true, "emailVerified": true},\n'
        f'  "timestamp": "{happened}", "type": "user.created" }}'
    ).encode()

    answer = receiver.post(body, signed_headers(receiver.secret, body))

    assert answer.status_code == 200, answer.text
    assert receiver.usernames() == {"8": "renée"}


def forged_signature(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    headers = signed_headers(secret, body)
    headers["webhook-signature"] = "v1," + base64.b64encode(secrets.token_bytes(32)).decode()
    return body, headers


def wrong_secret(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed_headers(new_secret(), body)


def stale_timestamp(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    """A genuine delivery recorded six minutes ago and sent again: over the 5 minutes."""
    return body, signed_headers(secret, body, sent=datetime.now(UTC) - timedelta(minutes=6))


def future_timestamp(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, signed_headers(secret, body, sent=datetime.now(UTC) + timedelta(minutes=6))


def body_changed_after_signing(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body.replace(b'"role": "USER"', b'"role": "ADMIN"'), signed_headers(secret, body)


def webhook_id_changed_after_signing(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, {**signed_headers(secret, body), "webhook-id": new_webhook_id()}


def without(header: str) -> Callable[[str, bytes], tuple[bytes, dict[str, str]]]:
    def missing(secret: str, body: bytes) -> tuple[bytes, dict[str, str]]:
        headers = signed_headers(secret, body)
        del headers[header]
        return body, headers

    missing.__name__ = f"without_{header.replace('-', '_')}"
    return missing


@pytest.mark.parametrize(
    "tamper",
    [
        forged_signature,
        wrong_secret,
        stale_timestamp,
        future_timestamp,
        body_changed_after_signing,
        webhook_id_changed_after_signing,
        without("webhook-id"),
        without("webhook-timestamp"),
        without("webhook-signature"),
    ],
    ids=lambda tamper: tamper.__name__,
)
def test_a_delivery_that_does_not_verify_is_refused_and_changes_nothing(
    receiver: Receiver, tamper: Callable[[str, bytes], tuple[bytes, dict[str, str]]]
) -> None:
    assert receiver.deliver("user.created", user_data("7")).status_code == 200
    before = receiver.users()
    body = event_body("user.updated", user_data("7", username="mallory"), datetime.now(UTC))

    answer = receiver.post(*tamper(receiver.secret, body))

    assert answer.status_code == 400, answer.text
    assert receiver.users() == before
    events = receiver.events()
    assert (events["accepted"], events["rejected"], events["duplicates"]) == (1, 1, 0)


def test_a_refused_delivery_does_not_use_up_its_webhook_id(receiver: Receiver) -> None:
    body = event_body("user.created", user_data("7"), datetime.now(UTC))
    headers = signed_headers(receiver.secret, body)
    tampered = body.replace(b'"role": "USER"', b'"role": "ADMIN"')

    assert receiver.post(tampered, headers).status_code == 400
    answer = receiver.post(body, headers)

    assert answer.json() == {"status": "applied"}
    assert [user["role"] for user in receiver.users()] == ["USER"]


def test_a_replayed_webhook_id_changes_nothing_and_still_answers_2xx(receiver: Receiver) -> None:
    start = datetime.now(UTC)
    webhook_id = new_webhook_id()
    first = event_body("user.created", user_data("7", username="alice"), start)
    first_headers = signed_headers(receiver.secret, first, webhook_id)
    assert receiver.post(first, first_headers).json() == {"status": "applied"}
    synced = receiver.users()

    again = receiver.post(first, first_headers)  # a retry whose first 2xx got lost
    # The same id with other, newer content, freshly and properly signed: still that event.
    other = receiver.deliver(
        "user.updated", user_data("7", username="mallory"), start + timedelta(seconds=1), webhook_id
    )

    for answer in (again, other):
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "duplicate"}
    assert receiver.users() == synced
    events = receiver.events()
    assert (events["accepted"], events["duplicates"], events["applied"]) == (1, 2, 1)


def test_an_older_event_arriving_after_a_newer_one_does_not_overwrite(receiver: Receiver) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    at = [start + timedelta(milliseconds=step) for step in range(5)]

    # The profile changes twice; the first change's delivery is retried and lands last.
    receiver.deliver("user.created", user_data("7", username="alice"), at[0])
    receiver.deliver("user.updated", user_data("7", username="alice2"), at[2])
    late = receiver.deliver("user.updated", user_data("7", username="alice1"), at[1])
    # For another user, a deactivation and a later reactivation arrive the wrong way round.
    receiver.deliver("user.created", user_data("8"), at[0])
    receiver.deliver("user.activated", user_data("8", active=True), at[4])
    receiver.deliver("user.deactivated", user_data("8", active=False), at[3])

    assert late.status_code == 200, late.text  # acknowledged: gql-auth must not retry it
    assert late.json() == {"status": "stale"}
    rows = {user["id"]: user for user in receiver.users()}
    assert rows["7"]["username"] == "alice2"
    assert rows["7"]["updatedAt"] == rfc3339(at[2])
    assert rows["8"]["active"] is True
    assert receiver.events()["stale"] == 2


def test_events_microseconds_apart_keep_their_order(receiver: Receiver) -> None:
    start = datetime.now(UTC).replace(microsecond=1)
    later = start + timedelta(microseconds=1)  # the same millisecond: Date alone ties them

    receiver.deliver("user.role_changed", user_data("7", role="ADMIN", previousRole="USER"), later)
    receiver.deliver("user.created", user_data("7"), start)

    assert [user["role"] for user in receiver.users()] == ["ADMIN"]


def test_an_update_arriving_before_its_create_creates_the_row(receiver: Receiver) -> None:
    start = datetime.now(UTC)
    receiver.deliver("user.updated", user_data("7", username="renamed"), start)

    late_create = receiver.deliver("user.created", user_data("7"), start - timedelta(seconds=1))

    assert late_create.json() == {"status": "stale"}
    assert receiver.usernames() == {"7": "renamed"}


def test_during_a_rotation_a_match_of_either_signature_is_enough(receiver: Receiver) -> None:
    body = event_body("user.created", user_data("7"), datetime.now(UTC))
    headers = signed_headers(new_secret(), body)  # the old secret, which the receiver lost
    current = signed_headers(receiver.secret, body, headers["webhook-id"])
    # The timestamp is in whole seconds: both were signed over the same one.
    assert current["webhook-timestamp"] == headers["webhook-timestamp"]
    headers["webhook-signature"] += " " + current["webhook-signature"]

    answer = receiver.post(body, headers)

    assert answer.status_code == 200, answer.text
    assert receiver.usernames() == {"7": "user7"}


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("invoice.paid", {"id": "in_1", "amount": 4200}),  # a type added after this receiver
        ("user.exploded", {"id": "7"}),
        ("session.created", {**user_data("7"), "sessionId": "s1", "methods": ["pwd"]}),
        ("member.added", {"organization": {"id": "3"}, "user": {"id": "7"}, "role": "MEMBER"}),
    ],
)
def test_other_and_unknown_event_types_are_accepted_and_ignored(
    receiver: Receiver, kind: str, data: dict[str, Any]
) -> None:
    answer = receiver.deliver(kind, data)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ignored"}
    assert receiver.users() == []
    assert receiver.events()["ignored"] == 1


def test_fail_first_answers_503_until_a_retry_of_the_same_id_gets_through(
    node: str, tmp_path: Path
) -> None:
    receiver = Receiver(node, new_secret(), tmp_path, fail_first=2)
    try:
        body = event_body("user.created", user_data("7"), datetime.now(UTC))
        headers = signed_headers(receiver.secret, body)

        statuses = [receiver.post(body, headers).status_code for _ in range(4)]

        assert statuses == [503, 503, 200, 200]
        assert receiver.usernames() == {"7": "user7"}
        log = receiver.events()["deliveries"]
        assert [(entry["webhookId"], entry["outcome"]) for entry in log] == [
            (headers["webhook-id"], outcome)
            for outcome in ("failed", "failed", "applied", "duplicate")
        ]
    finally:
        receiver.stop()


def test_it_stops_cleanly_on_sigterm_with_a_connection_kept_alive(
    node: str, tmp_path: Path
) -> None:
    receiver = Receiver(node, new_secret(), tmp_path)
    try:
        with httpx.Client(base_url=receiver.url, timeout=10) as client:
            assert client.get("/healthz").status_code == 200  # the connection stays open

            assert receiver.stop() == 0
    finally:
        receiver.stop()


# --- end to end: gql-auth's own deliveries ---------------------------------------------

CREATE_ENDPOINT = """
mutation Create($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id url eventTypes enabled } secret }
}"""
UPDATE_PROFILE = """
mutation Update($input: UpdateProfileInput!) { updateProfile(input: $input) { id username } }"""
SET_USER_ROLE = """
mutation Role($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id } }"""
SET_USER_ACTIVE = """
mutation Active($userId: ID!, $active: Boolean!) {
  setUserActive(userId: $userId, active: $active) { id }
}"""
USER_AS_ADMIN = """
query User($id: ID!) { user(id: $id) { id username email role isActive emailVerified } }"""
DELIVERIES = """
query {
  webhookEndpoints {
    id
    deliveries(first: 100) { eventId eventType attempt status responseStatus }
  }
}"""


def graphql(
    server: ServerProcess, query: str, variables: dict[str, Any], token: str = ""
) -> dict[str, Any]:
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=20,
    )
    body = response.json()
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


def sign_up(server: ServerProcess, prefix: str) -> dict[str, Any]:
    payload: dict[str, Any] = graphql(
        server, REGISTER, {"input": register_input(unique_username(prefix))}
    )["register"]
    return payload


def admin_token(server: ServerProcess, database: SqlDatabase) -> str:
    """An ADMIN's access token: nobody registers as one, so promoted in the database."""
    user = sign_up(server, "admin")["user"]
    database.update_user(user["id"], role="ADMIN")
    signed_in = graphql(
        server, LOGIN, {"input": {"username": user["username"], "password": STRONG_PASSWORD}}
    )
    token: str = signed_in["login"]["accessToken"]
    return token


def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not after {timeout:.0f}s: {what}")
        time.sleep(0.2)


ROW_FIELDS = ("id", "username", "email", "role", "active")


def as_row(user: dict[str, Any]) -> dict[str, Any]:
    """gql-auth's User as the receiver's row holds it."""
    return {
        "id": user["id"],
        "username": user["username"],
        "email": user["email"],
        "role": user["role"],
        "active": user["isActive"],
    }


@pytest.mark.parametrize("fail_first", [0, 2], ids=["delivered", "retried"])
def test_end_to_end_gql_auth_deliveries_keep_the_users_table_in_sync(
    node: str, database: SqlDatabase, tmp_path: Path, fail_first: int
) -> None:
    # Development allows endpoints on 127.0.0.1; retries come at once, not after 5 s.
    env = server_environment(
        database.url,
        ENVIRONMENT="development",
        LOG_LEVEL="WARNING",
        WEBHOOK_RETRY_SCHEDULE="0s,1s,1s",
    )
    gql_auth = ServerProcess(env, tmp_path)
    receiver: Receiver | None = None
    try:
        gql_auth.wait_until_healthy()
        admin = admin_token(gql_auth, database)
        port = free_port()
        url = f"http://127.0.0.1:{port}/webhooks"
        created = graphql(
            gql_auth, CREATE_ENDPOINT, {"input": {"url": url, "eventTypes": []}}, admin
        )["createWebhookEndpoint"]
        assert created["endpoint"]["url"] == url
        assert created["endpoint"]["eventTypes"] == []
        assert created["endpoint"]["enabled"] is True
        assert created["secret"].startswith("whsec_")
        receiver = Receiver(node, created["secret"], tmp_path, port=port, fail_first=fail_first)

        alice, bob = sign_up(gql_auth, "alice"), sign_up(gql_auth, "bob")
        alice_id, bob_id = alice["user"]["id"], bob["user"]["id"]
        renamed = unique_username("alice")
        profile = {"username": renamed, "currentPassword": STRONG_PASSWORD}
        graphql(gql_auth, UPDATE_PROFILE, {"input": profile}, alice["accessToken"])
        graphql(gql_auth, SET_USER_ROLE, {"userId": bob_id, "role": "ADMIN"}, admin)
        graphql(gql_auth, SET_USER_ACTIVE, {"userId": bob_id, "active": False}, admin)

        expected = {
            user_id: as_row(graphql(gql_auth, USER_AS_ADMIN, {"id": user_id}, admin)["user"])
            for user_id in (alice_id, bob_id)
        }
        assert expected[alice_id]["username"] == renamed
        assert (expected[bob_id]["role"], expected[bob_id]["active"]) == ("ADMIN", False)

        def synced() -> dict[str, dict[str, Any]]:
            assert receiver is not None
            return {
                row["id"]: {name: row[name] for name in ROW_FIELDS}
                for row in receiver.users()
                if row["id"] in expected
            }

        eventually(lambda: synced() == expected, f"the receiver's users equal {expected}")
        events = receiver.events()
        assert (events["rejected"], events["failed"]) == (0, fail_first), events
        kinds = {entry["type"] for entry in events["deliveries"]}
        assert {"user.created", "user.updated", "user.role_changed", "user.deactivated"} <= kinds
        if fail_first:
            assert_retried_with_the_same_webhook_id(gql_auth, admin, receiver, fail_first)
    finally:
        if receiver is not None:
            receiver.stop()
        gql_auth.stop()


def assert_retried_with_the_same_webhook_id(
    gql_auth: ServerProcess, admin: str, receiver: Receiver, failures: int
) -> None:
    """Each delivery answered 503 came again with its webhook-id and was handled then."""
    log = receiver.events()["deliveries"]
    failed = [entry["webhookId"] for entry in log if entry["outcome"] == "failed"]
    assert len(failed) == failures, log
    assert all(webhook_id and webhook_id.startswith("msg_") for webhook_id in failed), failed

    def handled_later() -> bool:
        log = receiver.events()["deliveries"]
        handled = {entry["webhookId"] for entry in log if entry["outcome"] in HANDLED}
        return set(failed) <= handled

    eventually(handled_later, f"a retry of {failed} handled")

    def attempts() -> dict[str, list[dict[str, Any]]]:
        (endpoint,) = graphql(gql_auth, DELIVERIES, {}, admin)["webhookEndpoints"]
        by_event: dict[str, list[dict[str, Any]]] = {}
        for delivery in endpoint["deliveries"]:
            by_event.setdefault(delivery["eventId"], []).append(delivery)
        return by_event

    def succeeded_after_503() -> bool:
        by_event = attempts()
        for webhook_id in failed:
            tried = sorted(by_event.get(webhook_id, []), key=lambda attempt: attempt["attempt"])
            if not tried or tried[0]["responseStatus"] != 503:
                return False
            if not any(attempt["status"] == "SUCCEEDED" for attempt in tried[1:]):
                return False
        return True

    eventually(succeeded_after_503, f"gql-auth records 503 then success for {failed}")
