"""What a security notice says: what happened, to the address in force, with nothing to
click and no room for a message of someone else's."""

from __future__ import annotations

import pytest

from gql_auth.audit.audit import EventKind, Recorded
from gql_auth.mail.notices import NOTICES, due, masked, notice_mail
from gql_auth.users.models import User


def user(*, pending: str | None = None) -> User:
    return User(
        username="jose", email="jose@example.com", email_verified=True, pending_email=pending
    )


class TestMasked:
    @pytest.mark.parametrize(
        ("address", "shown"),
        [
            ("mallory@example.com", "m***@example.com"),
            ("m@example.com", "m***@example.com"),
            ("call-0800-555@evil.example", "c***@evil.example"),
        ],
    )
    def test_only_the_first_character_and_the_domain_are_shown(
        self, address: str, shown: str
    ) -> None:
        assert masked(address) == shown


class TestNoticeMail:
    @pytest.mark.parametrize("kind", list(NOTICES), ids=str)
    def test_each_goes_to_the_address_in_force_and_names_the_account(self, kind: EventKind) -> None:
        mail = notice_mail(NOTICES[kind], user=user(pending="new@example.com"))

        assert mail.to == "jose@example.com"
        assert "jose" in mail.body
        assert "http" not in mail.body and "://" not in mail.body
        assert "new@example.com" not in mail.body

    def test_an_address_change_shows_the_new_address_masked(self) -> None:
        words = NOTICES[EventKind.EMAIL_CHANGE_REQUESTED]

        mail = notice_mail(words, user=user(pending="mallory@evil.example"))

        assert mail.subject == "Your e-mail address is being changed"
        assert "to m***@evil.example." in mail.body
        assert "mallory" not in mail.body


class TestDue:
    def test_sign_ins_and_failures_are_no_notices(self) -> None:
        recorded = [
            Recorded(EventKind.LOGIN_SUCCEEDED, 1),
            Recorded(EventKind.PASSWORD_CHANGED, 1),
            Recorded(EventKind.MFA_FAILED, 1),
            Recorded(EventKind.PASSKEY_ADDED, 2),
        ]

        assert due(recorded) == [recorded[1], recorded[3]]

    def test_a_new_accounts_own_link_is_no_news_to_it(self) -> None:
        recorded = [
            Recorded(EventKind.REGISTERED, 1),
            Recorded(EventKind.IDENTITY_LINKED, 1),
            Recorded(EventKind.IDENTITY_LINKED, 2),
        ]

        assert due(recorded) == [recorded[2]]

    def test_every_change_to_how_an_account_is_entered_is_one(self) -> None:
        assert set(NOTICES) == {
            EventKind.PASSWORD_CHANGED,
            EventKind.PASSWORD_RESET,
            EventKind.MFA_ENABLED,
            EventKind.MFA_DISABLED,
            EventKind.RECOVERY_CODES_REGENERATED,
            EventKind.PASSKEY_ADDED,
            EventKind.PASSKEY_REMOVED,
            EventKind.EMAIL_CHANGE_REQUESTED,
            EventKind.IDENTITY_LINKED,
            EventKind.IDENTITY_UNLINKED,
            EventKind.API_KEY_CREATED,
            EventKind.API_KEY_REVOKED,
        }
