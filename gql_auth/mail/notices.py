"""Security notices: the owner hears of every change to how the account is entered.

Which security events are notices, and what each says, is declared once in
NOTICES; a feature that records its event (audit.record) has its notice with
it. Whoever commits the session (the request boundary, the CLI runner) hands
its events to Notifier.tell after the commit, so a rolled-back change tells
nobody. Each event is one mail, to the account's own verified address, with
no link and nothing secret in it (a notice must not be worth phishing with),
and at most RATE_LIMIT_NOTICE_EMAIL of them per recipient: repeating a change
must not turn the notices into a mail bomb.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gql_auth.audit.audit import EventKind, Recorded
from gql_auth.limits.limiter import RateLimits, Rule
from gql_auth.mail.sender import Mail, Mailer
from gql_auth.security.validation import email_key
from gql_auth.users.models import User

logger = logging.getLogger("gql_auth.notices")

_IF_NOT_YOU = (
    "If this was you, there is nothing to do.\n\n"
    "If it was not you, someone else can sign in to your account: reset your password "
    'now with "Forgot password" on the sign-in page (the reset mail comes to this '
    "address), which signs out every other session, and check your second factors and "
    "passkeys.\n\n"
    "This notice holds no link: go to the sign-in page the way you always do.\n"
)


@dataclass(frozen=True, slots=True)
class Words:
    """What one notice says; `what` may name {username}, and {new_address} (masked)."""

    subject: str
    what: str
    more: str = ""


NOTICES: Mapping[EventKind, Words] = MappingProxyType(
    {
        EventKind.PASSWORD_CHANGED: Words(
            "Your password was changed", "The password of your account {username} was changed."
        ),
        EventKind.PASSWORD_RESET: Words(
            "Your password was reset",
            "The password of your account {username} was reset with a link mailed to this address.",
        ),
        EventKind.MFA_ENABLED: Words(
            "Two-step sign-in was turned on",
            "An authenticator app (TOTP) was added to your account {username} as a second "
            "sign-in step, with new recovery codes.",
        ),
        EventKind.MFA_DISABLED: Words(
            "A second factor was removed",
            "Second sign-in factors of your account {username} were removed: its authenticator "
            "app (TOTP) and recovery codes no longer work.",
        ),
        EventKind.RECOVERY_CODES_REGENERATED: Words(
            "New recovery codes were made",
            "New recovery codes were made for your account {username}; the previous ones no "
            "longer work.",
        ),
        EventKind.PASSKEY_ADDED: Words(
            "A passkey was added", "A passkey was added to your account {username}."
        ),
        EventKind.PASSKEY_REMOVED: Words(
            "A passkey was removed", "A passkey was removed from your account {username}."
        ),
        EventKind.IDENTITY_LINKED: Words(
            "A sign-in provider was linked",
            "An account at a sign-in provider (social sign-in) was linked to your account "
            "{username}: it can now sign in with that provider.",
        ),
        EventKind.IDENTITY_UNLINKED: Words(
            "A sign-in provider was unlinked",
            "An account at a sign-in provider was unlinked from your account {username}: it "
            "can no longer sign in with it.",
        ),
        EventKind.API_KEY_CREATED: Words(
            "An API key was created",
            "An API key was created for your account {username}: a program holding it can act "
            "as you within its scopes until it expires or is revoked.",
        ),
        EventKind.API_KEY_REVOKED: Words(
            "An API key was revoked",
            "An API key of your account {username} was revoked: it no longer works.",
        ),
        EventKind.EMAIL_CHANGE_REQUESTED: Words(
            "Your e-mail address is being changed",
            "Someone signed in to your account {username} asked to change its e-mail address "
            "to {new_address}.",
            more="Nothing changes until the link mailed to that new address is used; until then "
            "this address stays in force and password resets keep coming here. A new "
            "password cancels the pending change.\n\n",
        ),
    }
)


def masked(address: str) -> str:
    """m***@example.com: enough to recognise one's own, too little to carry a message."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


def notice_mail(words: Words, *, user: User) -> Mail:
    """The mail for one event, to the address in force; every value in it is the account's own."""
    pending = user.pending_email
    what = words.what.format(
        username=user.username, new_address=masked(pending) if pending else "a new address"
    )
    return Mail(to=user.email, subject=words.subject, body=f"{what}\n\n{words.more}{_IF_NOT_YOU}")


def due(recorded: Iterable[Recorded]) -> list[Recorded]:
    """The events among these that the owner is told of.

    Not those of an account registered in the same transaction: a social
    sign-in that creates an account links its provider too, and that is no
    news to the one who just signed up.
    """
    events = list(recorded)
    new = {event.user_id for event in events if event.kind is EventKind.REGISTERED}
    return [event for event in events if event.kind in NOTICES and event.user_id not in new]


class Notifier:
    """Mails one notice per event, in the background, once the events are committed."""

    def __init__(
        self,
        *,
        enabled: bool,
        sessions: async_sessionmaker[AsyncSession],
        limits: RateLimits,
        mailer: Mailer,
    ) -> None:
        self._enabled = enabled
        self._sessions = sessions
        self._limits = limits
        self._mailer = mailer

    def tell(self, recorded: Iterable[Recorded]) -> None:
        """Schedules the notices of these committed events; returns at once."""
        if not self._enabled:  # SECURITY_NOTIFICATIONS=false
            return
        for event in due(recorded):
            self._mailer.compose_later(partial(self._compose, event))

    async def _compose(self, event: Recorded) -> Mail | None:
        # Read now, after the commit: the address in force, and whether it is proven the owner's.
        async with self._sessions() as db:
            user = await db.get(User, event.user_id)
        if user is None or not user.email_verified:
            return None  # an unverified address may be anyone's: no mail to strangers
        if not await self._limits.hit(Rule.NOTICE_EMAIL, email_key(user.email)):
            # The user id only: the address is personal data, and the log travels further.
            logger.warning(
                "security notice %s for user %s not sent: RATE_LIMIT_NOTICE_EMAIL reached",
                event.kind.value,
                event.user_id,
            )
            return None
        return notice_mail(NOTICES[event.kind], user=user)
