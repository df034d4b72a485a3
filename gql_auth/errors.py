"""Domain errors raised by policy code; the GraphQL edge maps each to a contract code."""

from __future__ import annotations


class DomainError(Exception):
    """An expected refusal; `code`/`reason` are the contract's machine words."""

    code = "BAD_USER_INPUT"
    reason: str | None = None
    message = "The request was refused."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)

    @property
    def extensions(self) -> dict[str, object]:
        extensions: dict[str, object] = {"code": self.code}
        if self.reason:
            extensions["reason"] = self.reason
        return extensions


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
    message = "Authentication required."


class InvalidCredentials(Unauthenticated):
    reason = "INVALID_CREDENTIALS"
    # One message for wrong password, unknown user and inactive user: no enumeration.
    message = "Invalid username or password."


class TokenInvalid(Unauthenticated):
    reason = "TOKEN_INVALID"
    message = "The token is invalid."


class TokenExpired(Unauthenticated):
    reason = "TOKEN_EXPIRED"
    message = "The token has expired."


class TokenRevoked(Unauthenticated):
    reason = "TOKEN_REVOKED"
    message = "The session has been revoked."


class Forbidden(DomainError):
    code = "FORBIDDEN"
    message = "You do not have permission to do this."


class InvalidInput(DomainError):
    """Validation failed for one input field."""

    code = "BAD_USER_INPUT"

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason

    @property
    def extensions(self) -> dict[str, object]:
        return {**super().extensions, "field": self.field}


class UserNotFound(DomainError):
    """Raised by operator commands; the API answers null instead."""

    message = "No such user."


class RateLimited(DomainError):
    code = "RATE_LIMITED"
    message = "Too many attempts; try again later."

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after

    @property
    def extensions(self) -> dict[str, object]:
        return {**super().extensions, "retryAfter": self.retry_after}
