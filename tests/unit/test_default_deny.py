"""Default deny: every field anyone can reach is either named public here or guarded by a
permission class, so a field added later without a rule cannot ship unnoticed."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLUnionType,
    get_named_type,
)
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from gql_auth.core.models import Role
from gql_auth.graphql.credentials import CredentialCheck
from gql_auth.graphql.permissions import HasRole, IsAuthenticated, IsSelfOrAdmin
from gql_auth.graphql.schema import build_schema

# Root fields anyone may call without signing in. Adding to this list is a security decision.
PUBLIC_ROOT_FIELDS = {
    "Query": {"user", "signInProviders", "apiKeyScopes"},
    "Mutation": {
        "register",
        "login",
        "refreshToken",
        "logout",
        "requestPasswordReset",
        "resetPassword",
        "verifyEmail",
        "verifyMfa",
        "beginPasskeyLogin",
        "finishPasskeyLogin",
        "beginSocialSignIn",
        "finishSocialSignIn",
    },
}
# Fields of the types that public root fields return, readable by anyone who gets the object.
PUBLIC_TYPE_FIELDS = {
    "User": {"id", "username", "role", "isActive", "createdAt"},
    # What register/login/refreshToken hand to the caller who just proved who they are.
    "AuthPayload": {"accessToken", "tokenType", "expiresIn", "refreshToken", "user"},
    # A passkey sign-in begun: a public challenge, tied to no secret.
    "PasskeyChallenge": {"challengeId", "options"},
    # The providers anyone may sign in with, and where to send the browser for one.
    "SignInProvider": {"id", "displayName"},
    "SocialSignInStart": {"authorizationUrl", "state"},
}
# Private data: only the user themselves or an admin, wherever the User is reached from.
PRIVATE_FIELDS = {
    "User": {
        "email",
        "emailVerified",
        "lastLoginAt",
        "pendingEmail",
        "hasPassword",
        "identities",
    }
}
# The contract's rules for the guarded root fields.
ADMIN_ONLY = {"adminDashboard", "users", "setUserRole", "setUserActive"}
AUTHENTICATED = {
    "me",
    "userDashboard",
    "changePassword",
    "logoutAll",
    "updateProfile",
    "requestEmailVerification",
    "enrollTotp",
    "confirmTotp",
    "disableTotp",
    "regenerateRecoveryCodes",
    "beginPasskeyRegistration",
    "finishPasskeyRegistration",
    "deletePasskey",
}

SCHEMA = build_schema()


def permissions_of(field: GraphQLField) -> list[BasePermission]:
    """The permission classes Strawberry runs before this field's resolver."""
    definition = field.extensions.get("strawberry-definition")
    if definition is None:
        return []
    return [
        permission
        for extension in definition.extensions
        if isinstance(extension, PermissionExtension)
        for permission in extension.permissions
    ]


def object_fields(type_: GraphQLNamedType) -> Iterator[tuple[str, GraphQLField]]:
    if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType) and not type_.name.startswith(
        "__"
    ):
        yield from type_.fields.items()


def unguarded_reachable_fields() -> set[str]:
    """Every field reachable from the roots without passing a permission check, as Type.field."""
    graphql_schema = SCHEMA._schema
    roots = [graphql_schema.query_type, graphql_schema.mutation_type]
    pending: list[GraphQLNamedType] = [root for root in roots if root is not None]
    seen: set[str] = set()
    reachable: set[str] = set()
    while pending:
        type_ = pending.pop()
        if type_.name in seen:
            continue
        seen.add(type_.name)
        if isinstance(type_, GraphQLUnionType):
            pending.extend(type_.types)
        for name, field in object_fields(type_):
            if permissions_of(field):
                continue  # guarded: what lies behind it is for the permitted caller
            reachable.add(f"{type_.name}.{name}")
            pending.append(get_named_type(field.type))
    return reachable


def all_fields() -> Iterator[tuple[str, str, GraphQLField]]:
    for type_ in SCHEMA._schema.type_map.values():
        for name, field in object_fields(type_):
            yield type_.name, name, field


def allowed(type_name: str, field_name: str) -> bool:
    public = PUBLIC_ROOT_FIELDS.get(type_name) or PUBLIC_TYPE_FIELDS.get(type_name, set())
    return field_name in public


