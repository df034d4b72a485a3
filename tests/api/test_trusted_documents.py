"""Trusted documents (issue 16): a manifest checked at start-up, requests by id, and
TRUSTED_DOCUMENTS_ONLY refusing every query text before it is parsed. Parallel requests by
id are in tests/db/, real servers in tests/system/test_trusted_documents.py."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest

from gql_auth.graphql.engine.trusted_documents import ManifestError
from gql_auth.security.json_input import MAX_DEPTH
from gql_auth.settings import Settings
from gql_auth.web.app import create_app
from tests.support.cli import call_cli
from tests.support.helpers import (
    ADMIN_DASHBOARD,
    LOGIN,
    PRODUCTION_ARGON2,
    REGISTER,
    STRONG_PASSWORD,
    SqlDatabase,
    assert_error,
    assert_no_leak,
    data_of,
    gql,
    make_settings,
    register_admin,
    register_input,
    running_app,
)
from tests.support.trusted_documents import (
    LISTED,
    ME,
    TWO_OPERATIONS,
    TYPENAME,
    by_id,
    register_by_id,
    sha256,
    write_manifest,
)

DEEP = "query Deep { " + "me { " * 3 + "id" + " }" * 3 + " }"  # within limits, for contrast
NOT_LISTED = "query NotListed { __typename me { id } }"


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return write_manifest(tmp_path / "persisted-documents.json", *LISTED)


@pytest.fixture
async def open_client(database: SqlDatabase, manifest: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Development with a manifest: ids run, and free text still runs (ONLY is off)."""
    settings = make_settings(database.url, trusted_documents_file=manifest)
    async with running_app(settings) as client:
        yield client


@pytest.fixture
async def only_client(database: SqlDatabase, manifest: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        database.url, trusted_documents_file=manifest, trusted_documents_only=True
    )
    async with running_app(settings) as client:
        yield client


