"""Which mutations check a secret, declared on the field and read off the schema once.

The one-credential-check-per-document rule and the metrics' count of failed
sign-ins are derived from these declarations, so a new credential mutation
cannot be left off a hand-kept list (which would silently let a document
carry many aliased guesses past the per-request rate limits).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from strawberry.extensions import FieldExtension

from gql_auth.graphql.strawberry_compat import NameConverter, object_fields


class Secret(Enum):
    """What the field verifies."""

    PASSWORD = auto()  # low entropy: each guess counts
    MAILED_TOKEN = auto()  # 256 bits, single-use; redeeming it changes the account
    SECOND_FACTOR = auto()  # a 6-digit TOTP or a recovery code: each guess counts
    PASSKEY_ASSERTION = auto()  # a passkey's signature over a single-use challenge: a sign-in
    AUTHORIZATION_CODE = auto()  # a provider's single-use code with our state: a sign-in


_SIGN_IN_SECRETS = frozenset(
    {Secret.PASSWORD, Secret.SECOND_FACTOR, Secret.PASSKEY_ASSERTION, Secret.AUTHORIZATION_CODE}
)


class CredentialCheck(FieldExtension):
    """Marks a root field that verifies a secret: one such field may run per request.

    Declarative only: it takes no part in resolving (Strawberry leaves extensions
    without `resolve` out of the chain).
    """

    def __init__(self, secret: Secret) -> None:
        self.secret = secret


@dataclass(frozen=True, slots=True)
class CredentialFields:
    """The schema's credential-checking root fields, by GraphQL name, in schema order."""

    checks: dict[str, Secret]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.checks)

    @property
    def password_checks(self) -> frozenset[str]:
        """Fields whose UNAUTHENTICATED answer is a refused password, code or passkey: a failed
        sign-in."""
        return frozenset(name for name, secret in self.checks.items() if secret in _SIGN_IN_SECRETS)


def credential_fields(root: type, names: NameConverter) -> CredentialFields:
    """The fields of a root type that carry a CredentialCheck, named as the schema names them."""
    return CredentialFields(
        {
            names.from_field(field): extension.secret
            for field in object_fields(root)
            for extension in field.extensions
            if isinstance(extension, CredentialCheck)
        }
    )
