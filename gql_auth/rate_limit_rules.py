"""Every rate limit, declared once: its default, what it counts per, whether it fails closed.

A leaf: config.py builds the RATE_LIMIT_* settings and their check from this
table, and ratelimit.py counts by it. A new limit is one member here plus
its Settings field (pydantic needs a real field; naming one no rule owns,
or a rule without its field, fails at import or in test_settings).
"""

from __future__ import annotations

from enum import Enum, unique

SETTING_PREFIX = "rate_limit_"


@unique  # members with equal values would silently be one rule
class Rule(Enum):
    """Each limit as (default, key, fails closed); its setting is rate_limit_<member name>.

    A limit that guards passwords fails closed in production when the shared
    store is down: an attacker must not get unlimited guesses by knocking Redis over.
    """

    # Failed sign-ins (and wrong current passwords), each reserved before the hash runs.
    # Per (account, client address) strictly; per account loosely, so that an attacker
    # on one address cannot lock the owner out; per address against password spraying.
    LOGIN_ACCOUNT_CLIENT = ("10/15minutes", "account and client address", True)
    LOGIN_ACCOUNT = ("100/hour", "account", True)
    LOGIN_IP = ("100/15minutes", "client address", True)
    # Successful sign-ins per (account, client address): bounds sessions minted by one client.
    SIGNIN_ACCOUNT_CLIENT = ("60/15minutes", "account and client address", True)
    # Wrong second-factor codes per account, each reserved before the code is checked.
    MFA = ("5/15minutes", "account", True)
    REGISTER_IP = ("100/hour", "client address", False)
    # Mails sent (reset links, verification links), all three taken at once before the
    # work. Per (address, client) strictly, so one client cannot use up the owner's mails;
    # per address from all clients loosely, the backstop against many clients; per client.
    RESET_EMAIL = ("3/hour", "e-mail address and client address", False)
    RESET_EMAIL_ALL_CLIENTS = ("10/hour", "e-mail address", False)
    RESET_IP = ("20/hour", "client address", False)
    # Passkey sign-in challenges handed out per client: each is a row until it expires.
    PASSKEY_CHALLENGE_IP = ("60/15minutes", "client address", False)
    # Failed passkey sign-ins, reserved before the assertion is checked. An assertion
    # cannot be guessed, so these bound wasted work and probing, and fail open.
    PASSKEY_LOGIN_IP = ("30/15minutes", "client address", False)
    PASSKEY_LOGIN_ACCOUNT = ("50/hour", "account", False)
    # POST /oauth/introspect per calling resource server, counted before its secret is
    # checked (so guessing INTROSPECTION_SECRET is limited too). Generous: a resource
    # server may introspect on every request it serves.
    INTROSPECT_CLIENT = ("1200/minute", "client address", False)
    # Security notices mailed per recipient (its normalized address): changes the owner
    # must hear of, capped so that repeating one cannot flood a mailbox.
    NOTICE_EMAIL = ("10/hour", "recipient address", False)

    def __init__(self, default: str, key: str, guards_passwords: bool) -> None:
        self.default = default
        self.key = key
        self.guards_passwords = guards_passwords

    @property
    def setting(self) -> str:
        """The Settings field (and, upper-cased, the environment variable)."""
        return SETTING_PREFIX + self.name.lower()
