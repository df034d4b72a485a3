"""GraphQL input types; validation rules live in gql_auth.validation, not here."""

from __future__ import annotations

import strawberry


@strawberry.input(description="A new account. Everybody registers as USER; there is no role here.")
class RegisterInput:
    username: str = strawberry.field(
        description="3-32 characters: letters, digits, '_', '.', '-'. Unique, ignoring case."
    )
    email: str = strawberry.field(description="Stored lower-cased. Unique.")
    password: str = strawberry.field(
        description="At least PASSWORD_MIN_LENGTH (default 8) and at most 256 characters; "
        "common or easily guessed passwords are refused (TOO_COMMON)."
    )


@strawberry.input
class LoginInput:
    username: str = strawberry.field(
        description="A username or an email address, compared case-insensitively."
    )
    password: str


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str = strawberry.field(description="Same rules as at registration.")
