"""What the token mails say: one link under PUBLIC_URL that carries the token, and its
lifetime in words (the notices, which hold no link, are tests/unit/test_notices.py's)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gql_auth.accounts.mailed_tokens import IssuedToken
from gql_auth.accounts.models import TokenPurpose
from gql_auth.mail.templates import token_mail

PUBLIC_URL = "https://auth.example.com"


TOKEN = "tok-123"


def issued(purpose: TokenPurpose, *, lifetime: timedelta = timedelta(hours=1)) -> IssuedToken:
    return IssuedToken(purpose=purpose, email="jose@example.com", token=TOKEN, lifetime=lifetime)


def links(body: str) -> list[str]:
    return [word for word in body.split() if word.startswith(("http://", "https://"))]


class TestTokenMail:
    @pytest.mark.parametrize(
        ("purpose", "subject", "path"),
        [
            (TokenPurpose.PASSWORD_RESET, "Reset your password", "/reset-password"),
            (TokenPurpose.EMAIL_VERIFICATION, "Confirm your e-mail address", "/verify-email"),
        ],
    )
    def test_each_purpose_has_its_subject_and_one_link_to_its_page(
        self, purpose: TokenPurpose, subject: str, path: str
    ) -> None:
        mail = token_mail(issued(purpose), public_url=PUBLIC_URL)

        assert mail.to == "jose@example.com"
        assert mail.subject == subject
        assert links(mail.body) == [f"{PUBLIC_URL}{path}?token={TOKEN}"]

    def test_no_two_purposes_share_a_subject(self) -> None:
        subjects = {
            token_mail(issued(purpose), public_url=PUBLIC_URL).subject for purpose in TokenPurpose
        }

        assert len(subjects) == len(TokenPurpose)

    def test_a_trailing_slash_on_the_public_url_does_not_double(self) -> None:
        mail = token_mail(issued(TokenPurpose.PASSWORD_RESET), public_url=PUBLIC_URL + "/")

        assert links(mail.body) == [f"{PUBLIC_URL}/reset-password?token={TOKEN}"]

    @pytest.mark.parametrize(
        ("lifetime", "words"),
        [
            (timedelta(minutes=30), "30 minutes"),
            (timedelta(minutes=90), "90 minutes"),
            (timedelta(hours=1), "1 hour"),
            (timedelta(hours=24), "24 hours"),
        ],
    )
    def test_the_lifetime_is_said_in_words(self, lifetime: timedelta, words: str) -> None:
        mail = token_mail(
            issued(TokenPurpose.EMAIL_VERIFICATION, lifetime=lifetime), public_url=PUBLIC_URL
        )

        assert f"within {words}:" in mail.body