class TestSettings:
    def test_only_defaults_to_on_in_production_with_a_manifest(self, manifest: Path) -> None:
        settings = Settings(
            _env_file=None,
            environment="production",
            secret_key="s" * 32,
            trusted_documents_file=manifest,
        )
        assert settings.trusted_documents_only_in_force

    def test_an_explicit_false_wins_in_production(self, manifest: Path) -> None:
        settings = Settings(
            _env_file=None,
            environment="production",
            secret_key="s" * 32,
            trusted_documents_file=manifest,
            trusted_documents_only=False,
        )
        assert not settings.trusted_documents_only_in_force

    def test_only_defaults_to_off_in_development_and_without_a_manifest(
        self, manifest: Path
    ) -> None:
        development = make_settings("sqlite://", trusted_documents_file=manifest)
        production = Settings(_env_file=None, environment="production", secret_key="s" * 32)
        assert not development.trusted_documents_only_in_force
        assert not production.trusted_documents_only_in_force

    def test_only_without_a_manifest_is_refused(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="TRUSTED_DOCUMENTS_FILE"):
            make_settings("sqlite://", trusted_documents_only=True)

    def test_an_empty_value_means_unset(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRUSTED_DOCUMENTS_FILE", "")
        monkeypatch.setenv("TRUSTED_DOCUMENTS_ONLY", "")
        settings = make_settings("sqlite://")
        assert settings.trusted_documents_file is None
        assert settings.trusted_documents_only is None


class TestStartUp:
    """A manifest entry that a free-text request could not run stops the start-up."""

    def refused(self, tmp_path: Path, *documents: str, **options: Any) -> str:
        raw = options.pop("raw", None)
        path = write_manifest(tmp_path / "manifest.json", *documents, raw=raw)
        settings = make_settings(
            f"sqlite:///{tmp_path / 'x.db'}", trusted_documents_file=path, **options
        )
        with pytest.raises(ManifestError) as refusal:
            create_app(settings)
        message = str(refusal.value)
        assert "\n" not in message
        assert message.startswith(f"TRUSTED_DOCUMENTS_FILE {path}")
        return message

    def test_a_hash_that_is_not_of_its_document_is_refused_naming_it(self, tmp_path: Path) -> None:
        wrong = sha256(ME)
        message = self.refused(tmp_path, raw={wrong: TYPENAME})
        assert wrong in message
        assert "not the SHA-256 hash" in message

    def test_a_document_that_does_not_parse_is_refused(self, tmp_path: Path) -> None:
        assert "does not parse" in self.refused(tmp_path, ME, "query Broken { me { id ")

    def test_a_document_over_the_token_limit_is_refused(self, tmp_path: Path) -> None:
        long = "query Long { " + " ".join(f"a{i}: __typename" for i in range(20)) + " }"
        message = self.refused(tmp_path, long, max_query_tokens=30, max_aliases=100)
        assert "does not parse" in message
        assert sha256(long) in message

    def test_a_document_that_does_not_validate_is_refused_naming_its_operation(
        self, tmp_path: Path
    ) -> None:
        message = self.refused(tmp_path, ME, "query Nope { nope }")
        assert "(Nope) does not validate" in message
        assert sha256("query Nope { nope }") in message

    def test_every_limit_applies_depth(self, tmp_path: Path) -> None:
        message = self.refused(tmp_path, DEEP, max_query_depth=2)
        assert "(Deep) does not validate" in message

    def test_every_limit_applies_aliases(self, tmp_path: Path) -> None:
        aliased = "query Many { " + " ".join(f"a{i}: __typename" for i in range(5)) + " }"
        assert "does not validate" in self.refused(tmp_path, aliased, max_aliases=3)

    def test_production_refuses_an_introspection_document(self, tmp_path: Path) -> None:
        introspection = "query Types { __schema { types { name } } }"
        # Development accepts it: the lock-down is production's extra rule.
        path = write_manifest(tmp_path / "dev.json", introspection)
        create_app(make_settings(f"sqlite:///{tmp_path / 'x.db'}", trusted_documents_file=path))
        message = self.refused(
            tmp_path,
            introspection,
            environment="production",
            **PRODUCTION_ARGON2,
        )
        assert "(Types) does not validate" in message

    def test_a_sha1_manifest_is_refused_with_the_codegen_setting_to_change(
        self, tmp_path: Path
    ) -> None:
        sha1 = hashlib.sha1(ME.encode()).hexdigest()  # noqa: S324 - codegen's old default
        assert "hashAlgorithm: 'sha256'" in self.refused(tmp_path, raw={sha1: ME})

    async def test_keys_prefixed_sha256_as_codegen_writes_them_are_read(
        self, tmp_path: Path, database: SqlDatabase
    ) -> None:
        """client-preset's hashAlgorithm: 'sha256' keys the manifest "sha256:<hex>"."""
        path = write_manifest(tmp_path / "m.json", raw={f"sha256:{sha256(TYPENAME)}": TYPENAME})
        settings = make_settings(database.url, trusted_documents_file=path)
        async with running_app(settings) as client:
            response = await by_id(client, TYPENAME)

        assert data_of(response.json(), "__typename") == "Query"

    def test_a_prefixed_key_that_is_not_of_its_document_is_refused(self, tmp_path: Path) -> None:
        message = self.refused(tmp_path, raw={f"sha256:{sha256(ME)}": TYPENAME})
        assert "is not the SHA-256 hash of its document" in message

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            ("[1, 2]", "must be one JSON object"),
            ('{"a": ', "is not valid JSON"),
            (json.dumps({sha256(ME): 7}), "is not a document text"),
            (json.dumps({sha256(ME): None}), "is not a document text"),
            ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
            ('{"a": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "nested too deeply"),
        ],
        ids=["array", "truncated", "number", "null", "deep", "one-past-the-bound"],
    )
    def test_a_manifest_of_the_wrong_shape_is_refused(
        self, tmp_path: Path, content: str, expected: str
    ) -> None:
        path = tmp_path / "manifest.json"
        path.write_text(content)
        settings = make_settings(f"sqlite:///{tmp_path / 'x.db'}", trusted_documents_file=path)
        with pytest.raises(ManifestError, match=expected):
            create_app(settings)

    @pytest.mark.parametrize("kind", ["missing", "directory", "not-utf8"])
    def test_an_unreadable_manifest_is_refused(self, tmp_path: Path, kind: str) -> None:
        path = tmp_path / "manifest.json"
        if kind == "directory":
            path.mkdir()
        elif kind == "not-utf8":
            path.write_bytes(b'{"\xff": "x"}')
        settings = make_settings(f"sqlite:///{tmp_path / 'x.db'}", trusted_documents_file=path)
        with pytest.raises(ManifestError, match=str(path)):
            create_app(settings)

    def test_export_schema_ignores_the_manifest(self, tmp_path: Path) -> None:
        """The SDL is exported before codegen writes a new manifest; a stale one cannot block."""
        path = write_manifest(tmp_path / "manifest.json", "query Stale { gone }")
        result = call_cli("export-schema", cwd=tmp_path, env={"TRUSTED_DOCUMENTS_FILE": str(path)})
        assert result.returncode == 0, result.stderr
        assert "type Query" in result.stdout


