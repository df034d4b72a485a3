"""Organization operations as clients send them, and small factories for tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.helpers import SqlDatabase, data_of, gql, register
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


def roles_in(database: SqlDatabase, organization_id: str) -> dict[int, str]:
    """Every member's role in the organization as stored now, by user id."""
    return {
        row["user_id"]: str(row["role"])
        for row in database.rows("memberships")
        if row["organization_id"] == int(organization_id)
    }
