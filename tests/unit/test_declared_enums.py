"""Lists derived from their enums (no app): a new event kind, role or token purpose shows up
in the API's description, the CLI and the mails without a second edit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from graphql import GraphQLObjectType
from sqlalchemy import String

from gql_auth import cli
from gql_auth.accounts.mailed_tokens import IssuedToken
from gql_auth.accounts.models import TokenPurpose
from gql_auth.audit.audit import EventKind
from gql_auth.audit.models import SecurityEvent
from gql_auth.cli.users import ROLE_CHOICES
from gql_auth.core.models import Role
from gql_auth.graphql.schema import build_schema
from gql_auth.mail.templates import token_mail


class TestEventKinds:
    def test_the_api_describes_every_kind_in_the_enums_order(self) -> None:
        event = build_schema()._schema.type_map["SecurityEvent"]
        assert isinstance(event, GraphQLObjectType)

        assert event.fields["kind"].description == "e.g. " + ", ".join(EventKind)
        assert "ACCOUNT_ACTIVATED" in (event.fields["kind"].description or "")

    @pytest.mark.parametrize("kind", list(EventKind), ids=str)
    def test_every_kind_fits_its_column(self, kind: EventKind) -> None:
        column_type = SecurityEvent.__table__.c.kind.type
        assert isinstance(column_type, String) and column_type.length is not None

        assert len(kind.value) <= column_type.length


class TestRoleChoices:
    def test_the_choices_are_the_roles_in_lower_case(self) -> None:
        assert ROLE_CHOICES == ["user", "admin"]
        assert [Role(choice.upper()) for choice in ROLE_CHOICES] == list(Role)

    @pytest.mark.parametrize("role", list(Role), ids=str)
    def test_every_role_is_accepted_in_any_case(self, role: Role) -> None:
        parser = cli._parser()

        assert parser.parse_args(["set-role", "someone", role.value]).role == role.value.lower()
        assert parser.parse_args(["users", "--role", role.value.title()]).role == role.lower()

    def test_an_unknown_role_is_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit):
            cli._parser().parse_args(["set-role", "someone", "root"])

        assert "invalid choice: 'root'" in capsys.readouterr().err


class TestTokenMails:
    @pytest.mark.parametrize("purpose", list(TokenPurpose), ids=str)
    def test_every_purpose_mails_one_link_to_public_url_with_the_token(
        self, purpose: TokenPurpose
    ) -> None:
        issued = IssuedToken(purpose, "owner@example.com", "tok123", timedelta(minutes=30))

        mail = token_mail(issued, public_url="https://auth.example/")

        assert mail.to == "owner@example.com"
        assert mail.body.count("https://auth.example/") == 1
        assert "token=tok123" in mail.body
        assert "30 minutes" in mail.body

    def test_each_purpose_has_its_own_subject_and_page(self) -> None:
        mails = {
            purpose: token_mail(
                IssuedToken(purpose, "owner@example.com", "tok", timedelta(hours=24)),
                public_url="https://auth.example",
            )
            for purpose in TokenPurpose
        }

        assert len({mail.subject for mail in mails.values()}) == len(TokenPurpose)
        assert "/reset-password?token=tok" in mails[TokenPurpose.PASSWORD_RESET].body
        assert "/verify-email?token=tok" in mails[TokenPurpose.EMAIL_VERIFICATION].body
