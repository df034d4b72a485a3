"""Domain errors raised by policy code, in domain words; graphql/engine/errors.py shows them."""

from __future__ import annotations

from enum import StrEnum, auto


class Subject(StrEnum):
    """What an input refusal is about (the value is the name, lower-cased).

    Each edge knows what a subject is called on its wire (graphql/engine/errors.py FIELDS).
    """

    USERNAME = auto()
    EMAIL = auto()
    PASSWORD = auto()  # a new account's
    NEW_PASSWORD = auto()  # replacing the one in use (change or reset)
    CURRENT_PASSWORD = auto()  # re-authentication before a sensitive change
    TOKEN = auto()  # a mailed single-use token
    USER_ID = auto()  # the account an operator acts on
    PAGE_SIZE = auto()
    CURSOR = auto()  # where a page of users continues
    SEARCH = auto()
    LIST_LIMIT = auto()  # how many of the newest items to list
    CODE = auto()  # a second-factor code being set up (confirmTotp)
    PASSKEY_CREDENTIAL = auto()  # a new passkey's attestation (PublicKeyCredential JSON)
    ITEM_ID = auto()  # one of the caller's own items by id: a passkey, a linked provider
    NAME = auto()  # the label a user gives something: a passkey, an organization
    PROVIDER = auto()  # a social sign-in provider's id
    REDIRECT_URI = auto()  # where a provider sends the browser back
    ORGANIZATION_ID = auto()  # the organization a mutation names
    SLUG = auto()  # an organization's unique, URL-safe name
    SCOPES = auto()  # what an API key may do
    EXPIRES_IN_DAYS = auto()  # an API key's lifetime
    URL = auto()  # where a webhook endpoint receives events
    EVENT_TYPES = auto()  # the webhook event types an endpoint subscribes to
    EVENT_ID = auto()  # a webhook event, by the id its deliveries carry


class Reason(StrEnum):
    """Why a request was refused; the values are the contract's machine words."""

    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    TOKEN_INVALID = "TOKEN_INVALID"  # noqa: S105 - a reason, not a secret
    TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105 - a reason, not a secret
    TOKEN_REVOKED = "TOKEN_REVOKED"  # noqa: S105 - a reason, not a secret
    TOO_SHORT = "TOO_SHORT"
    TOO_LONG = "TOO_LONG"
    TOO_COMMON = "TOO_COMMON"
    INVALID = "INVALID"
    TAKEN = "TAKEN"
    REQUIRED = "REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    LAST_ADMIN = "LAST_ADMIN"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    MFA_REQUIRED = "MFA_REQUIRED"
    ALREADY_ENABLED = "ALREADY_ENABLED"
    NOT_ENABLED = "NOT_ENABLED"
    TOO_MANY = "TOO_MANY"
    STEP_UP_REQUIRED = "STEP_UP_REQUIRED"
    ACCOUNT_EXISTS = "ACCOUNT_EXISTS"
    IDENTITY_TAKEN = "IDENTITY_TAKEN"
    PROVIDER_UNAVAILABLE = "PROVIDER_UNAVAILABLE"
    LAST_SIGN_IN_METHOD = "LAST_SIGN_IN_METHOD"
    LAST_OWNER = "LAST_OWNER"
    LIMIT_REACHED = "LIMIT_REACHED"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    EMAIL_MISMATCH = "EMAIL_MISMATCH"
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    SCOPE_NOT_HELD = "SCOPE_NOT_HELD"
    MISSING_SCOPE = "MISSING_SCOPE"
    API_KEY_NOT_ALLOWED = "API_KEY_NOT_ALLOWED"
    NOT_HTTPS = "NOT_HTTPS"
    PRIVATE_ADDRESS = "PRIVATE_ADDRESS"
    UNRESOLVABLE = "UNRESOLVABLE"
    UNKNOWN_EVENT_TYPE = "UNKNOWN_EVENT_TYPE"


class DomainError(Exception):
    """An expected refusal; `reason` says why when the kind of error alone does not."""

    reason: Reason | None = None
    message = "The request was refused."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)


