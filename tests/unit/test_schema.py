"""schema.graphql is what the code exports, and it keeps every promise of the API contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    print_ast,
)

from gql_auth.graphql.schema import export_sdl

ROOT = Path(__file__).resolve().parents[2]  # the checkout
SCHEMA_FILE = ROOT / "schema.graphql"
# The contract lives beside the checkout (../shared); a snapshot is kept in the repo for
# checkouts without it, and a test below fails when the two disagree.
SHARED_CONTRACT = ROOT.parent / "shared" / "api-contract.graphql"
CONTRACT_SNAPSHOT = ROOT / "tests" / "contract" / "api-contract.graphql"
CONTRACT_FILE = SHARED_CONTRACT if SHARED_CONTRACT.is_file() else CONTRACT_SNAPSHOT

# Contract elements that later issues add, as coordinates ("Type", "Type.field",
# "Type.field(arg:)", "Enum.VALUE") mapped to the issue that adds them. A type or
# field listed here excuses everything inside it. The list may only shrink: the
# test below fails as soon as something listed exists, so strike it out then.
NOT_YET_IMPLEMENTED: dict[str, int] = {}
# Issues that may still have names listed above.
OPEN_ISSUES: set[int] = set()

# Who may read what, per the contract's permission table, as the SDL shows it.
GUARDS = {
    "Query.me": {"@isAuthenticated"},
    "Query.userDashboard": {"@isAuthenticated", "@hasRole(role: USER)"},
    "Query.adminDashboard": {"@isAuthenticated", "@hasRole(role: ADMIN)"},
    "Query.users": {"@isAuthenticated", "@hasRole(role: ADMIN)"},
    "Mutation.changePassword": {"@isAuthenticated"},
    "Mutation.logoutAll": {"@isAuthenticated"},
    "Mutation.updateProfile": {"@isAuthenticated"},
    "Mutation.requestEmailVerification": {"@isAuthenticated"},
    "Mutation.enrollTotp": {"@isAuthenticated"},
    "Mutation.confirmTotp": {"@isAuthenticated"},
    "Mutation.disableTotp": {"@isAuthenticated"},
    "Mutation.regenerateRecoveryCodes": {"@isAuthenticated"},
    "Mutation.beginPasskeyRegistration": {"@isAuthenticated"},
    "Mutation.finishPasskeyRegistration": {"@isAuthenticated"},
    "Mutation.deletePasskey": {"@isAuthenticated"},
    "Mutation.setUserRole": {"@isAuthenticated", "@hasRole(role: ADMIN)"},
    "Mutation.setUserActive": {"@isAuthenticated", "@hasRole(role: ADMIN)"},
    "User.email": {"@isSelfOrAdmin"},
    "User.emailVerified": {"@isSelfOrAdmin"},
    "User.lastLoginAt": {"@isSelfOrAdmin"},
    "User.pendingEmail": {"@isSelfOrAdmin"},
    "Query.webhookEventTypes": {"@isAuthenticated", "@hasRole(role: ADMIN)"},
    "Query.webhookEndpoints": {"@isAuthenticated", "@hasRole(role: ADMIN)"},
    "Mutation.createWebhookEndpoint": {"@isAuthenticated", "@hasRole(role: ADMIN)"},
    "Mutation.updateWebhookEndpoint": {"@isAuthenticated", "@hasRole(role: ADMIN)"},
    "Mutation.deleteWebhookEndpoint": {"@isAuthenticated", "@hasRole(role: ADMIN)"},
    "Mutation.rotateWebhookSecret": {"@isAuthenticated", "@hasRole(role: ADMIN)"},
    "Mutation.redeliverWebhookEvent": {"@isAuthenticated", "@hasRole(role: ADMIN)"},
}
PUBLIC_FIELDS = [
    "Query.user",
    "Mutation.register",
    "Mutation.login",
    "Mutation.refreshToken",
    "Mutation.logout",
    "Mutation.requestPasswordReset",
    "Mutation.resetPassword",
    "Mutation.verifyEmail",
    "Mutation.verifyMfa",
    "Mutation.beginPasskeyLogin",
    "Mutation.finishPasskeyLogin",
]


def _kind(named: GraphQLNamedType) -> str:
    return type(named).__name__.removeprefix("GraphQL").removesuffix("Type")


def _signature(value: GraphQLField | GraphQLArgument | GraphQLInputField) -> str:
    """The type as SDL spells it, with the default value as SDL spells it, if any."""
    default = getattr(value.ast_node, "default_value", None)
    return f"{value.type} = {print_ast(default)}" if default else str(value.type)


def _has_default(value: GraphQLArgument | GraphQLInputField) -> bool:
    return getattr(value.ast_node, "default_value", None) is not None


def coordinates(schema: GraphQLSchema) -> dict[str, str]:
    """Every type, field, argument, input field and enum value, with its signature."""
    found: dict[str, str] = {}
    for name, named in schema.type_map.items():
        if name.startswith("__") or (
            isinstance(named, GraphQLScalarType) and name in {"String", "Int", "Boolean", "ID"}
        ):
            continue
        found[name] = _kind(named)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named.fields.items():
                found[f"{name}.{field_name}"] = _signature(field)
                for arg_name, arg in field.args.items():
                    found[f"{name}.{field_name}({arg_name}:)"] = _signature(arg)
        elif isinstance(named, GraphQLInputObjectType):
            for field_name, input_field in named.fields.items():
                found[f"{name}.{field_name}"] = _signature(input_field)
        elif isinstance(named, GraphQLEnumType):
            for value_name in named.values:
                found[f"{name}.{value_name}"] = "value"
    return found


def _excused(coordinate: str) -> bool:
    """Listed as not yet implemented, itself or through its type or field."""
    type_name, _, rest = coordinate.partition(".")
    field = f"{type_name}.{rest.partition('(')[0]}" if rest else None
    return any(name in NOT_YET_IMPLEMENTED for name in (coordinate, type_name, field))


@pytest.fixture(scope="module")
def exported() -> GraphQLSchema:
    return build_schema(export_sdl())


@pytest.fixture(scope="module")
def contract() -> GraphQLSchema:
    return build_schema(CONTRACT_FILE.read_text())


def test_the_committed_schema_is_what_the_code_exports() -> None:
    assert SCHEMA_FILE.read_text() == export_sdl(), (
        "schema.graphql is stale: run `gql-auth export-schema --output schema.graphql`"
    )


def test_the_schema_has_everything_the_contract_promises(
    exported: GraphQLSchema, contract: GraphQLSchema
) -> None:
    ours = coordinates(exported)

    missing = [name for name in coordinates(contract) if name not in ours and not _excused(name)]

    assert missing == []


def test_contract_elements_keep_their_types_nullability_and_defaults(
    exported: GraphQLSchema, contract: GraphQLSchema
) -> None:
    ours = coordinates(exported)

    different = {
        name: {"contract": promised, "schema": ours[name]}
        for name, promised in coordinates(contract).items()
        if name in ours and ours[name] != promised
    }

    assert different == {}


def test_not_yet_implemented_lists_only_what_is_really_missing(exported: GraphQLSchema) -> None:
    ours = coordinates(exported)

    landed = {name: issue for name, issue in NOT_YET_IMPLEMENTED.items() if name in ours}

    assert landed == {}, "these have landed: remove them from NOT_YET_IMPLEMENTED"


def test_not_yet_implemented_names_only_contract_elements(contract: GraphQLSchema) -> None:
    promised = coordinates(contract)

    assert [name for name in NOT_YET_IMPLEMENTED if name not in promised] == []
    assert set(NOT_YET_IMPLEMENTED.values()) <= OPEN_ISSUES


def test_additions_to_contract_fields_and_inputs_are_optional(
    exported: GraphQLSchema, contract: GraphQLSchema
) -> None:
    """New arguments or input fields must not break a client written against the contract."""
    promised = coordinates(contract)
    breaking = []
    for name, named in exported.type_map.items():
        if name.startswith("__") or name not in promised:
            continue
        if isinstance(named, GraphQLObjectType):
            for field_name, field in named.fields.items():
                if f"{name}.{field_name}" not in promised:
                    continue
                breaking += [
                    f"{name}.{field_name}({arg_name}:)"
                    for arg_name, arg in field.args.items()
                    if f"{name}.{field_name}({arg_name}:)" not in promised
                    and isinstance(arg.type, GraphQLNonNull)
                    and not _has_default(arg)
                ]
        elif isinstance(named, GraphQLInputObjectType):
            breaking += [
                f"{name}.{field_name}"
                for field_name, input_field in named.fields.items()
                if f"{name}.{field_name}" not in promised
                and isinstance(input_field.type, GraphQLNonNull)
                and not _has_default(input_field)
            ]

    assert breaking == []


def test_nobody_can_ask_for_a_role_when_registering(exported: GraphQLSchema) -> None:
    register_input = exported.type_map["RegisterInput"]

    assert isinstance(register_input, GraphQLInputObjectType)
    assert "role" not in register_input.fields


def test_additions_beyond_the_contract_are_documented(
    exported: GraphQLSchema, contract: GraphQLSchema
) -> None:
    promised = coordinates(contract)
    undocumented = [
        name
        for name in coordinates(exported)
        if name not in promised and "(" not in name and not _description(exported, name)
    ]
    undocumented += [
        f"@{directive.name}"
        for directive in exported.directives
        if directive.ast_node is not None and not directive.description
    ]

    assert undocumented == []


def _description(schema: GraphQLSchema, coordinate: str) -> str | None:
    type_name, _, member = coordinate.partition(".")
    named = schema.type_map[type_name]
    if not member:
        return named.description
    if isinstance(named, GraphQLEnumType):
        # A value of a documented enum explains itself (USER, ADMIN, ...).
        return named.values[member].description or named.description
    assert isinstance(named, GraphQLObjectType | GraphQLInputObjectType | GraphQLInterfaceType)
    description: str | None = named.fields[member].description
    return description


def _directives(schema: GraphQLSchema, coordinate: str, *, keys: bool = False) -> set[str]:
    """Who may use the field (its permission directives), or with `keys` what a key needs."""
    type_name, _, field_name = coordinate.partition(".")
    named = schema.type_map[type_name]
    assert isinstance(named, GraphQLObjectType)
    node = named.fields[field_name].ast_node
    return {
        print_ast(directive)
        for directive in (node.directives if node else None) or ()
        if (directive.name.value == "apiKeyScope") == keys
    }


@pytest.mark.parametrize("coordinate", GUARDS)
def test_a_guarded_field_shows_its_rule_as_a_directive(
    exported: GraphQLSchema, coordinate: str
) -> None:
    if _excused(coordinate):
        pytest.skip(f"{coordinate} arrives with issue {NOT_YET_IMPLEMENTED.get(coordinate)}")

    assert _directives(exported, coordinate) == GUARDS[coordinate]


@pytest.mark.parametrize("coordinate", PUBLIC_FIELDS)
def test_a_public_field_carries_no_guard(exported: GraphQLSchema, coordinate: str) -> None:
    if _excused(coordinate):
        pytest.skip(f"{coordinate} arrives with issue {NOT_YET_IMPLEMENTED.get(coordinate)}")

    assert _directives(exported, coordinate) == set()


# The contract's scopes ("API keys"): every root field not listed here is closed to keys.
KEY_SCOPES = {
    "Query.me": "profile:read",
    "Query.user": "profile:read",
    "Query.userDashboard": "dashboard:read",
    "Query.organizations": "organizations:read",
    "Query.organization": "organizations:read",
    **{
        f"Mutation.{name}": "organizations:write"
        for name in (
            "createOrganization",
            "updateOrganization",
            "deleteOrganization",
            "inviteMember",
            "revokeInvitation",
            "acceptInvitation",
            "setMemberRole",
            "removeMember",
            "leaveOrganization",
        )
    },
    "Query.users": "admin:read",
    "Query.adminDashboard": "admin:read",
    "Mutation.setUserRole": "admin:write",
    "Mutation.setUserActive": "admin:write",
}


def test_exactly_the_contract_s_root_fields_are_open_to_api_keys_with_their_scopes(
    exported: GraphQLSchema,
) -> None:
    declared = {}
    for root in ("Query", "Mutation"):
        named = exported.type_map[root]
        assert isinstance(named, GraphQLObjectType)
        for field_name in named.fields:
            shown = _directives(exported, f"{root}.{field_name}", keys=True)
            if shown:
                declared[f"{root}.{field_name}"] = shown

    assert declared == {
        coordinate: {f'@apiKeyScope(scope: "{scope}")'} for coordinate, scope in KEY_SCOPES.items()
    }


def test_every_type_and_field_a_frontend_reads_is_described(exported: GraphQLSchema) -> None:
    """Codegen copies these into typed clients: each error code per mutation is explained."""
    undocumented = [
        name
        for name in coordinates(exported)
        if "(" not in name and not _description(exported, name)
    ]
    undocumented += [
        name
        for name, named in exported.type_map.items()
        if not name.startswith("__")
        and name not in {"String", "Boolean", "Int", "ID", "Float"}
        and not named.description
    ]

    assert undocumented == []


@pytest.mark.skipif(not SHARED_CONTRACT.is_file(), reason="no ../shared beside this checkout")
def test_the_contract_snapshot_matches_the_shared_contract() -> None:
    """Refresh tests/contract/ with a copy of ../shared/api-contract.graphql when this fails."""
    assert CONTRACT_SNAPSHOT.read_text() == SHARED_CONTRACT.read_text()
