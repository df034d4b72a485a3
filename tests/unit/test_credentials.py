"""Fast specs of the credential declarations (no app): what credential_fields reads off a type."""

from __future__ import annotations

import strawberry
from strawberry.schema.name_converter import NameConverter

from gql_auth.graphql.credentials import CredentialCheck, Secret, credential_fields


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=[CredentialCheck(Secret.PASSWORD)])
    def sign_in(self) -> bool:
        return True

    @strawberry.mutation
    def say_hello(self) -> bool:
        return True

    @strawberry.mutation(extensions=[CredentialCheck(Secret.MAILED_TOKEN)], name="redeem")
    def redeem_link(self) -> bool:
        return True

    @strawberry.mutation(extensions=[CredentialCheck(Secret.PASSWORD)])
    def confirm_password(self) -> bool:
        return True


class TestCredentialFields:
    def test_only_declared_fields_are_listed_by_their_graphql_names_in_order(self) -> None:
        found = credential_fields(Mutation, NameConverter())

        assert found.names == ("signIn", "redeem", "confirmPassword")

    def test_the_names_follow_the_schemas_name_conversion(self) -> None:
        found = credential_fields(Mutation, NameConverter(auto_camel_case=False))

        assert found.names == ("sign_in", "redeem", "confirm_password")

    def test_password_checks_leave_out_mailed_tokens(self) -> None:
        found = credential_fields(Mutation, NameConverter())

        assert found.password_checks == {"signIn", "confirmPassword"}

    def test_a_declaration_takes_no_part_in_resolving(self) -> None:
        assert not CredentialCheck(Secret.PASSWORD).has_resolver
