"""How a request names a trusted document: `documentId`, or Apollo's persistedQuery extension.

GraphQL over HTTP's persisted-documents appendix: `{"documentId":
"sha256:<64 hex>"}`; a bare 64-hex id is taken as SHA-256 too, and other
well-formed ids (`x-...:...`, custom ids) are accepted and simply name no
document. Apollo: `{"extensions": {"persistedQuery": {"version": 1,
"sha256Hash": "<64 hex>"}}}`. A shape that is neither is the client's
mistake, refused before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_UNRESERVED = r"[A-Za-z0-9._~-]+"
# The appendix's grammar: an implementor's prefix "x-...:" or a custom id without a colon.
_OTHER_ID = re.compile(rf"x-{_UNRESERVED}:{_UNRESERVED}|{_UNRESERVED}")
MAX_ID_LENGTH = 512


class MalformedDocumentId(Exception):
    """The request's id fields have a shape no client sends; answered 400."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def requested_document_id(body: Mapping[str, object]) -> str | None:
    """The id the request names (SHA-256 ids as lower-case hex), or None for none."""
    named = _document_id(body.get("documentId"))
    extensions = body.get("extensions")
    hashed = (
        _persisted_query(extensions.get("persistedQuery")) if isinstance(extensions, dict) else None
    )
    if named is not None and hashed is not None and named != hashed:
        raise MalformedDocumentId(
            "CONFLICTING_DOCUMENT_IDS",
            "documentId and extensions.persistedQuery name different documents.",
        )
    return named if named is not None else hashed


def _document_id(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and len(value) <= MAX_ID_LENGTH:
        prefix, colon, payload = value.partition(":")
        if prefix == "sha256" and _HEX64.fullmatch(payload):
            return payload.lower()
        if not colon and _HEX64.fullmatch(value):
            return value.lower()
        if prefix != "sha256" and _OTHER_ID.fullmatch(value):
            return value  # well-formed, and never the key of a trusted document
    raise MalformedDocumentId(
        "INVALID_DOCUMENT_ID", "documentId must be a string such as sha256:<64 hex digits>."
    )


def _persisted_query(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise MalformedDocumentId(
            "INVALID_PERSISTED_QUERY",
            "extensions.persistedQuery must be an object {version: 1, sha256Hash}.",
        )
    version = value.get("version")
    if type(version) is not int or version != 1:  # True is an int to Python, not to JSON
        raise MalformedDocumentId(
            "INVALID_PERSISTED_QUERY", "Only version 1 of extensions.persistedQuery is supported."
        )
    digest = value.get("sha256Hash")
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise MalformedDocumentId(
            "INVALID_PERSISTED_QUERY",
            "extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits.",
        )
    return digest.lower()
