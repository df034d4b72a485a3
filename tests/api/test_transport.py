"""Transport rules in front of /graphql: JSON-only POSTs, a body cap, no operations over GET,
security headers and CORS only for the configured origins."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gql_auth.security.json_input import MAX_DEPTH
from tests.support.helpers import (
    REGISTER,
    SqlDatabase,
    data_of,
    gql,
    make_settings,
    register_input,
    running_app,
)

ALLOWED_ORIGIN = "https://app.example.com"
OTHER_ORIGIN = "https://evil.example.net"
TYPENAME = json.dumps({"query": "{ __typename }"})


def register_body() -> str:
    return json.dumps({"query": REGISTER, "variables": {"input": register_input()}})


async def assert_healthy(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert await gql(client, "{ __typename }") == {"data": {"__typename": "Query"}}


class TestBodyCap:
    async def test_a_body_over_64_kib_is_413_and_the_server_stays_healthy(
        self, client: httpx.AsyncClient
    ) -> None:
        padding = "x" * (64 * 1024)
        body = json.dumps({"query": "{ __typename }", "variables": {"pad": padding}})

        response = await client.post(
            "/graphql", content=body, headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["reason"] == "PAYLOAD_TOO_LARGE"
        await assert_healthy(client)

    async def test_a_streamed_body_without_a_length_is_cut_off_too(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"query": "' + REGISTER.replace("\n", " ").encode() + b'", "variables": '
            for _ in range(80):
                yield b" " * 1024
            yield json.dumps({"input": register_input()}).encode() + b"}"

        response = await client.post(
            "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 413
        assert database.count("users") == 0
        await assert_healthy(client)

    async def test_a_body_just_under_the_cap_runs(self, client: httpx.AsyncClient) -> None:
        body = json.dumps({"query": "{ __typename }", "variables": {"pad": "x" * 60_000}})

        response = await client.post(
            "/graphql", content=body, headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 200
        assert response.json() == {"data": {"__typename": "Query"}}


class TestMediaTypes:
    @pytest.mark.parametrize(
        "content_type",
        [
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xyz",
            "application/graphql",
            None,
        ],
        ids=["text", "text-charset", "form", "multipart", "graphql", "none"],
    )
    async def test_a_post_a_browser_can_send_cross_site_is_415_and_creates_nothing(
        self, client: httpx.AsyncClient, database: SqlDatabase, content_type: str | None
    ) -> None:
        headers = {"Content-Type": content_type} if content_type else {}

        response = await client.post("/graphql", content=register_body(), headers=headers)

        assert response.status_code == 415
        assert database.count("users") == 0

    async def test_a_real_form_post_is_415_and_creates_nothing(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        response = await client.post("/graphql", data={"query": REGISTER})

        assert response.status_code == 415
        assert database.count("users") == 0

    async def test_a_real_multipart_post_is_415_and_creates_nothing(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        response = await client.post(
            "/graphql", files={"operations": ("operations.json", register_body())}
        )

        assert response.status_code == 415
        assert database.count("users") == 0

    @pytest.mark.parametrize(
        "headers",
        [
            {"Content-Type": "application/json"},
            {"Content-Type": "application/json; charset=utf-8"},
            {"Content-Type": "application/json", "Accept": "application/graphql-response+json"},
        ],
        ids=["json", "json-charset", "accept-graphql-response"],
    )
    async def test_json_posts_run(
        self, client: httpx.AsyncClient, database: SqlDatabase, headers: dict[str, str]
    ) -> None:
        response = await client.post("/graphql", content=register_body(), headers=headers)

        assert data_of(response.json(), "register")["accessToken"]
        assert database.count("users") == 1


class TestGet:
    async def test_get_never_runs_a_mutation(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        response = await client.get(
            "/graphql",
            params={"query": REGISTER, "variables": json.dumps({"input": register_input()})},
            headers={"Accept": "application/json"},
        )

        assert response.status_code >= 400
        assert "accessToken" not in response.text
        assert database.count("users") == 0

    async def test_get_never_runs_a_query(self, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/graphql", params={"query": "{ __typename }"}, headers={"Accept": "application/json"}
        )

        assert response.status_code >= 400
        assert '"Query"' not in response.text


class TestSecurityHeaders:
    async def test_graphql_responses_carry_the_security_headers(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/graphql", json={"query": "{ __typename }"})

        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"

    @pytest.mark.parametrize(
        ("content", "content_type", "status"),
        [(TYPENAME, "text/plain", 415), ("x" * 70_000, "application/json", 413)],
        ids=["415", "413"],
    )
    async def test_refusals_carry_the_security_headers_too(
        self, client: httpx.AsyncClient, content: str, content_type: str, status: int
    ) -> None:
        response = await client.post(
            "/graphql", content=content, headers={"Content-Type": content_type}
        )

        assert response.status_code == status
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"

    async def test_other_paths_carry_nosniff_and_no_referrer(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/healthz")

        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


class TestCors:
    @pytest.fixture
    async def cors_client(self, database: SqlDatabase) -> AsyncIterator[httpx.AsyncClient]:
        settings = make_settings(database.url, cors_origins=ALLOWED_ORIGIN)
        async with running_app(settings) as client:
            yield client

    async def test_a_preflight_from_an_allowed_origin_is_allowed(
        self, cors_client: httpx.AsyncClient
    ) -> None:
        response = await cors_client.options("/graphql", headers=preflight(ALLOWED_ORIGIN))

        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert "POST" in response.headers["access-control-allow-methods"]

    async def test_a_preflight_from_another_origin_is_not_allowed(
        self, cors_client: httpx.AsyncClient
    ) -> None:
        response = await cors_client.options("/graphql", headers=preflight(OTHER_ORIGIN))

        assert "access-control-allow-origin" not in response.headers

    async def test_a_post_from_an_allowed_origin_may_be_read(
        self, cors_client: httpx.AsyncClient
    ) -> None:
        response = await cors_client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": ALLOWED_ORIGIN}
        )

        assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN

    async def test_a_post_from_another_origin_may_not_be_read(
        self, cors_client: httpx.AsyncClient
    ) -> None:
        response = await cors_client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": OTHER_ORIGIN}
        )

        assert "access-control-allow-origin" not in response.headers

    async def test_without_cors_origins_no_origin_is_allowed(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.options("/graphql", headers=preflight(ALLOWED_ORIGIN))

        assert "access-control-allow-origin" not in response.headers


def post_raw(client: httpx.AsyncClient, body: bytes) -> Any:
    return client.post("/graphql", content=body, headers={"Content-Type": "application/json"})


class TestMalformedBodies:
    async def test_json_nested_too_deeply_for_the_parser_is_400_not_500(
        self, client: httpx.AsyncClient
    ) -> None:
        nested = b"[" * 20_000 + b"]" * 20_000
        body = b'{"query": "{ __typename }", "variables": {"x": ' + nested + b"}}"

        response = await post_raw(client, body)

        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["reason"] == "TOO_DEEP"
        await assert_healthy(client)

    async def test_a_body_of_nested_arrays_just_under_the_cap_is_too_deep_without_a_traceback(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        head, tail = b'{"query": "{ __typename }", "variables": {"x": ', b"}}"
        depth = (64 * 1024 - len(head) - len(tail)) // 2
        body = head + b"[" * depth + b"]" * depth + tail

        response = await post_raw(client, body)

        assert len(body) == 64 * 1024 - 1
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["reason"] == "TOO_DEEP"
        assert "Traceback" not in caplog.text
        await assert_healthy(client)

    @pytest.mark.parametrize("opener", ["[", '{"a": '], ids=["arrays", "objects"])
    async def test_variables_one_level_past_the_bound_are_too_deep(
        self, client: httpx.AsyncClient, opener: str
    ) -> None:
        closer = "]" if opener == "[" else "}"
        nested = opener * (MAX_DEPTH - 1) + "1" + closer * (MAX_DEPTH - 1)  # + body + variables
        body = f'{{"query": "{{ __typename }}", "variables": {{"x": {nested}}}}}'

        response = await post_raw(client, body.encode())

        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["reason"] == "TOO_DEEP"

    async def test_variables_nested_up_to_the_bound_run(self, client: httpx.AsyncClient) -> None:
        nested = "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2)  # + body + variables = the bound
        body = f'{{"query": "{{ __typename }}", "variables": {{"x": {nested}}}}}'

        response = await post_raw(client, body.encode())

        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_a_lone_surrogate_is_400_and_creates_nothing(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        variables = {"input": register_input(password="Quokka-\ud800-Lantern-42")}
        body = json.dumps({"query": REGISTER, "variables": variables}).encode()  # escaped

        response = await post_raw(client, body)

        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["reason"] == "INVALID_UNICODE"
        assert database.count("users") == 0

    @pytest.mark.parametrize(
        "text",
        ["\U0001f600 emoji", "a backslash then \\ud800", "plain"],
        ids=["surrogate-pair", "escaped-backslash", "plain"],
    )
    async def test_valid_unicode_passes(self, client: httpx.AsyncClient, text: str) -> None:
        body = json.dumps({"query": "{ __typename }", "variables": {"text": text}}).encode()

        response = await post_raw(client, body)

        assert response.json() == {"data": {"__typename": "Query"}}

    @pytest.mark.parametrize(
        "body",
        [b"{", b'{"query": }', b"null", b'"just a string"', b"[]", b"1"],
        ids=["open-brace", "no-value", "null", "string", "array", "number"],
    )
    async def test_a_body_that_is_not_one_json_object_is_400_not_500(
        self, client: httpx.AsyncClient, body: bytes
    ) -> None:
        response = await post_raw(client, body)

        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["reason"] == "INVALID_JSON"
        await assert_healthy(client)


def register_body_with(password_bytes: bytes) -> bytes:
    """A valid registration whose password holds these raw bytes, the rest plain UTF-8."""
    body = json.dumps(
        {"query": REGISTER, "variables": {"input": register_input(password="Quokka-@-42")}}
    )
    return body.encode().replace(b"Quokka-@-42", b"Quokka-" + password_bytes + b"-42")


def assert_invalid_unicode(response: httpx.Response) -> None:
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "reason": "INVALID_UNICODE"}


class TestBodiesAreStrictUtf8:
    @pytest.mark.parametrize(
        "raw",
        [
            b"\xed\xa0\x80",  # U+D800, a lone high surrogate
            b"\xed\xbf\xbf",  # U+DFFF, a lone low surrogate
            b"\xed\xa0\xbd\xed\xb8\x80",  # a surrogate pair written as two 3-byte sequences
            b"\xc0\xaf",  # "/" overlong
            b"\xe0\x80\xaf",  # "/" overlong in three bytes
            b"\xf5\x80\x80\x80",  # F5..FF never start a sequence
            b"\xf4\x90\x80\x80",  # above U+10FFFF
            b"\xe2\x82",  # a sequence cut short
            b"\x80",  # a continuation byte alone
            b"\xff",
        ],
        ids=[
            "high-surrogate",
            "low-surrogate",
            "cesu-8-pair",
            "overlong-2",
            "overlong-3",
            "f5",
            "above-10ffff",
            "truncated",
            "lone-continuation",
            "ff",
        ],
    )
    async def test_raw_bytes_that_are_not_utf8_are_invalid_unicode_without_a_traceback(
        self,
        client: httpx.AsyncClient,
        database: SqlDatabase,
        caplog: pytest.LogCaptureFixture,
        raw: bytes,
    ) -> None:
        response = await post_raw(client, register_body_with(raw))

        assert_invalid_unicode(response)
        assert database.count("users") == 0
        assert "Traceback" not in caplog.text
        assert not [record for record in caplog.records if record.levelno >= logging.ERROR]

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
    async def test_a_body_in_utf16_or_utf32_with_a_bom_is_invalid_unicode(
        self,
        client: httpx.AsyncClient,
        database: SqlDatabase,
        caplog: pytest.LogCaptureFixture,
        encoding: str,
    ) -> None:
        response = await post_raw(client, register_body().encode(encoding))

        assert_invalid_unicode(response)
        assert database.count("users") == 0
        assert "Traceback" not in caplog.text

    @pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
    async def test_a_body_in_utf16_or_utf32_without_a_bom_is_not_json(
        self, client: httpx.AsyncClient, database: SqlDatabase, encoding: str
    ) -> None:
        """ASCII text in UTF-16/32 is valid UTF-8 full of NUL bytes: not guessed at, not JSON."""
        response = await post_raw(client, register_body().encode(encoding))

        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["reason"] == "INVALID_JSON"
        assert database.count("users") == 0

    async def test_an_escaped_lone_surrogate_in_utf16_is_refused_too(
        self, client: httpx.AsyncClient, database: SqlDatabase, caplog: pytest.LogCaptureFixture
    ) -> None:
        variables = {"input": register_input(password="Quokka-\ud800-Lantern-42")}
        body = json.dumps({"query": REGISTER, "variables": variables}).encode("utf-16")

        response = await post_raw(client, body)

        assert_invalid_unicode(response)
        assert database.count("users") == 0
        assert "Traceback" not in caplog.text

    async def test_a_leading_utf8_bom_is_ignored_as_rfc_8259_allows(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        response = await post_raw(client, b"\xef\xbb\xbf" + register_body().encode())

        assert data_of(response.json(), "register")["accessToken"]
        assert database.count("users") == 1

    async def test_a_bom_anywhere_else_is_not_json(self, client: httpx.AsyncClient) -> None:
        response = await post_raw(client, b" \xef\xbb\xbf" + TYPENAME.encode())

        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["reason"] == "INVALID_JSON"

    async def test_multibyte_utf8_up_to_four_bytes_still_registers(
        self, client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        raw = "ü€\U0001d11e".encode()  # two, three and four bytes

        response = await post_raw(client, register_body_with(raw))

        assert data_of(response.json(), "register")["accessToken"]
        assert database.count("users") == 1


class TestGetQueryStrings:
    @pytest.mark.parametrize("name", ["query", "variables", "extensions", "operationName"])
    @pytest.mark.parametrize("escaped", ["%ED%A0%80", "%C0%AF", "%FF", "%E2%82"])
    @pytest.mark.parametrize("accept", ["application/json", "text/html"])
    async def test_bad_percent_encoded_utf8_is_never_a_500(
        self,
        client: httpx.AsyncClient,
        caplog: pytest.LogCaptureFixture,
        name: str,
        escaped: str,
        accept: str,
    ) -> None:
        response = await client.get(f"/graphql?{name}={escaped}", headers={"Accept": accept})

        assert response.status_code < 500
        assert "Traceback" not in caplog.text

    @pytest.mark.parametrize("name", ["variables", "extensions"])
    @pytest.mark.parametrize("query", [None, "{ __typename }"], ids=["no-query", "query"])
    async def test_deeply_nested_json_in_a_get_is_400_without_a_traceback(
        self,
        client: httpx.AsyncClient,
        caplog: pytest.LogCaptureFixture,
        name: str,
        query: str | None,
    ) -> None:
        params = {name: "[" * 5_000 + "]" * 5_000}  # percent-encoded: 30 KB of URL
        if query is not None:
            params["query"] = query

        response = await client.get(
            "/graphql", params=params, headers={"Accept": "application/json"}
        )

        assert response.status_code == 400
        assert "Traceback" not in caplog.text
        await assert_healthy(client)
