"""Trusted documents: manifests of allowed operations and requests that send an id."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.support.helpers import (
    ADMIN_DASHBOARD,
    LOGIN,
    REGISTER,
    data_of,
    register_input,
)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_manifest(path: Path, *documents: str, raw: Mapping[str, Any] | None = None) -> Path:
    """A manifest as GraphQL Code Generator's client preset writes it (persistedDocuments)."""
    manifest = dict(raw) if raw is not None else {sha256(text): text for text in documents}
    path.write_text(json.dumps(manifest, indent=2))
    return path


async def by_id(
    client: httpx.AsyncClient,
    document: str,
    variables: Mapping[str, Any] | None = None,
    *,
    shape: str = "documentId",
    token: str | None = None,
    **extra: Any,
) -> httpx.Response:
    """Posts a request naming `document` by its SHA-256 id only, in one of the id shapes."""
    digest = sha256(document)
    body: dict[str, Any] = {"variables": dict(variables or {}), **extra}
    if shape == "documentId":
        body["documentId"] = f"sha256:{digest}"
    elif shape == "bare":
        body["documentId"] = digest
    else:  # Apollo's automatic persisted queries extension
        body["extensions"] = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json=body, headers=headers)


ME = "query Me { me { id username } }"


TYPENAME = "query Typename { __typename }"


TWO_OPERATIONS = "query A { __typename } query B { me { username } }"


LISTED = (REGISTER, LOGIN, ME, TYPENAME, TWO_OPERATIONS, ADMIN_DASHBOARD)


async def register_by_id(client: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    response = await by_id(client, REGISTER, {"input": register_input()}, **extra)
    payload: dict[str, Any] = data_of(response.json(), "register")
    return payload
