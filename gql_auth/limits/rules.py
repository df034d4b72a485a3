"""Every rate limit, declared once: its default, what it counts per, whether it fails closed.

A leaf: limits/settings.py makes a RATE_LIMIT_* setting of each member (its
default and description come from here), and limits/limiter.py counts by it.
A new limit is one member here, nothing else.
"""

from __future__ import annotations

from enum import Enum, unique

from limits import parse

SETTING_PREFIX = "rate_limit_"


@unique  # members with equal values would silently be one rule
class Rule(Enum):
    """Each limit as (default, key, fails closed, what it counts); setting: rate_limit_<name>.

    A limit that guards passwords fails closed in production when the shared
    store is down: an attacker must not get unlimited guesses by knocking Redis over.
    """

    # Failed sign-ins (and wrong current passwords), each reserved before the hash runs.
    # Per (account, client address) strictly; per account loosely, so that an attacker
    # on one address cannot lock the owner out; per address against password spraying.
    LOGIN_ACCOUNT_CLIENT = (
        "10/15minutes",
        "account and client address",
        True,
        "Failed password checks per (account, client address), in the `limits` "
        "library's notation; reserved before the password is checked, so parallel "
        "attempts count too.",
    )
    LOGIN_ACCOUNT = (
        "100/hour",
        "account",
        True,
        "Failed password checks per account (username or e-mail, known or not) from all "
        "addresses together: an attacker on one address cannot lock the owner out.",
    )
    LOGIN_IP = (
        "100/15minutes",
        "client address",
        True,
        "Failed sign-ins per client address (IPv6: per /64).",
    )
    # Successful sign-ins per (account, client address): bounds sessions minted by one client.
    SIGNIN_ACCOUNT_CLIENT = (
        "60/15minutes",
        "account and client address",
        True,
        "Successful sign-ins per (account, client address).",
    )
    # Wrong second-factor codes per account, each reserved before the code is checked.
    MFA = (
        "5/15minutes",
        "account",
        True,
        "Wrong second-factor codes per account (`verifyMfa`, `confirmTotp`, "
        "`disableTotp`, `regenerateRecoveryCodes`), reserved before the code is "
        "checked; a right code gives its reservation back.",
    )
    REGISTER_IP = (
        "100/hour",
        "client address",
        False,
        "Registrations per client address.",
    )
    # Mails sent (reset links, verification links), all three taken at once before the
    # work. Per (address, client) strictly, so one client cannot use up the owner's mails;
    # per address from all clients loosely, the backstop against many clients; per client.
    RESET_EMAIL = (
        "3/hour",
        "e-mail address and client address",
        False,
        "Password-reset or verification mails per (normalized address, client address); "
        "every spelling of one address shares it. Reserved before the work with the two "
        "below, all or none.",
    )
    RESET_EMAIL_ALL_CLIENTS = (
        "10/hour",
        "e-mail address",
        False,
        "The same mails per normalized address from all clients together (the backstop).",
    )
    RESET_IP = (
        "20/hour",
        "client address",
        False,
        "Password-reset or verification mails per client address.",
    )
    # Passkey sign-in challenges handed out per client: each is a row until it expires.
    PASSKEY_CHALLENGE_IP = (
        "60/15minutes",
        "client address",
        False,
        "`beginPasskeyLogin` challenges handed out per client address.",
    )
    # Failed passkey sign-ins, reserved before the assertion is checked. An assertion
    # cannot be guessed, so these bound wasted work and probing, and fail open.
    PASSKEY_LOGIN_IP = (
        "30/15minutes",
        "client address",
        False,
        "Failed passkey sign-ins per client address, reserved before the assertion is "
        "checked; a success gives it back.",
    )
    PASSKEY_LOGIN_ACCOUNT = (
        "50/hour",
        "account",
        False,
        "Failed passkey sign-ins per account (the one the presented passkey belongs to).",
    )
    # POST /oauth/introspect per calling resource server, counted before its secret is
    # checked (so guessing INTROSPECTION_SECRET is limited too). Generous: a resource
    # server may introspect on every request it serves.
    INTROSPECT_CLIENT = (
        "1200/minute",
        "client address",
        False,
        "Calls to `POST /oauth/introspect` per calling address, counted before the "
        "secret is checked (so guesses at it count too).",
    )
    # Security notices mailed per recipient (its normalized address): changes the owner
    # must hear of, capped so that repeating one cannot flood a mailbox.
    NOTICE_EMAIL = (
        "10/hour",
        "recipient address",
        False,
        "Security notices per recipient (its normalized address); beyond it the notice "
        "is dropped and one log line names the user id, never the address.",
    )

    # Social sign-ins begun per client: each is a row (a state) until it expires.
    SOCIAL_BEGIN_IP = (
        "60/15minutes",
        "client address",
        False,
        "`beginSocialSignIn` and `beginSocialLink` calls per client address.",
    )
    # Social sign-ins that failed (a bad, used or foreign state or code), reserved before
    # the provider is asked: they cannot be guessed, so these bound wasted calls.
    SOCIAL_FINISH_IP = (
        "30/15minutes",
        "client address",
        False,
        "Failed `finishSocialSignIn` and `linkSocialIdentity` calls per client address, "
        "reserved before the provider is asked; a success gives it back.",
    )
    # Invitations mailed per organization, reserved before the invitation is written:
    # parallel invitations count, and one organization cannot turn the service into a spammer.
    INVITATIONS = (
        "50/day",
        "organization",
        False,
        "`inviteMember` invitations per organization, reserved before the invitation is "
        "written, so parallel invitations count too.",
    )
    # Requests per API key, shared through Redis: a leaked key cannot flood the service.
    API_KEY = (
        "600/minute",
        "API key",
        False,
        "Requests per API key (every worker and host together with REDIS_URL); beyond it "
        "RATE_LIMITED with retryAfter.",
    )

    def __init__(self, default: str, key: str, guards_passwords: bool, description: str) -> None:
        self.default = default
        self.key = key
        self.guards_passwords = guards_passwords
        self.description = description

    @property
    def setting(self) -> str:
        """The Settings field (and, upper-cased, the environment variable)."""
        return SETTING_PREFIX + self.name.lower()


def check_rate(value: str) -> str:
    """A rate in the `limits` library's notation (`10/15minutes`), else ValueError."""
    parse(value)
    return value