class TestEveryFieldIsPublicOrGuarded:
    def test_no_field_is_reachable_unguarded_unless_it_is_on_the_public_list(self) -> None:
        reachable = unguarded_reachable_fields()

        unlisted = sorted(field for field in reachable if not allowed(*field.split(".", 1)))

        assert unlisted == [], (
            "These fields can be read without any permission check. Guard them with a "
            "permission class, or add them to the public allow-list on purpose."
        )

    def test_the_walk_reaches_the_public_fields(self) -> None:
        """Guards the guard: a walk that found nothing would pass the test above vacuously."""
        reachable = unguarded_reachable_fields()

        assert {"Mutation.login", "Query.user", "User.username", "AuthPayload.user"} <= reachable

    def test_every_root_field_is_public_or_guarded(self) -> None:
        unguarded = sorted(
            f"{type_name}.{name}"
            for type_name, name, field in all_fields()
            if type_name in {"Query", "Mutation"}
            and not permissions_of(field)
            and name not in PUBLIC_ROOT_FIELDS[type_name]
        )

        assert unguarded == []

    def test_private_user_fields_are_guarded_by_is_self_or_admin(self) -> None:
        user = SCHEMA._schema.type_map["User"]
        assert isinstance(user, GraphQLObjectType)

        for name in PRIVATE_FIELDS["User"]:
            kinds = {type(permission) for permission in permissions_of(user.fields[name])}
            assert IsSelfOrAdmin in kinds, name

    @pytest.mark.parametrize("name", sorted(ADMIN_ONLY))
    def test_admin_fields_require_the_admin_role(self, name: str) -> None:
        field = root_field(name)
        if field is None:
            pytest.skip(f"{name} is not in the schema yet")

        roles = [p.role for p in permissions_of(field) if isinstance(p, HasRole)]

        assert Role.ADMIN in roles

    @pytest.mark.parametrize("name", sorted(AUTHENTICATED))
    def test_signed_in_fields_require_authentication(self, name: str) -> None:
        field = root_field(name)
        if field is None:
            pytest.skip(f"{name} is not in the schema yet")

        kinds = {type(permission) for permission in permissions_of(field)}

        assert IsAuthenticated in kinds


def root_field(name: str) -> GraphQLField | None:
    graphql_schema = SCHEMA._schema
    for root in (graphql_schema.query_type, graphql_schema.mutation_type):
        if root is not None and name in root.fields:
            field: GraphQLField = root.fields[name]
            return field
    return None


class TestPermissionChecksCannotBeSkipped:
    def test_every_permission_class_in_the_schema_checks_asynchronously(self) -> None:
        classes = {
            type(permission) for _, _, field in all_fields() for permission in permissions_of(field)
        }

        assert classes >= {IsAuthenticated, HasRole, IsSelfOrAdmin}
        sync = sorted(
            c.__name__ for c in classes if not inspect.iscoroutinefunction(c.has_permission)
        )
        assert sync == []

    @pytest.mark.parametrize("resolver", ["sync", "async"])
    async def test_a_sync_has_permission_returning_an_awaitable_never_grants(
        self, resolver: str
    ) -> None:
        """The pitfall: a coroutine object is truthy, whatever it would have said."""

        class Sneaky(BasePermission):
            message = "denied"

            def has_permission(self, source: Any, info: Any, **kwargs: Any) -> Any:
                async def deny() -> bool:
                    return False

                return deny()

        extensions: list[FieldExtension] = [PermissionExtension([Sneaky()])]
        if resolver == "sync":

            @strawberry.type
            class Query:
                @strawberry.field(extensions=extensions)
                def secret(self) -> str | None:
                    return "leaked"

        else:

            @strawberry.type
            class Query:  # type: ignore[no-redef]
                @strawberry.field(extensions=extensions)
                async def secret(self) -> str | None:
                    return "leaked"

        result = await strawberry.Schema(query=Query).execute("{ secret }")

        assert result.errors
        assert result.data in (None, {"secret": None})


