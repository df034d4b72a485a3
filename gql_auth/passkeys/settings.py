"""Settings of passkeys: the relying party and the origins its ceremonies may come from."""

from __future__ import annotations

from typing import Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from gql_auth.core.settings import CommaList, CoreSettings


class PasskeySettings(CoreSettings):
    """Passkeys: the WebAuthn relying party; unset, derived from PUBLIC_URL."""

    webauthn_rp_id: str | None = Field(
        default=None,
        description=(
            "The relying-party id passkeys are bound to: the site's host name or a "
            "registrable parent of it. Unset: the host of `PUBLIC_URL`. Changing it later "
            "makes every registered passkey unusable."
        ),
    )
    webauthn_origins: CommaList = Field(
        default=[],
        description=(
            "Comma-separated origins (`https://app.example.com`) whose pages may run passkey "
            "ceremonies, each on `WEBAUTHN_RP_ID` or below it. Empty: the origin of "
            "`PUBLIC_URL`."
        ),
    )
    webauthn_rp_name: str = Field(
        default="gql-auth", description="The name browsers show when asking to create a passkey."
    )

    @field_validator("webauthn_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin_of(origin) != origin:
                raise ValueError(f"{origin!r} is not an origin like https://example.com")
        return value

    @model_validator(mode="after")
    def _passkey_origins_match_the_rp_id(self) -> Self:
        # A browser refuses a ceremony whose origin is not the RP id or below it:
        # a mismatch would only show as every passkey failing.
        rp_id = self.webauthn_rp_id_in_force
        for origin in self.webauthn_origins_in_force:
            host = urlsplit(origin).hostname or ""
            if host != rp_id and not host.endswith("." + rp_id):
                raise ValueError(
                    f"WEBAUTHN_ORIGINS: {origin} is not on WEBAUTHN_RP_ID {rp_id} or below it"
                )
        return self

    @property
    def webauthn_rp_id_in_force(self) -> str:
        """WEBAUTHN_RP_ID, else the host of PUBLIC_URL."""
        return self.webauthn_rp_id or urlsplit(self.public_url).hostname or "localhost"

    @property
    def webauthn_origins_in_force(self) -> tuple[str, ...]:
        """WEBAUTHN_ORIGINS, else the origin of PUBLIC_URL."""
        return tuple(self.webauthn_origins) or (origin_of(self.public_url),)


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lower-cased, as a browser puts it in clientDataJSON."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme.lower()}://{host}{port}"
