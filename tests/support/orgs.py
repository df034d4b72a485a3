"""Organization operations as clients send them, and small factories for tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa

from tests.support.helpers import STRONG_PASSWORD, SqlDatabase, data_of, gql, register
from tests.support.mailbox import Mailbox

ORGANIZATION_FIELDS = "id name slug createdAt viewerRole"
CREATE_ORGANIZATION = f"""
mutation Create($input: CreateOrganizationInput!) {{
  createOrganization(input: $input) {{ {ORGANIZATION_FIELDS} }}
}}"""
UPDATE_ORGANIZATION = f"""
mutation Update($input: UpdateOrganizationInput!) {{
  updateOrganization(input: $input) {{ {ORGANIZATION_FIELDS} }}
}}"""
DELETE_ORGANIZATION = """
mutation Delete($id: ID!, $password: String) {
  deleteOrganization(organizationId: $id, currentPassword: $password)
}"""
ORGANIZATIONS = f"query {{ organizations {{ {ORGANIZATION_FIELDS} }} }}"
ORGANIZATION = f"""
query Organization($id: ID!) {{ organization(id: $id) {{ {ORGANIZATION_FIELDS} }} }}"""
MEMBERS = """
query Members($id: ID!, $first: Int! = 50, $after: String) {
  organization(id: $id) {
    members(first: $first, after: $after) {
      totalCount
      edges { cursor node { role joinedAt user { id username } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
INVITATIONS = """
query Invitations($id: ID!) {
  organization(id: $id) { invitations { id email role expiresAt invitedBy { id username } } }
}"""
INVITE_MEMBER = """
mutation Invite($input: InviteMemberInput!) {
  inviteMember(input: $input) { id email role expiresAt invitedBy { id username } }
}"""
REVOKE_INVITATION = "mutation Revoke($id: ID!) { revokeInvitation(id: $id) }"
ACCEPT_INVITATION = """
mutation Accept($token: String!) {
  acceptInvitation(token: $token) { role joinedAt user { id username } }
}"""
SET_MEMBER_ROLE = """
mutation SetRole($input: SetMemberRoleInput!) {
  setMemberRole(input: $input) { role user { id username } }
}"""
REMOVE_MEMBER = (
    "mutation Remove($org: ID!, $user: ID!) { removeMember(organizationId: $org, userId: $user) }"
)
LEAVE_ORGANIZATION = "mutation Leave($org: ID!) { leaveOrganization(organizationId: $org) }"
SWITCH_ORGANIZATION = """
mutation Switch($org: ID) {
  switchOrganization(organizationId: $org) { accessToken refreshToken expiresIn user { id } }
}"""
INVITATION_SUBJECT_PREFIX = "You are invited to join"
# Every field of an organization, twice by alias and once through an inline fragment.
REACH_BY_ALIASES = """
query Reach($mine: ID!, $theirs: ID!) {
  mine: organization(id: $mine) { ...Everything }
  theirs: organization(id: $theirs) { ...Everything }
  again: organization(id: $theirs) {
    ... on Organization { id members(first: 100) { totalCount } invitations { email } }
  }
}
fragment Everything on Organization {
  id name viewerRole
  members { totalCount edges { node { role user { id username } } } }
  invitations { id email }
}"""
# The mutations an organization's ADMIN or OWNER may use, as (document, variables) for an
# organization id and a member's user id: without a role there, each is FORBIDDEN.
Call = Callable[[str, str], tuple[str, dict[str, Any]]]
MANAGING: dict[str, Call] = {
    "setMemberRole": lambda org, user: (
        SET_MEMBER_ROLE,
        {"input": {"organizationId": org, "userId": user, "role": "ADMIN"}},
    ),
    "removeMember": lambda org, user: (REMOVE_MEMBER, {"org": org, "user": user}),
    "inviteMember": lambda org, user: (
        INVITE_MEMBER,
        {"input": {"organizationId": org, "email": "newcomer@example.com", "role": "MEMBER"}},
    ),
    "updateOrganization": lambda org, user: (
        UPDATE_ORGANIZATION,
        {"input": {"organizationId": org, "name": "Taken over"}},
    ),
    "deleteOrganization": lambda org, user: (
        DELETE_ORGANIZATION,
        {"id": org, "password": STRONG_PASSWORD},
    ),
}


def unique_slug(prefix: str = "org") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def create_organization(
    client: httpx.AsyncClient, token: str, *, name: str = "Acme", slug: str | None = None
) -> dict[str, Any]:
    body = await gql(
        client,
        CREATE_ORGANIZATION,
        {"input": {"name": name, "slug": slug or unique_slug()}},
        token=token,
    )
    organization: dict[str, Any] = data_of(body, "createOrganization")
    return organization


async def verified_user(client: httpx.AsyncClient, database: SqlDatabase) -> dict[str, Any]:
    """A fresh account whose address counts as verified (as its verification link would)."""
    payload = await register(client)
    database.update_user(payload["user"]["id"], email_verified=True)
    return payload


async def invite(
    client: httpx.AsyncClient, token: str, organization_id: str, email: str, role: str = "MEMBER"
) -> dict[str, Any]:
    return await gql(
        client,
        INVITE_MEMBER,
        {"input": {"organizationId": organization_id, "email": email, "role": role}},
        token=token,
    )


async def invitation_token(mailbox: Mailbox, email: str) -> str:
    """The token of the newest invitation mailed to this address."""
    mails = [
        m for m in await mailbox.mails(email) if m.subject.startswith(INVITATION_SUBJECT_PREFIX)
    ]
    assert mails, f"no invitation mailed to {email}"
    return mails[-1].token


async def add_member(
    client: httpx.AsyncClient,
    mailbox: Mailbox,
    *,
    owner_token: str,
    organization_id: str,
    member: dict[str, Any],
    role: str = "MEMBER",
) -> None:
    """Invites `member` (an AuthPayload of a verified user) and accepts as them."""
    email = member["user"]["email"]
    data_of(await invite(client, owner_token, organization_id, email, role), "inviteMember")
    token = await invitation_token(mailbox, email)
    body = await gql(client, ACCEPT_INVITATION, {"token": token}, token=member["accessToken"])
    assert data_of(body, "acceptInvitation")["role"] == role


async def set_member_role(
    client: httpx.AsyncClient, token: str, organization_id: str, user_id: str, role: str
) -> dict[str, Any]:
    return await gql(
        client,
        SET_MEMBER_ROLE,
        {"input": {"organizationId": organization_id, "userId": user_id, "role": role}},
        token=token,
    )


async def switch(
    client: httpx.AsyncClient, token: str, organization_id: str | None
) -> dict[str, Any]:
    return await gql(client, SWITCH_ORGANIZATION, {"org": organization_id}, token=token)


async def organization_with_owners(
    client: httpx.AsyncClient, mailbox: Mailbox, database: SqlDatabase
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A fresh organization with two OWNERs: its creator, and a verified user invited as one."""
    first = await register(client)
    second = await verified_user(client, database)
    organization = await create_organization(client, first["accessToken"])
    await add_member(
        client,
        mailbox,
        owner_token=first["accessToken"],
        organization_id=organization["id"],
        member=second,
        role="OWNER",
    )
    return organization, first, second


# --- set-up without the mail round trip, and what the database holds -------------------


def put_member(
    database: SqlDatabase, organization_id: str, user_id: str, role: str = "MEMBER"
) -> None:
    """A membership row, as `gql-auth org-add-member` writes it: set-up, not the thing tested."""
    memberships = database.table("memberships")
    with database.engine.begin() as connection:
        connection.execute(
            sa.insert(memberships).values(
                organization_id=int(organization_id), user_id=int(user_id), role=role
            )
        )


def roles_in(database: SqlDatabase, organization_id: str) -> dict[str, str]:
    """Every member's role in the organization as stored now, by user id (as GraphQL spells it)."""
    return {
        str(row["user_id"]): str(row["role"])
        for row in database.rows("memberships")
        if row["organization_id"] == int(organization_id)
    }


def pending_invitations(database: SqlDatabase, organization_id: str) -> list[sa.RowMapping]:
    """Stored invitations of the organization neither accepted nor revoked (expiry aside)."""
    return [
        row
        for row in database.rows("invitations")
        if row["organization_id"] == int(organization_id)
        and row["accepted_at"] is None
        and row["revoked_at"] is None
    ]


@dataclass(frozen=True)
class Team:
    """An organization with one account in each role (AuthPayloads as register returned them)."""

    id: str
    owner: dict[str, Any]
    admin: dict[str, Any]
    member: dict[str, Any]

    def token(self, role: str) -> str:
        payload: dict[str, Any] = getattr(self, role.lower())
        return str(payload["accessToken"])

    def user_id(self, role: str) -> str:
        payload: dict[str, Any] = getattr(self, role.lower())
        return str(payload["user"]["id"])


async def team(client: httpx.AsyncClient, database: SqlDatabase, name: str = "Acme") -> Team:
    """A fresh organization: its creator OWNER, an ADMIN and a MEMBER put in directly."""
    owner = await register(client)
    organization = await create_organization(client, owner["accessToken"], name=name)
    admin, member = await register(client), await register(client)
    put_member(database, organization["id"], admin["user"]["id"], "ADMIN")
    put_member(database, organization["id"], member["user"]["id"], "MEMBER")
    return Team(organization["id"], owner, admin, member)


async def remove_member(
    client: httpx.AsyncClient, token: str, organization_id: str, user_id: str
) -> dict[str, Any]:
    return await gql(client, REMOVE_MEMBER, {"org": organization_id, "user": user_id}, token=token)


def state_of(database: SqlDatabase, organization_id: str) -> tuple[Any, ...]:
    """What a refused mutation must leave as it was: the row, its members, its invitations."""
    row = [dict(r) for r in database.rows("organizations") if r["id"] == int(organization_id)]
    invitations = [r["id"] for r in pending_invitations(database, organization_id)]
    return row, roles_in(database, organization_id), invitations


async def invitation_of(client: httpx.AsyncClient, org: Team, email: str) -> str:
    """The id of a fresh invitation the organization's owner sent."""
    invitation = data_of(await invite(client, org.token("owner"), org.id, email), "inviteMember")
    return str(invitation["id"])
