"""Every table, registered on the one metadata: what Alembic and the tests compare against.

Each feature declares its tables in its own `models` module; importing this
module imports them all, so mappers resolve their relationships and
`Base.metadata` is complete.
"""

from __future__ import annotations

from gql_auth.accounts.models import AccountToken
from gql_auth.api_keys.models import ApiKey
from gql_auth.audit.models import SecurityEvent
from gql_auth.core.models import Base
from gql_auth.factors.models import MfaChallenge, Passkey, RecoveryCode, TotpCredential
from gql_auth.orgs.models import Invitation, Membership, Organization
from gql_auth.passkeys.models import PasskeyChallenge
from gql_auth.sessions.models import AuthSession, RetiredRefreshToken
from gql_auth.social.models import SocialIdentity, SocialState
from gql_auth.users.models import User
from gql_auth.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "AccountToken",
    "ApiKey",
    "AuthSession",
    "Base",
    "Invitation",
    "Membership",
    "MfaChallenge",
    "Organization",
    "Passkey",
    "PasskeyChallenge",
    "RecoveryCode",
    "RetiredRefreshToken",
    "SecurityEvent",
    "SocialIdentity",
    "SocialState",
    "TotpCredential",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