class TestRequestsById:
    @pytest.mark.parametrize("shape", ["documentId", "bare", "persistedQuery"])
    async def test_a_mutation_and_a_query_run_by_id(
        self, open_client: httpx.AsyncClient, database: SqlDatabase, shape: str
    ) -> None:
        payload = await register_by_id(open_client, shape=shape)
        me = await by_id(open_client, ME, token=payload["accessToken"], shape=shape)

        assert me.status_code == 200
        assert data_of(me.json(), "me")["username"] == payload["user"]["username"]
        assert database.count("users") == 1  # the request's transaction committed

    async def test_an_unknown_id_is_not_in_list_and_runs_nothing(
        self, open_client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        response = await by_id(open_client, NOT_LISTED)
        unlisted_register = REGISTER + " "
        register = await by_id(open_client, unlisted_register, {"input": register_input()})

        assert response.status_code == 200
        assert response.json()["data"] is None
        assert_error(response.json(), "PERSISTED_QUERY_NOT_IN_LIST")
        assert_error(register.json(), "PERSISTED_QUERY_NOT_IN_LIST")
        assert sha256(NOT_LISTED) not in response.text
        assert database.count("users") == 0

    async def test_without_a_manifest_every_id_is_not_in_list(
        self, client: httpx.AsyncClient
    ) -> None:
        for shape in ("documentId", "persistedQuery"):
            response = await by_id(client, TYPENAME, shape=shape)
            assert_error(response.json(), "PERSISTED_QUERY_NOT_IN_LIST")

    async def test_permission_classes_apply_to_a_trusted_document(
        self, open_client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        user = await register_by_id(open_client)
        admin = await register_admin(open_client, database)

        refused = await by_id(open_client, ADMIN_DASHBOARD, token=user["accessToken"])
        anonymous = await by_id(open_client, ADMIN_DASHBOARD)
        allowed = await by_id(open_client, ADMIN_DASHBOARD, token=admin["accessToken"])

        assert_error(refused.json(), "FORBIDDEN")
        assert_error(anonymous.json(), "UNAUTHENTICATED")
        assert data_of(allowed.json(), "adminDashboard")["totalUsers"] == 2

    async def test_variables_are_still_coerced(
        self, open_client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        response = await by_id(open_client, REGISTER, {"input": {**register_input(), "email": 5}})

        assert_error(response.json(), "BAD_USER_INPUT")
        assert database.count("users") == 0

    async def test_a_wrong_password_by_id_is_the_usual_refusal(
        self, open_client: httpx.AsyncClient
    ) -> None:
        payload = await register_by_id(open_client)
        wrong = {"username": payload["user"]["username"], "password": STRONG_PASSWORD + "x"}

        response = await by_id(open_client, LOGIN, {"input": wrong})

        assert_error(response.json(), "UNAUTHENTICATED", path=["login"])


class TestOperationChoice:
    """The rules of graphql/operation_choice.py hold for trusted documents as for texts."""

    async def test_a_document_of_two_operations_needs_a_name(
        self, open_client: httpx.AsyncClient
    ) -> None:
        response = await by_id(open_client, TWO_OPERATIONS)

        assert_error(response.json(), "GRAPHQL_VALIDATION_FAILED", reason="OPERATION_NAME_REQUIRED")

    async def test_the_named_operation_runs(self, open_client: httpx.AsyncClient) -> None:
        response = await by_id(open_client, TWO_OPERATIONS, operationName="A")

        assert response.json() == {"data": {"__typename": "Query"}}

    async def test_an_unknown_name_is_refused(self, open_client: httpx.AsyncClient) -> None:
        response = await by_id(open_client, TWO_OPERATIONS, operationName="C")

        assert_error(response.json(), "GRAPHQL_VALIDATION_FAILED", reason="UNKNOWN_OPERATION")


class TestTextWithAnId:
    """Apollo sends text and hash together when it retries; other clients may too."""

    async def test_the_text_of_a_listed_id_runs(
        self, open_client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        body = {
            "query": REGISTER,
            "variables": {"input": register_input()},
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha256(REGISTER)}},
        }
        response = await open_client.post("/graphql", json=body)

        assert data_of(response.json(), "register")["accessToken"]
        assert database.count("users") == 1

    async def test_an_unlisted_text_with_its_own_hash_runs_as_free_text(
        self, open_client: httpx.AsyncClient
    ) -> None:
        body = {"query": NOT_LISTED, "documentId": f"sha256:{sha256(NOT_LISTED)}"}
        response = await open_client.post("/graphql", json=body)

        assert_error(response.json(), "UNAUTHENTICATED", path=["me"])  # it ran
        assert response.json()["data"] is None

    async def test_a_text_with_another_documents_id_is_refused_and_runs_nothing(
        self, open_client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        body = {
            "query": REGISTER,
            "variables": {"input": register_input()},
            "documentId": f"sha256:{sha256(TYPENAME)}",
        }
        response = await open_client.post("/graphql", json=body)

        assert_error(response.json(), "BAD_USER_INPUT", reason="DOCUMENT_ID_MISMATCH")
        assert database.count("users") == 0


class TestMalformedIds:
    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            ({"documentId": 5}, "INVALID_DOCUMENT_ID"),
            ({"documentId": ""}, "INVALID_DOCUMENT_ID"),
            ({"documentId": ["sha256:" + "a" * 64]}, "INVALID_DOCUMENT_ID"),
            ({"documentId": "sha256:" + "g" * 64}, "INVALID_DOCUMENT_ID"),
            ({"documentId": "sha256:" + "a" * 63}, "INVALID_DOCUMENT_ID"),
            ({"documentId": "md5:" + "a" * 32}, "INVALID_DOCUMENT_ID"),
            ({"documentId": "a b"}, "INVALID_DOCUMENT_ID"),
            ({"documentId": "x" * 10_000}, "INVALID_DOCUMENT_ID"),
            ({"extensions": {"persistedQuery": "abc"}}, "INVALID_PERSISTED_QUERY"),
            (
                {"extensions": {"persistedQuery": {"sha256Hash": "a" * 64}}},
                "INVALID_PERSISTED_QUERY",
            ),
            (
                {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "a" * 64}}},
                "INVALID_PERSISTED_QUERY",
            ),
            (
                {"extensions": {"persistedQuery": {"version": True, "sha256Hash": "a" * 64}}},
                "INVALID_PERSISTED_QUERY",
            ),
            (
                {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": 12}}},
                "INVALID_PERSISTED_QUERY",
            ),
            (
                {
                    "documentId": f"sha256:{sha256(ME)}",
                    "extensions": {
                        "persistedQuery": {"version": 1, "sha256Hash": sha256(TYPENAME)}
                    },
                },
                "CONFLICTING_DOCUMENT_IDS",
            ),
        ],
        ids=[
            "number",
            "empty",
            "list",
            "not-hex",
            "short",
            "reserved-prefix",
            "space",
            "huge",
            "extension-string",
            "no-version",
            "version-2",
            "version-true",
            "hash-number",
            "conflicting",
        ],
    )
    async def test_a_malformed_id_is_400_in_the_contract_shape(
        self, open_client: httpx.AsyncClient, body: dict[str, Any], reason: str
    ) -> None:
        response = await open_client.post("/graphql", json=body)

        assert response.status_code == 400
        assert response.headers["content-type"] == "application/json"
        assert_error(response.json(), "BAD_USER_INPUT", reason=reason)
        assert_no_leak(response)

    async def test_a_malformed_id_with_a_mutation_text_runs_nothing(
        self, open_client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        body = {"query": REGISTER, "variables": {"input": register_input()}, "documentId": 7}
        response = await open_client.post("/graphql", json=body)

        assert response.status_code == 400
        assert database.count("users") == 0

    @pytest.mark.parametrize("document_id", ["x-acme:Me.v1", "custom-id_42"])
    async def test_a_well_formed_id_of_another_scheme_is_not_in_list(
        self, open_client: httpx.AsyncClient, document_id: str
    ) -> None:
        response = await open_client.post("/graphql", json={"documentId": document_id})

        assert_error(response.json(), "PERSISTED_QUERY_NOT_IN_LIST")

    async def test_strawberrys_answers_for_wrong_types_are_kept(
        self, open_client: httpx.AsyncClient
    ) -> None:
        response = await open_client.post("/graphql", json={"query": 5})
        missing = await open_client.post("/graphql", json={"variables": {}})

        assert response.status_code == 400
        assert "must be a string or null" in response.text
        assert missing.status_code == 400


class TestTrustedDocumentsOnly:
    async def test_ids_run(self, only_client: httpx.AsyncClient, database: SqlDatabase) -> None:
        payload = await register_by_id(only_client, shape="persistedQuery")
        me = await by_id(only_client, ME, token=payload["accessToken"])

        assert data_of(me.json(), "me")["username"] == payload["user"]["username"]

    async def test_a_mutation_text_is_refused_and_runs_nothing(
        self, only_client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        body = await gql(only_client, REGISTER, {"input": register_input()})

        assert body["data"] is None
        assert_error(body, "PERSISTED_QUERY_ID_REQUIRED")
        assert database.count("users") == 0

    @pytest.mark.parametrize(
        "text",
        [
            "{" * 60_000,  # would exhaust the parser's nesting; the body cap allows it
            "{ " + "a: __typename " * 4_000 + "}",  # far over the token and alias limits
            "query { " + "me { " * 6_000 + "id" + " }" * 6_000 + " }",
        ],
        ids=["unbalanced", "tokens", "deep"],
    )
    async def test_a_worst_case_text_is_refused_before_it_is_parsed(
        self, only_client: httpx.AsyncClient, text: str
    ) -> None:
        response = await only_client.post("/graphql", json={"query": text})

        # Not GRAPHQL_PARSE_FAILED nor a limit's refusal: the text never reached the parser.
        assert response.status_code == 200
        assert response.json() == {
            "data": None,
            "errors": [
                {
                    "message": "This server runs trusted documents only: send the document's id, "
                    "not its text.",
                    "extensions": {"code": "PERSISTED_QUERY_ID_REQUIRED"},
                }
            ],
        }

    async def test_a_text_is_refused_even_beside_its_own_listed_id(
        self, only_client: httpx.AsyncClient, database: SqlDatabase
    ) -> None:
        body = {
            "query": REGISTER,
            "variables": {"input": register_input()},
            "documentId": f"sha256:{sha256(REGISTER)}",
        }
        response = await only_client.post("/graphql", json=body)

        assert_error(response.json(), "PERSISTED_QUERY_ID_REQUIRED")
        assert database.count("users") == 0

    async def test_with_only_off_free_text_keeps_every_limit(
        self, open_client: httpx.AsyncClient
    ) -> None:
        deep = "query { " + "me { " * 30 + "id" + " }" * 30 + " }"
        response = await open_client.post("/graphql", json={"query": deep})

        assert_error(response.json(), "GRAPHQL_VALIDATION_FAILED")


class TestOutcomeRecording:
    async def test_metrics_count_operations_by_id_and_refusals(
        self, database: SqlDatabase, manifest: Path
    ) -> None:
        settings = make_settings(
            database.url,
            trusted_documents_file=manifest,
            trusted_documents_only=True,
            metrics_enabled=True,
        )
        async with running_app(settings) as client:
            await by_id(client, TYPENAME)
            await by_id(client, ME)
            await by_id(client, NOT_LISTED)
            await client.post("/graphql", json={"query": TYPENAME})
            metrics = (await client.get("/metrics")).text

        assert 'gql_auth_requests_total{operation="other",outcome="OK"} 1.0' in metrics
        assert 'gql_auth_requests_total{operation="me",outcome="UNAUTHENTICATED"} 1.0' in metrics
        assert (
            'gql_auth_requests_total{operation="invalid",outcome="PERSISTED_QUERY_NOT_IN_LIST"} 1.0'
            in metrics
        )
        assert (
            'gql_auth_requests_total{operation="invalid",outcome="PERSISTED_QUERY_ID_REQUIRED"} 1.0'
            in metrics
        )
