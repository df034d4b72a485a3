"""Settings of the GraphQL endpoint: document limits and trusted documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from pydantic import Field, field_validator, model_validator

from gql_auth.core.settings import CoreSettings


class GraphQLSettings(CoreSettings):
    """GraphQL: the limits every document keeps, and trusted documents.

    The standard introspection queries (graphql-js, GraphiQL, codegen) are 15 levels deep.
    """

    max_query_depth: int = Field(
        default=12,
        ge=1,
        description="Deepest selection a document may have (fragments expanded).",
    )
    max_introspection_depth: int = Field(
        default=18,
        ge=1,
        description=(
            "The same for introspection fields; the standard introspection queries need about 15."
        ),
    )
    max_aliases: int = Field(default=30, ge=0, description="Aliases per document.")
    max_query_tokens: int = Field(
        default=2000, ge=1, description="Tokens per document; the parser stops beyond that."
    )
    max_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description="Largest request body on `POST /graphql`; larger gets 413 before parsing.",
    )
    # Unset ONLY: see trusted_documents_only_in_force.
    trusted_documents_file: Path | None = Field(
        default=None,
        description=(
            "The manifest of trusted documents: a JSON object "
            '`{"<sha256 hex>": "<document>"}` as GraphQL Code Generator\'s client preset '
            "writes it. Every document in it is checked at start-up; a bad one stops the "
            "start-up with one line naming it."
        ),
    )
    trusted_documents_only: bool | None = Field(
        default=None,
        description=(
            "Refuse every request that carries a `query` text "
            "(`PERSISTED_QUERY_ID_REQUIRED`), before parsing it. Unset: on in production "
            "when `TRUSTED_DOCUMENTS_FILE` is set. `true` without a manifest refuses to start."
        ),
    )

    @field_validator("trusted_documents_file", "trusted_documents_only", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `TRUSTED_DOCUMENTS_FILE=` in a .env file means "none", not the current directory.
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _trusted_documents_need_a_manifest(self) -> Self:
        if self.trusted_documents_only and self.trusted_documents_file is None:
            raise ValueError(
                "TRUSTED_DOCUMENTS_ONLY=true needs TRUSTED_DOCUMENTS_FILE: "
                "without a manifest no operation could run"
            )
        return self

    @property
    def trusted_documents_only_in_force(self) -> bool:
        """TRUSTED_DOCUMENTS_ONLY, else on in production whenever a manifest is given."""
        if self.trusted_documents_only is not None:
            return self.trusted_documents_only
        return self.is_production and self.trusted_documents_file is not None
