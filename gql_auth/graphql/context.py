"""Typed per-request context: one database session, the client, and a lazily resolved viewer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import strawberry
from sqlalchemy import inspect
from sqlalchemy.exc import PendingRollbackError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from strawberry.fastapi import BaseContext

from gql_auth.api_keys.format import presents_a_key
from gql_auth.api_keys.models import ApiKey
from gql_auth.audit import audit
from gql_auth.core.client_address import client_address
from gql_auth.core.client_info import ClientInfo
from gql_auth.core.errors import RateLimited, TokenInvalid, Unauthenticated
from gql_auth.core.models import utcnow
from gql_auth.services import Services
from gql_auth.sessions import key_use
from gql_auth.sessions.models import AuthSession
from gql_auth.sessions.sessions import Viewer
from gql_auth.sessions.viewer_lookup import needs_last_used_update
from gql_auth.users.models import User
from gql_auth.webhooks import outbox


@dataclass(frozen=True, slots=True)
class Authentication:
    """Either a viewer, or why there is none (None: no credentials were sent).

    RateLimited: an API key over RATE_LIMIT_API_KEY, or an address over its failures.
    """

    viewer: Viewer | None = None
    failure: Unauthenticated | RateLimited | None = None


ANONYMOUS = Authentication()
_Row = TypeVar("_Row", User, AuthSession, ApiKey)


class Context(BaseContext):
    def __init__(self, services: Services, request: Request, request_id: str) -> None:
        super().__init__()
        self.services = services
        self.settings = services.settings
        self.http_request = request
        self.request_id = request_id
        self._session: AsyncSession | None = None
        # Resolvers of one request may run concurrently; an AsyncSession may not.
        self._db_lock = asyncio.Lock()
        self._auth_lock = asyncio.Lock()
        self._authentication: Authentication | None = None
        self._viewer_id: int | None = None
        self._proven_user_ids: set[str] = set()  # as GraphQL spells ids
        self._after_commit: list[Callable[[], None]] = []
        # The driver's error, when the transaction was rolled back after a deadlock or lock
        # timeout.
        self.conflict: BaseException | None = None
        # Whether the view may run this operation once more after such a rollback.
        self.may_retry = True

    @cached_property
    def client(self) -> ClientInfo:
        """Who is asking, for limits and the audit trail; worked out only when one needs it."""
        request = self.http_request
        return ClientInfo(
            ip_address=client_address(
                request.client.host if request.client else None,
                request.headers.getlist("x-forwarded-for"),  # every line, not just the first
                self.services.trusted_proxies,
            ),
            user_agent=request.headers.get("user-agent"),
        )

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        """The request's one session, for one resolver at a time."""
        async with self._db_lock:
            if self._session is None:
                self._session = self.services.session_factory()
                viewer = self._authentication.viewer if self._authentication else None
                if viewer is not None:
                    self._authentication = Authentication(viewer=_attached(self._session, viewer))
            yield self._session

    @property
    def retrying(self) -> bool:
        """This attempt rolled back on a conflict and the view will run it again."""
        return self.conflict is not None and self.may_retry

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Runs `callback` once this request's writes are committed (e.g. to send a mail)."""
        self._after_commit.append(callback)

    async def authentication(self) -> Authentication:
        """Decodes the bearer token and checks its session, once per request."""
        async with self._auth_lock:
            if self._authentication is None:
                authentication = await self._authenticate()
                viewer = authentication.viewer
                if viewer is not None and self._session is not None:
                    authentication = Authentication(viewer=_attached(self._session, viewer))
                self._authentication = authentication
                if viewer is not None:
                    self._viewer_id = viewer.user.id
                    if needs_last_used_update(viewer, utcnow()):
                        await self._touch_session()
            return self._authentication

    def vouch_for(self, user_id: int) -> None:
        """Records that this request proved to be this user (a sign-in, a mailed token).

        IsSelfOrAdmin then lets it read that user's private fields without a bearer
        token: only a resolver that checked the proof may call this, never an output type.
        """
        self._proven_user_ids.add(str(user_id))

    def vouches_for(self, user_id: str) -> bool:
        """Whether this request proved to be the user with this GraphQL id."""
        return user_id in self._proven_user_ids

    def known_user_id(self) -> int | None:
        """The caller's id if this request already authenticated them; never queries.

        Kept as a plain int: after a rolled-back request the User row is expired
        and reading it would need the database.
        """
        return self._viewer_id

    async def _authenticate(self) -> Authentication:
        header = self.http_request.headers.get("authorization")
        if header is None:
            return ANONYMOUS
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Authentication(failure=TokenInvalid("Malformed Authorization header."))
        try:
            if self.presents_api_key:
                viewer = await key_use.authenticate(
                    self.services.viewers,
                    self.services.rate_limits,
                    key=token.strip(),
                    client=self.client,
                )
                return Authentication(viewer=viewer)
            claims = self.services.tokens.decode(token.strip())
            return Authentication(viewer=await self.services.viewers.resolve(claims))
        except (Unauthenticated, RateLimited) as failure:
            return Authentication(failure=failure)

    @cached_property
    def presents_api_key(self) -> bool:
        """Whether the bearer credential claims to be an API key: then only fields that
        declare a scope may run (graphql.key_scopes)."""
        header = self.http_request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and presents_a_key(token.strip())

    async def _touch_session(self) -> None:
        """Records lastUsedAt (of the session or the key) with the request's own writes: this
        opens its transaction."""
        async with self.db():
            viewer = self._authentication.viewer if self._authentication else None
            if viewer is not None:
                viewer.used.last_used_at = utcnow()

    async def finish(self, *, commit: bool) -> bool:
        """Ends the request's transaction: the request, not policy code, decides.

        Returns whether anything written was kept. A session can be unusable
        when GraphQL cancelled a sibling resolver mid-query (null bubbling up a
        non-null field): then it is rolled back, since that response failed anyway.
        """
        session, self._session = self._session, None
        recorded = audit.recorded(session) if session is not None else []
        queued = session is not None and outbox.emitted(session)
        kept = await _end(session, commit=commit)
        if kept:
            for callback in self._after_commit:
                callback()
            self.services.notifier.tell(recorded)  # the owner hears of what was kept, only
            if queued:
                self.services.webhooks.wake()  # this process sends them now
        return kept


def _attached(db: AsyncSession, viewer: Viewer) -> Viewer:
    """The viewer's rows as members of the request's session, so resolvers' changes are saved.

    A row the session already holds (this request loaded it first) is used as
    it is there, with whatever this request changed in it.
    """
    return Viewer(
        user=_member(db, viewer.user),
        signed_in=None if viewer.signed_in is None else _member(db, viewer.signed_in),
        org_role=viewer.org_role,
        api_key=None if viewer.api_key is None else _member(db, viewer.api_key),
    )


def _member(db: AsyncSession, row: _Row) -> _Row:
    key = inspect(row).key
    present = db.identity_map.get(key) if key is not None else None
    if isinstance(present, type(row)):
        return present
    db.add(row)
    return row


async def _end(session: AsyncSession | None, *, commit: bool) -> bool:
    """Commits or rolls back and closes; False when nothing could be kept."""
    if session is None:
        return commit
    try:
        if commit:
            try:
                await session.commit()
            except PendingRollbackError:
                await session.rollback()
                return False
            return True
        await session.rollback()
        return False
    finally:
        await session.close()


Info = strawberry.Info[Context, None]