# Argument and input-field names that carry a secret the server checks. A name starting with
# "new" is one being chosen (newPassword), which checks nothing.
SECRET_NAME = re.compile(r"(password|token|code|secret|otp|credential)$", re.IGNORECASE)
# Mutations that take a secret-like argument yet are no credential check, and why. The rule
# "one credential check per request" is for guessable secrets (passwords) and for the mailed
# tokens whose redemption takes over a password or an address. Adding here is a security decision.
NOT_CREDENTIAL_CHECKS = {
    "register": "chooses a password, verifies none",
    "refreshToken": "a 256-bit session token, rotated on use: aliases add no useful guesses",
    "logout": "a 256-bit session token that only ends its own session",
    "finishPasskeyRegistration": "a new key's attestation over the caller's own single-use "
    "challenge: it adds a key, checks no secret (the password was checked at the begin)",
}


def secret_arguments(field: GraphQLField) -> list[str]:
    """Secret-like names among the field's arguments and their input objects' fields."""
    found: list[str] = []
    pending = list(field.args.items())
    seen: set[str] = set()
    while pending:
        name, argument = pending.pop()
        if SECRET_NAME.search(name) and not name.startswith("new"):
            found.append(name)
        input_type = get_named_type(argument.type)
        if isinstance(input_type, GraphQLInputObjectType) and input_type.name not in seen:
            seen.add(input_type.name)
            pending.extend(input_type.fields.items())
    return sorted(found)


def declares_a_credential_check(field: GraphQLField) -> bool:
    definition = field.extensions.get("strawberry-definition")
    return definition is not None and any(
        isinstance(extension, CredentialCheck) for extension in definition.extensions
    )


def mutations() -> dict[str, GraphQLField]:
    mutation_type = SCHEMA._schema.mutation_type
    assert mutation_type is not None
    return dict(mutation_type.fields)


class TestEverySecretCheckIsDeclared:
    """A mutation left out of the credential checks could be aliased 50 times per request."""

    def test_every_mutation_taking_a_secret_is_a_credential_check_or_exempt_on_purpose(
        self,
    ) -> None:
        undeclared = sorted(
            name
            for name, field in mutations().items()
            if secret_arguments(field)
            and not declares_a_credential_check(field)
            and name not in NOT_CREDENTIAL_CHECKS
        )

        assert undeclared == [], (
            "These mutations take a password or token but do not declare "
            "CredentialCheck(...): declare it, or exempt them here with a reason."
        )

    def test_the_walk_finds_secrets_in_arguments_and_input_objects(self) -> None:
        """Guards the guard: a walk that found nothing would pass the test above vacuously."""
        fields = mutations()

        assert secret_arguments(fields["login"]) == ["password"]
        assert secret_arguments(fields["changePassword"]) == ["currentPassword"]
        assert secret_arguments(fields["updateProfile"]) == ["currentPassword"]
        assert secret_arguments(fields["resetPassword"]) == ["token"]
        assert secret_arguments(fields["refreshToken"]) == ["refreshToken"]
        assert secret_arguments(fields["requestPasswordReset"]) == []
        assert secret_arguments(fields["verifyMfa"]) == ["code", "mfaToken"]
        assert secret_arguments(fields["disableTotp"]) == ["code", "currentPassword"]
        assert secret_arguments(fields["finishPasskeyLogin"]) == ["credential"]
        assert secret_arguments(fields["finishSocialSignIn"]) == ["code"]

    def test_the_mutations_that_check_a_password_or_redeem_a_mailed_token_declare_it(
        self,
    ) -> None:
        declared = {
            name for name, field in mutations().items() if declares_a_credential_check(field)
        }

        assert declared == {
            "login",
            "changePassword",
            "updateProfile",
            "resetPassword",
            "verifyEmail",
            "verifyMfa",
            "enrollTotp",
            "confirmTotp",
            "disableTotp",
            "regenerateRecoveryCodes",
            "beginPasskeyRegistration",
            "finishPasskeyLogin",
            "deletePasskey",
            "finishSocialSignIn",
            "beginSocialLink",
            "linkSocialIdentity",
            "unlinkSocialIdentity",
            "deleteOrganization",
            "acceptInvitation",
            "createApiKey",
        }

    @pytest.mark.parametrize("name", sorted(NOT_CREDENTIAL_CHECKS))
    def test_each_exemption_is_a_mutation_that_takes_a_secret_and_declares_none(
        self, name: str
    ) -> None:
        field = mutations()[name]

        assert secret_arguments(field)
        assert not declares_a_credential_check(field)
