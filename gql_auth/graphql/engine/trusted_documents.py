"""Trusted documents: the operations the clients were built with, checked once at start-up.

The manifest is what GraphQL Code Generator's client preset writes with
`persistedDocuments`: a JSON object {"<sha256 hex>": "<document text>"}
(keys "sha256:<hex>", as its hashAlgorithm 'sha256' writes them, too).
Every entry is parsed and validated when the schema is built, exactly as a
free-text request would be (the token limit, our shape limits, the
schema's rules, production's lock-downs), so a request that names one runs
the kept syntax tree with no parse or validation of its own. With
TRUSTED_DOCUMENTS_ONLY nothing else runs: a query text is refused before a
byte of it is parsed (OWASP's "query allow-list", ASVS V4.3).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, parse

from gql_auth.core.errors import SettingsError
from gql_auth.graphql.engine.document_rules import DocumentLimits
from gql_auth.graphql.engine.documents import Rules, validate_within_limits
from gql_auth.security import json_input

logger = logging.getLogger("gql_auth")
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_SHA1_HEX = re.compile(r"[0-9a-fA-F]{40}")


class ManifestError(SettingsError):
    """The manifest cannot be used; one line naming the file and the entry."""


@dataclass(frozen=True, slots=True)
class TrustedDocument:
    text: str
    document: DocumentNode  # parsed and validated at start-up; shared, never mutated


@dataclass(frozen=True, slots=True)
class DocumentChecks:
    """What a free-text request's document passes, applied to each manifest entry."""

    schema: GraphQLSchema
    rules: Rules
    limits: DocumentLimits
    max_tokens: int


class TrustedDocuments:
    """The manifest's documents by SHA-256 hex, and the rule whether anything else runs."""

    def __init__(self, documents: Mapping[str, TrustedDocument], *, only: bool) -> None:
        self._documents = dict(documents)
        self.only = only

    def __len__(self) -> int:
        return len(self._documents)

    def resolve(self, query: str | None, document_id: str | None) -> TrustedDocument | None:
        """The trusted document a request names, or None to run its text as free text.

        Raises the refusal (a GraphQLError in the contract's shape) for a text
        while only trusted documents run, an unknown id, and an id that is not
        the hash of the text sent with it (Apollo sends both on a retry).
        """
        if query and self.only:
            raise _refusal(
                "PERSISTED_QUERY_ID_REQUIRED",
                "This server runs trusted documents only: send the document's id, not its text.",
            )
        if document_id is None:
            return None
        if query:
            if sha256_hex(query) != document_id:
                raise GraphQLError(
                    "The document id is not the SHA-256 hash of the query text sent with it.",
                    extensions={"code": "BAD_USER_INPUT", "reason": "DOCUMENT_ID_MISMATCH"},
                )
            return self._documents.get(document_id)  # not listed: free text, every limit
        found = self._documents.get(document_id)
        if found is None:
            raise _refusal("PERSISTED_QUERY_NOT_IN_LIST", "No trusted document has this id.")
        return found


def sha256_hex(text: str) -> str:
    """The id GraphQL Code Generator and Apollo give a document: SHA-256 of its UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def no_trusted_documents() -> TrustedDocuments:
    """Without a manifest: an id names nothing, and free text runs as before."""
    return TrustedDocuments({}, only=False)


def load_trusted_documents(path: Path, checks: DocumentChecks, *, only: bool) -> TrustedDocuments:
    """The manifest at `path`, every entry checked; ManifestError on the first bad one."""
    documents: dict[str, TrustedDocument] = {}
    for key, text in _read_manifest(path).items():
        digest = _digest_of(key)
        documents[digest] = TrustedDocument(text, _checked(path, key, digest, text, checks))
    rule = "nothing else runs" if only else "query texts still run"
    logger.info("trusted documents: %d from %s; %s", len(documents), path, rule)
    return TrustedDocuments(documents, only=only)


def _read_manifest(path: Path) -> dict[str, str]:
    where = f"TRUSTED_DOCUMENTS_FILE {path}"
    try:
        # O_NONBLOCK: a FIFO named here must not hang the start-up.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as error:
        raise ManifestError(f"{where}: cannot read it ({error.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # checked on the open file: nothing swapped in
        os.close(fd)
        raise ManifestError(f"{where} is not a regular file")
    with os.fdopen(fd, "rb") as handle:
        raw = handle.read()
    try:
        manifest = json_input.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ManifestError(f"{where} is not UTF-8 text") from None
    except ValueError as error:  # JSONDecodeError, and nesting past json_input's bound
        raise ManifestError(f"{where} is not valid JSON ({_first_line(error)})") from None
    if not isinstance(manifest, dict):
        raise ManifestError(
            f'{where} must be one JSON object {{"<sha256 hex>": "<document>"}}, '
            "as GraphQL Code Generator's persistedDocuments writes it"
        )
    for key, text in manifest.items():
        if not isinstance(text, str):
            raise ManifestError(f"{where}: entry {key!r} is not a document text (a JSON string)")
    return manifest


def _digest_of(key: str) -> str:
    """The hex digest a key names; codegen's hashAlgorithm 'sha256' writes "sha256:<hex>"."""
    scheme, separator, digest = key.partition(":")
    return digest.lower() if separator and scheme.lower() == "sha256" else key.lower()


def _checked(path: Path, key: str, digest: str, text: str, checks: DocumentChecks) -> DocumentNode:
    entry = f"TRUSTED_DOCUMENTS_FILE {path}: entry {key!r}"
    if not _SHA256_HEX.fullmatch(digest):
        hint = " (set hashAlgorithm: 'sha256' in codegen)" if _SHA1_HEX.fullmatch(key) else ""
        raise ManifestError(f"{entry} is not a SHA-256 hex hash{hint}")
    if sha256_hex(text) != digest:
        raise ManifestError(f"{entry} is not the SHA-256 hash of its document")
    try:
        document = parse(text, max_tokens=checks.max_tokens)
    except GraphQLError as error:
        raise ManifestError(f"{entry} does not parse: {_first_line(error.message)}") from None
    errors = validate_within_limits(checks.schema, document, checks.rules, checks.limits)
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ManifestError(
            f"{entry}{_named(document)} does not validate: {_first_line(errors[0].message)}{more}"
        )
    return document


def _named(document: DocumentNode) -> str:
    names = [
        node.name.value
        for node in document.definitions
        if isinstance(node, OperationDefinitionNode) and node.name is not None
    ]
    return f" ({', '.join(names)})" if names else ""


def _first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _refusal(code: str, message: str) -> GraphQLError:
    # The id a client sent is not echoed: it is free text of the client's.
    return GraphQLError(message, extensions={"code": code})
