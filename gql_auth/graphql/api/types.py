"""GraphQL output types, built from ORM rows at the edge (`X.from_row(row)`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from gql_auth import dashboards
from gql_auth.accounts import admin
from gql_auth.audit import audit
from gql_auth.audit.models import SecurityEvent as SecurityEventRow
from gql_auth.core.errors import OutOfRange, Subject
from gql_auth.factors.models import Passkey as PasskeyRow
from gql_auth.graphql.context import Info
from gql_auth.graphql.enums import Role
from gql_auth.graphql.permissions import IsSelfOrAdmin, guarded_by
from gql_auth.sessions.models import AuthSession
from gql_auth.sessions.sessions import SignedIn
from gql_auth.social import identities as social_identities
from gql_auth.social.models import SocialIdentity as SocialIdentityRow
from gql_auth.users.models import User as UserRow


@strawberry.type(
    description="An account. Private fields are visible to the user themselves and to admins."
)
class User:
    id: strawberry.ID = strawberry.field(description="Stable id; pass it to `user(id:)`.")
    username: str = strawberry.field(description="Unique, ignoring case; shown as registered.")
    role: Role = strawberry.field(description="The role now, as permission checks see it.")
    is_active: bool = strawberry.field(
        description="False once an admin deactivated the account: it cannot sign in."
    )
    created_at: datetime = strawberry.field(description="When the account registered (UTC).")
    _email: strawberry.Private[str]
    _email_verified: strawberry.Private[bool]
    _pending_email: strawberry.Private[str | None]
    _last_login_at: strawberry.Private[datetime | None]
    _has_password: strawberry.Private[bool]

    @strawberry.field(
        description="The e-mail address (lower-cased).", extensions=guarded_by(IsSelfOrAdmin())
    )
    def email(self) -> str | None:
        return self._email

    @strawberry.field(
        description="Whether the e-mail address has been confirmed.",
        extensions=guarded_by(IsSelfOrAdmin()),
    )
    def email_verified(self) -> bool | None:
        return self._email_verified

    @strawberry.field(
        description="A new address waiting for its verification link; it replaces email "
        "only once that link is used. Null when no change is pending.",
        extensions=guarded_by(IsSelfOrAdmin()),
    )
    def pending_email(self) -> str | None:
        return self._pending_email

    @strawberry.field(
        description="When the user last signed in; null if never.",
        extensions=guarded_by(IsSelfOrAdmin()),
    )
    def last_login_at(self) -> datetime | None:
        return self._last_login_at

    @strawberry.field(
        description="False for an account created by social sign-in that never set a "
        "password (a reset mail sets one).",
        extensions=guarded_by(IsSelfOrAdmin()),
    )
    def has_password(self) -> bool | None:
        return self._has_password

    @strawberry.field(
        description="Sign-in providers linked to the account, oldest first.",
        extensions=guarded_by(IsSelfOrAdmin()),
    )
    async def identities(self, info: Info) -> list[SocialIdentity] | None:
        async with info.context.db() as db:
            rows = await social_identities.list_for(db, user_id=int(self.id))
        return [SocialIdentity.from_row(row) for row in rows]

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(
            id=strawberry.ID(str(row.id)),
            username=row.username,
            role=row.role,
            is_active=row.is_active,
            created_at=row.created_at,
            _email=row.email,
            _email_verified=row.email_verified,
            _pending_email=row.pending_email,
            _last_login_at=row.last_login_at,
            _has_password=row.password_hash is not None,
        )


@strawberry.type(description="An account at a sign-in provider, linked to this one.")
class SocialIdentity:
    id: strawberry.ID = strawberry.field(description="Pass it to unlinkSocialIdentity.")
    provider: str = strawberry.field(description="The provider's id in OAUTH_PROVIDERS.")
    email: str | None = strawberry.field(description="The address the provider gave, if any.")
    created_at: datetime = strawberry.field(description="When it was linked (UTC).")
    last_used_at: datetime | None = strawberry.field(
        description="When it last signed in; null if never since it was linked."
    )

    @classmethod
    def from_row(cls, row: SocialIdentityRow) -> SocialIdentity:
        return cls(
            id=strawberry.ID(str(row.id)),
            provider=row.provider,
            email=row.email,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
        )


@strawberry.type(description="Tokens for a signed-in session, and the user they belong to.")
class AuthPayload:
    access_token: str = strawberry.field(
        description="JWT to send as `Authorization: Bearer <accessToken>`."
    )
    token_type: str = strawberry.field(description='Always "Bearer".')
    expires_in: int = strawberry.field(description="Seconds until accessToken expires.")
    refresh_token: str = strawberry.field(
        description="Opaque token for `refreshToken`; single use, rotated on every refresh."
    )
    user: User = strawberry.field(
        description="The signed-in user; its private fields are readable here."
    )

    @classmethod
    def from_signed_in(cls, signed_in: SignedIn) -> AuthPayload:
        """The payload only; the resolver that signed in vouches for the user (Context)."""
        return cls(
            access_token=signed_in.access_token,
            token_type="Bearer",  # noqa: S106 - the scheme name, not a secret
            expires_in=signed_in.expires_in,
            refresh_token=signed_in.refresh_token,
            user=User.from_row(signed_in.user),
        )


@strawberry.type(description="Something that happened to an account.")
class SecurityEvent:
    kind: str = strawberry.field(
        description="e.g. " + ", ".join(audit.EventKind)  # every kind, in the enum's order
    )
    at: datetime = strawberry.field(description="When it happened (UTC).")
    ip_address: str | None = strawberry.field(description="The client's address, if known.")
    user_agent: str | None = strawberry.field(description="The client's User-Agent, if sent.")

    @classmethod
    def from_row(cls, row: SecurityEventRow) -> SecurityEvent:
        return cls(kind=row.kind, at=row.at, ip_address=row.ip_address, user_agent=row.user_agent)


@strawberry.type(description="A signed-in session (one per sign-in).")
class Session:
    id: strawberry.ID = strawberry.field(description="The `sid` claim of its access tokens.")
    created_at: datetime = strawberry.field(description="When the sign-in happened (UTC).")
    last_used_at: datetime = strawberry.field(
        description="Last refresh or request; updated at most about once a minute."
    )
    expires_at: datetime = strawberry.field(
        description="When its refresh token stops working; rotation does not extend it."
    )
    user_agent: str | None = strawberry.field(description="User-Agent of the sign-in, if sent.")
    ip_address: str | None = strawberry.field(description="Client address of the sign-in.")
    current: bool = strawberry.field(description="True for the session this request uses.")

    @classmethod
    def from_row(cls, row: AuthSession, *, current_id: str | None) -> Session:
        return cls(
            id=strawberry.ID(row.id),
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            user_agent=row.user_agent,
            ip_address=row.ip_address,
            current=row.id == current_id,
        )


@strawberry.type(description="A registered WebAuthn credential.")
class Passkey:
    id: strawberry.ID = strawberry.field(description="Pass it to `deletePasskey(id:)`.")
    name: str | None = strawberry.field(
        description="The label given at registration; null if none was."
    )
    created_at: datetime = strawberry.field(description="When it was registered (UTC).")
    last_used_at: datetime | None = strawberry.field(
        description="When it last signed in; null if never."
    )

    @classmethod
    def from_row(cls, row: PasskeyRow) -> Passkey:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
        )


@strawberry.type(description="A passkey sign-in begun: answer it with `finishPasskeyLogin`.")
class PasskeyChallenge:
    challenge_id: str = strawberry.field(
        description="Pass it to `finishPasskeyLogin`; single use, valid 5 minutes."
    )
    options: str = strawberry.field(
        description="PublicKeyCredentialRequestOptions as JSON, for "
        "PublicKeyCredential.parseRequestOptionsFromJSON."
    )


MAX_LIST_LIMIT = 100


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise OutOfRange(Subject.LIST_LIMIT, minimum=1, maximum=MAX_LIST_LIMIT)


@strawberry.type(description="How many users hold a role.")
class RoleCount:
    role: Role = strawberry.field(description="A role; every role is listed.")
    count: int = strawberry.field(description="Users holding it, active or not.")


@strawberry.type(description="Counts for operators, computed from the database.")
class AdminDashboard:
    total_users: int = strawberry.field(description="Every account, active or not.")
    active_users: int = strawberry.field(description="Accounts that may sign in.")
    users_by_role: list[RoleCount] = strawberry.field(
        description="Every role, including empty ones."
    )
    signups_last_24h: int = strawberry.field(
        name="signupsLast24h", description="Accounts created in the last 24 hours."
    )
    failed_logins_last_24h: int = strawberry.field(
        name="failedLoginsLast24h",
        description="Refused sign-ins (LOGIN_FAILED events) in the last 24 hours, "
        "unknown names included.",
    )
    mfa_users: int = strawberry.field(description="Accounts with TOTP or a passkey.")

    @classmethod
    def from_stats(cls, stats: dashboards.AdminStats) -> AdminDashboard:
        return cls(
            total_users=stats.total_users,
            active_users=stats.active_users,
            users_by_role=[
                RoleCount(role=role, count=count) for role, count in stats.users_by_role.items()
            ],
            signups_last_24h=stats.signups_last_24h,
            failed_logins_last_24h=stats.failed_logins_last_24h,
            mfa_users=stats.mfa_users,
        )

    @strawberry.field(description="Newest first; limit 1-100.")
    async def recent_signups(
        self, info: Info, limit: Annotated[int, strawberry.argument(description="1-100.")] = 10
    ) -> list[User]:
        check_limit(limit)
        async with info.context.db() as db:
            rows = await dashboards.recent_signups(db, limit=limit)
        return [User.from_row(row) for row in rows]


@strawberry.type(description="Where a page of a connection ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether another page follows.")
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` for the next page; null on an empty page."
    )


@strawberry.type(description="A user and the cursor that points at it.")
class UserEdge:
    cursor: str = strawberry.field(description="Opaque; pass as `after` to continue from here.")
    node: User = strawberry.field(description="The user at this position.")


@strawberry.type(description="One page of users, in a stable order (by id).")
class UserConnection:
    total_count: int = strawberry.field(
        description="How many users match the filters, over all pages."
    )
    edges: list[UserEdge] = strawberry.field(description="The users of this page, in id order.")
    page_info: PageInfo = strawberry.field(description="Whether and where to continue.")

    @classmethod
    def from_page(cls, page: admin.UserPage) -> UserConnection:
        edges = [
            UserEdge(cursor=admin.encode_cursor(row.id), node=User.from_row(row))
            for row in page.users
        ]
        return cls(
            total_count=page.total_count,
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None
            ),
        )
