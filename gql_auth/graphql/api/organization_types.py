"""GraphQL types of organizations, built from rows with the caller's role read beside them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from gql_auth.accounts import admin
from gql_auth.core.errors import OutOfRange, Subject
from gql_auth.graphql.api.types import PageInfo, User
from gql_auth.graphql.context import Info
from gql_auth.graphql.enums import OrgRole
from gql_auth.graphql.org_permissions import THE_ORGANIZATION, HasOrgRole
from gql_auth.graphql.permissions import guarded_by
from gql_auth.orgs import invitations, memberships
from gql_auth.orgs.models import Invitation as InvitationRow
from gql_auth.orgs.models import Membership as MembershipRow
from gql_auth.orgs.organizations import Seen
from gql_auth.users.models import User as UserRow

MAX_MEMBERS_PAGE = 100


@strawberry.type(description="One user in one organization.")
class Membership:
    user: User = strawberry.field(description="The member; private fields stay private.")
    role: OrgRole = strawberry.field(description="Their role in the organization now.")
    joined_at: datetime = strawberry.field(description="When they joined (UTC).")

    @classmethod
    def from_rows(cls, membership: MembershipRow, user: UserRow) -> Membership:
        return cls(user=User.from_row(user), role=membership.role, joined_at=membership.joined_at)


@strawberry.type(description="A member and the cursor that points at them.")
class MembershipEdge:
    cursor: str = strawberry.field(description="Opaque; pass as `after` to continue from here.")
    node: Membership = strawberry.field(description="The member at this position.")


@strawberry.type(description="One page of an organization's members, in a stable order.")
class MembershipConnection:
    total_count: int = strawberry.field(description="Members of the organization, all pages.")
    edges: list[MembershipEdge] = strawberry.field(description="The members of this page.")
    page_info: PageInfo = strawberry.field(description="Whether and where to continue.")

    @classmethod
    def from_page(cls, page: memberships.MemberPage) -> MembershipConnection:
        edges = [
            MembershipEdge(cursor=admin.encode_cursor(user.id), node=Membership.from_rows(m, user))
            for m, user in page.members
        ]
        return cls(
            total_count=page.total_count,
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None
            ),
        )


@strawberry.type(description="A pending invitation to join an organization.")
class Invitation:
    id: strawberry.ID = strawberry.field(description="Pass it to `revokeInvitation(id:)`.")
    email: str = strawberry.field(description="The address it was mailed to.")
    role: OrgRole = strawberry.field(description="The role accepting it gives.")
    expires_at: datetime = strawberry.field(description="When its link stops working (UTC).")
    invited_by: User | None = strawberry.field(
        description="Who sent it; null once that account is gone."
    )

    @classmethod
    def from_row(cls, row: InvitationRow, *, invited_by: UserRow | None) -> Invitation:
        return cls(
            id=strawberry.ID(str(row.id)),
            email=row.email,
            role=row.role,
            expires_at=row.expires_at,
            invited_by=User.from_row(invited_by) if invited_by is not None else None,
        )


@strawberry.type(description="A team or company: members with a role each.")
class Organization:
    id: strawberry.ID = strawberry.field(description="Pass it to `organization(id:)`.")
    name: str = strawberry.field(description="What people call it.")
    slug: str = strawberry.field(description="Unique, lower-case letters, digits and hyphens.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    viewer_role: OrgRole | None = strawberry.field(
        description="The caller's role here; null when the caller is not a member."
    )

    @strawberry.field(
        description="Members, in a stable order; first 1-100. Its members, or a global ADMIN.",
        extensions=guarded_by(HasOrgRole(OrgRole.MEMBER, of=THE_ORGANIZATION, admin_reads=True)),
    )
    async def members(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="1-100.")] = 50,
        after: Annotated[
            str | None, strawberry.argument(description="An endCursor from before.")
        ] = strawberry.UNSET,
    ) -> MembershipConnection:
        if not 1 <= first <= MAX_MEMBERS_PAGE:
            raise OutOfRange(Subject.PAGE_SIZE, minimum=1, maximum=MAX_MEMBERS_PAGE)
        after_user_id = None if after in (None, strawberry.UNSET) else admin.decode_cursor(after)
        async with info.context.db() as db:
            page = await memberships.page(
                db, organization_id=int(self.id), first=first, after_user_id=after_user_id
            )
        return MembershipConnection.from_page(page)

    @strawberry.field(
        description="Pending invitations, oldest first: its ADMINs and OWNERs, or a global ADMIN.",
        extensions=guarded_by(HasOrgRole(OrgRole.ADMIN, of=THE_ORGANIZATION, admin_reads=True)),
    )
    async def invitations(self, info: Info) -> list[Invitation]:
        async with info.context.db() as db:
            rows = await invitations.pending(db, organization_id=int(self.id))
            inviters = await invitations.inviters(db, rows)
        return [
            Invitation.from_row(row, invited_by=inviters.get(row.invited_by_id)) for row in rows
        ]

    @classmethod
    def from_seen(cls, seen: Seen) -> Organization:
        row = seen.organization
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            slug=row.slug,
            created_at=row.created_at,
            viewer_role=seen.role,
        )
