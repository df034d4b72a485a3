"""Who a provider vouched for, in the shape every provider's client returns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Identity:
    """An account at a provider, once the provider's answer checked out."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    preferred_username: str | None
