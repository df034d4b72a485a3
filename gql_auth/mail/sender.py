"""Outgoing mail: SMTP (aiosmtplib) in the background, or the log when SMTP_HOST is unset."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from gql_auth.mail.settings import MailSettings

logger = logging.getLogger("gql_auth.mail")

# Each SMTP step (connect, STARTTLS, login, DATA) may take this long...
SMTP_TIMEOUT = 10.0
# ...and a whole delivery no longer than this, so a slow server cannot pile up tasks.
DELIVERY_TIMEOUT = 30.0
# On shutdown, pending mails get this long before they are given up.
CLOSE_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    body: str


class Mailer:
    """Sends after the request, in a task: a slow or broken SMTP server never fails a mutation.

    Every failure is logged and swallowed, so no response (its shape or its
    timing) says whether a mail went out, or to whom.
    """

    def __init__(self, settings: MailSettings) -> None:
        self._host = settings.smtp_host or None  # SMTP_HOST= (empty) means unset too
        self._port = settings.smtp_port
        self._starttls = settings.smtp_starttls
        self._username = settings.smtp_username or None
        self._password = settings.smtp_password
        self._sender = settings.mail_from
        self._pending: set[asyncio.Task[None]] = set()
        # Development: the log is the mailbox. Production: a body holds a live token,
        # and logs travel further than mailboxes, so only the envelope is logged.
        self._log_bodies = not settings.is_production
        if self._host is None and settings.is_production:
            logger.warning(
                "SMTP_HOST is unset: no mail is sent; the log gets only subject and recipient"
            )

    def send_later(self, mail: Mail) -> None:
        """Schedules delivery on the running loop; returns at once."""
        self._keep(asyncio.get_running_loop().create_task(self.send(mail)))

    def compose_later(self, compose: Callable[[], Awaitable[Mail | None]]) -> None:
        """Like send_later, for a mail whose making (a lookup) must not delay the response.

        `compose` returns the mail, or None for nothing to send; if it fails, that is
        logged and swallowed like a failed delivery.
        """
        self._keep(asyncio.get_running_loop().create_task(self._compose_and_send(compose)))

    def _keep(self, task: asyncio.Task[None]) -> None:
        # The loop holds tasks only weakly: keep each one until it is done.
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _compose_and_send(self, compose: Callable[[], Awaitable[Mail | None]]) -> None:
        try:
            mail = await compose()
        except Exception:  # a mail failure must never reach the request
            logger.exception("could not prepare a mail")
            return
        if mail is not None:
            await self.send(mail)

    async def send(self, mail: Mail) -> None:
        """Delivers one mail now; never raises (failures are logged)."""
        if self._host is None:
            self._log_unsent(mail)
            return
        try:
            async with asyncio.timeout(DELIVERY_TIMEOUT):
                await aiosmtplib.send(
                    self._message(mail),
                    hostname=self._host,
                    port=self._port,
                    start_tls=self._starttls,
                    username=self._username,
                    password=self._login_password(),
                    timeout=SMTP_TIMEOUT,
                )
        except Exception as error:  # a mail failure must never reach the request
            # Subject and recipient only: the body holds a token, the settings a password.
            logger.error(  # noqa: TRY400 - the traceback adds nothing but noise
                "could not send %r to %s via %s:%s: %s: %s",
                mail.subject,
                mail.to,
                self._host,
                self._port,
                type(error).__name__,
                error,
            )
        else:
            logger.info("sent %r to %s", mail.subject, mail.to)

    def _log_unsent(self, mail: Mail) -> None:
        if self._log_bodies:
            logger.info(
                "SMTP_HOST is unset; not sending this mail:\nTo: %s\nSubject: %s\n\n%s",
                mail.to,
                mail.subject,
                mail.body,
            )
        else:
            logger.warning("SMTP_HOST is unset: %r to %s was not sent", mail.subject, mail.to)

    async def drain(self) -> None:
        """Waits until every mail scheduled so far has been handled (tests, shutdown)."""
        while pending := [task for task in self._pending if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def aclose(self) -> None:
        """Gives pending mails a bounded time to go out, then drops the rest."""
        if not self._pending:
            return
        _done, left = await asyncio.wait(set(self._pending), timeout=CLOSE_TIMEOUT)
        for task in left:
            task.cancel()
        if left:
            logger.error("shutting down: %d mail(s) not sent in time were dropped", len(left))

    def _login_password(self) -> str | None:
        if self._username is None:
            return None  # no SMTP_USERNAME: no login at all
        return self._password.get_secret_value() if self._password else ""

    def _message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        return message
