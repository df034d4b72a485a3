"""Reading what the app mails: from its log (no SMTP_HOST) or from a real local SMTP server.

Sending runs in background tasks; `Mailbox.mails()` first waits for the
mailer's pending sends (Mailer.drain), so no test has to sleep and hope.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from gql_auth.mail.sender import Mailer
from gql_auth.settings import Settings
from tests.support.helpers import client_of, started_app
from tests.support.servers import free_port

MAIL_LOGGER = "gql_auth.mail"
_LOGGED = re.compile(
    r"\nTo: (?P<to>[^\n]*)\nSubject: (?P<subject>[^\n]*)\n\n(?P<body>.*)", re.DOTALL
)
_TOKEN = re.compile(r"\?token=([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class SentMail:
    to: str
    subject: str
    body: str

    @property
    def token(self) -> str:
        found = _TOKEN.findall(self.body)
        assert len(found) == 1, f"expected one link with a token in {self.body!r}"
        return str(found[0])

    @property
    def link(self) -> str:
        found = re.search(r"\S+\?token=\S+", self.body)
        assert found, self.body
        return found.group(0)


@dataclass
class Mailbox:
    """What the mailer wrote to the log, read after every pending send has finished."""

    mailer: Mailer
    caplog: pytest.LogCaptureFixture

    async def mails(self, to: str | None = None) -> list[SentMail]:
        await self.mailer.drain()
        mails = []
        for record in self.caplog.records:
            found = _LOGGED.search(record.getMessage()) if record.name == MAIL_LOGGER else None
            if found:
                mails.append(SentMail(found["to"], found["subject"], found["body"]))
        return [mail for mail in mails if to is None or mail.to == to]

    async def only(self, to: str | None = None) -> SentMail:
        mails = await self.mails(to)
        assert len(mails) == 1, f"expected exactly one mail to {to or 'anyone'}, got {mails}"
        return mails[0]

    async def token(self, to: str, subject: str) -> str:
        """The token of the newest mail with this subject to this address."""
        mails = [mail for mail in await self.mails(to) if mail.subject == subject]
        assert mails, f"no mail {subject!r} to {to}"
        return mails[-1].token


@dataclass
class MailApp:
    client: httpx.AsyncClient
    mailer: Mailer
    mailbox: Mailbox
    services: Any


@asynccontextmanager
async def running_mail_app(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[MailApp]:
    """The real app over HTTP, with a handle on its mailer to wait for background sends."""
    caplog.set_level("INFO", logger=MAIL_LOGGER)
    async with started_app(settings) as app, client_of(app) as client:
        services = app.state.services
        yield MailApp(client, services.mailer, Mailbox(services.mailer, caplog), services)


# --- a real SMTP server ---------------------------------------------------------------


@dataclass
class SmtpInbox:
    """Messages an aiosmtpd server on localhost accepted, and the logins it saw."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True)

    def bodies(self) -> list[str]:
        return [str(message.get_content()) for message in self.messages]


@contextmanager
def smtp_server(*, with_login: bool = False) -> Iterator[SmtpInbox]:
    """aiosmtpd in its own thread on a free port; plain SMTP (no TLS), as SMTP_STARTTLS=false."""
    inbox = SmtpInbox(port=free_port())
    options: dict[str, Any] = {}
    if with_login:
        options = {"authenticator": inbox.authenticate, "auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port, **options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