class Unauthenticated(DomainError):
    message = "Authentication required."


class InvalidCredentials(Unauthenticated):
    reason = Reason.INVALID_CREDENTIALS
    # One message for wrong password, unknown user and inactive user: no enumeration.
    message = "Invalid username or password."


class TokenInvalid(Unauthenticated):
    reason = Reason.TOKEN_INVALID
    message = "The token is invalid."


class TokenExpired(Unauthenticated):
    reason = Reason.TOKEN_EXPIRED
    message = "The token has expired."


class TokenRevoked(Unauthenticated):
    reason = Reason.TOKEN_REVOKED
    message = "The session has been revoked."


class ProviderUnavailable(Unauthenticated):
    """A social sign-in provider could not be reached or answered nonsense."""

    reason = Reason.PROVIDER_UNAVAILABLE
    message = "The sign-in provider is not available; try again later."


class SecondFactorMethod(StrEnum):
    """The ways to pass a second factor, as the contract names them in mfaMethods."""

    TOTP = "TOTP"
    RECOVERY_CODE = "RECOVERY_CODE"
    PASSKEY = "PASSKEY"  # finished by a passkey sign-in, not by verifyMfa


class SecondFactorRequired(Unauthenticated):
    """The password was right, but the account has a second factor: no session yet.

    Carries the single-use token that binds verifyMfa to this password check, or
    None when only a passkey can finish (its sign-in needs no token of ours).
    """

    reason = Reason.MFA_REQUIRED

    def __init__(self, *, mfa_token: str | None, methods: tuple[SecondFactorMethod, ...]) -> None:
        super().__init__(
            "A second factor is required: call verifyMfa with the mfaToken."
            if mfa_token is not None
            else "A second factor is required: sign in with your passkey."
        )
        self.mfa_token = mfa_token
        self.methods = methods


class Forbidden(DomainError):
    message = "You do not have permission to do this."


class MultiFactorSessionRequired(Forbidden):
    """ADMIN_REQUIRES_MFA: this session signed in with a password alone."""

    reason = Reason.MFA_REQUIRED
    message = "This field needs a session signed in with a second factor or a passkey."


class ApiKeyNotAllowed(Forbidden):
    """Fields that change credentials, sessions, factors, identities or keys, and every field
    that declares no scope: a request made with an API key never reaches them."""

    reason = Reason.API_KEY_NOT_ALLOWED
    message = "This field is not open to API keys: sign in to use it."


class MissingScope(Forbidden):
    """The API key lacks the field's scope, or its owner's role no longer holds it."""

    reason = Reason.MISSING_SCOPE

    def __init__(self, scope: str) -> None:
        super().__init__(f"This API key lacks the {scope} scope.")


class StepUpRequired(Forbidden):
    """The account holds a second factor or a passkey, and this session proved neither."""

    reason = Reason.STEP_UP_REQUIRED
    message = (
        "This account has a second factor or a passkey: sign in with it to change how the "
        "account is entered."
    )


class InvitationNotForYou(Forbidden):
    """An invitation is accepted only by the account whose verified address it was sent to."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class SecondFactorState(DomainError):
    """The request does not fit whether TOTP is on (enrolling twice, disabling nothing)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Conflict(DomainError):
    """The request does not fit the state it would change: a full cap, the last owner."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidInput(DomainError):
    """One input was refused: what it was about (`subject`) and why (`reason`)."""

    reason: Reason

    def __init__(self, subject: Subject, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.subject = subject
        self.reason = reason


class OutOfRange(InvalidInput):
    """A number outside its bounds; the edge words the message, since it names the input."""

    def __init__(self, subject: Subject, *, minimum: int, maximum: int) -> None:
        super().__init__(
            subject,
            Reason.OUT_OF_RANGE,
            f"{subject.value} must be between {minimum} and {maximum}.",
        )
        self.minimum = minimum
        self.maximum = maximum


class UserNotFound(DomainError):
    """Raised by operator commands; the API answers null instead."""

    message = "No such user."


class RateLimited(DomainError):
    message = "Too many attempts; try again later."

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after  # seconds


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""
