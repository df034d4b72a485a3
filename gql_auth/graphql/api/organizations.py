"""Root fields for organizations: reading them, managing members and invitations, switching."""

from __future__ import annotations

import strawberry

from gql_auth.accounts.accounts import parse_user_id
from gql_auth.accounts.reauthentication import reauthenticate
from gql_auth.api_keys.scopes import Scope
from gql_auth.core.errors import InvalidInput, Reason, Subject
from gql_auth.core.models import Role
from gql_auth.graphql.api.inputs import (
    CreateOrganizationInput,
    InviteMemberInput,
    SetMemberRoleInput,
    UpdateOrganizationInput,
    given,
)
from gql_auth.graphql.api.organization_types import Invitation, Membership, Organization
from gql_auth.graphql.api.signin import issued
from gql_auth.graphql.api.types import AuthPayload
from gql_auth.graphql.context import Context, Info
from gql_auth.graphql.credentials import CredentialCheck, Secret
from gql_auth.graphql.key_scopes import KeyScope
from gql_auth.graphql.org_permissions import INVITATION, HasOrgRole, organization_in
from gql_auth.graphql.permissions import (
    IsAuthenticated,
    guarded_by,
    require_admin_reach,
    require_viewer,
)
from gql_auth.mail.templates import invitation_mail
from gql_auth.orgs import invitations, memberships, organizations
from gql_auth.orgs.invitations import IssuedInvitation
from gql_auth.orgs.models import OrgRole
from gql_auth.sessions import active_organization

_ADMIN_OF_INPUT = HasOrgRole(OrgRole.ADMIN, of=organization_in("input", "organization_id"))
_ADMIN_OF_ARGUMENT = HasOrgRole(OrgRole.ADMIN, of=organization_in("organization_id"))


@strawberry.type
class Query:
    @strawberry.field(
        description="The caller's organizations with their role in each, oldest membership first.",
        extensions=[*guarded_by(IsAuthenticated()), KeyScope(Scope.ORGANIZATIONS_READ)],
    )
    async def organizations(self, info: Info) -> list[Organization]:
        viewer = await require_viewer(info)
        async with info.context.db() as db:
            seen = await organizations.of_member(db, user_id=viewer.user.id)
        return [Organization.from_seen(one) for one in seen]

    @strawberry.field(
        description="Null when no such organization or the caller is not a member (a global "
        "ADMIN reads any).",
        extensions=[*guarded_by(IsAuthenticated()), KeyScope(Scope.ORGANIZATIONS_READ)],
    )
    async def organization(self, info: Info, id: strawberry.ID) -> Organization | None:
        viewer = await require_viewer(info)
        organization_id = parse_user_id(str(id))
        if organization_id is None:
            return None
        async with info.context.db() as db:
            seen = await organizations.seen_by(
                db, organization_id=organization_id, user_id=viewer.user.id
            )
        if seen is None:
            return None
        if seen.role is None:
            if not viewer.user.role.includes(Role.ADMIN):
                return None  # the same answer as for an organization that does not exist
            require_admin_reach(info, viewer)
        return Organization.from_seen(seen)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="The caller becomes its OWNER. BAD_USER_INPUT with field slug (INVALID, "
        "TAKEN) or name (REQUIRED, TOO_LONG, INVALID); BAD_USER_INPUT / LIMIT_REACHED beyond "
        "MAX_ORGANIZATIONS_PER_USER owned.",
        extensions=[*guarded_by(IsAuthenticated()), KeyScope(Scope.ORGANIZATIONS_WRITE)],
    )
    async def create_organization(self, info: Info, input: CreateOrganizationInput) -> Organization:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            seen = await organizations.create(
                db,
                user_id=viewer.user.id,
                name=input.name,
                slug=input.slug,
                max_owned=context.settings.max_organizations_per_user,
                client=context.client,
            )
        return Organization.from_seen(seen)

    @strawberry.mutation(
        description="Renames it or changes its slug. The organization's OWNER; same input "
        "errors as createOrganization.",
        extensions=[
            *guarded_by(HasOrgRole(OrgRole.OWNER, of=organization_in("input", "organization_id"))),
            KeyScope(Scope.ORGANIZATIONS_WRITE),
        ],
    )
    async def update_organization(self, info: Info, input: UpdateOrganizationInput) -> Organization:
        viewer = await require_viewer(info)
        async with info.context.db() as db:
            seen = await organizations.update(
                db,
                user_id=viewer.user.id,
                organization_id=_organization_id(input.organization_id),
                name=given(input.name),
                slug=given(input.slug),
            )
        return Organization.from_seen(seen)

    @strawberry.mutation(
        description="Deletes it with its memberships and invitations. The organization's "
        "OWNER; needs currentPassword when the account has one (a wrong one is "
        "UNAUTHENTICATED / INVALID_CREDENTIALS and counts as a failed sign-in), else a session "
        "signed in within ten minutes (FORBIDDEN / STEP_UP_REQUIRED).",
        extensions=[
            *guarded_by(HasOrgRole(OrgRole.OWNER, of=organization_in("organization_id"))),
            CredentialCheck(Secret.PASSWORD),
            KeyScope(Scope.ORGANIZATIONS_WRITE),
        ],
    )
    async def delete_organization(
        self,
        info: Info,
        organization_id: strawberry.ID,
        current_password: str | None = strawberry.UNSET,
    ) -> bool:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            await reauthenticate(
                db,
                context.services.hasher,
                context.services.rate_limits,
                user=viewer.user,
                # A key (organizations:write) deletes with the password; viewer.session would
                # close the field to keys that its scope opens.
                session_id=None if viewer.signed_in is None else viewer.signed_in.id,
                current_password=given(current_password),
                client=context.client,
            )
            await organizations.delete_organization(
                db,
                user_id=viewer.user.id,
                organization_id=_organization_id(organization_id),
                client=context.client,
            )
        return True

    @strawberry.mutation(
        description="Mails a single-use link (INVITATION_EXPIRE_DAYS, default 7) to the "
        "address; a newer invitation to the same address replaces it. Its ADMINs and OWNERs; "
        "only an OWNER invites an OWNER (else FORBIDDEN). RATE_LIMITED beyond "
        "RATE_LIMIT_INVITATIONS per organization; BAD_USER_INPUT with field email.",
        extensions=[*guarded_by(_ADMIN_OF_INPUT), KeyScope(Scope.ORGANIZATIONS_WRITE)],
    )
    async def invite_member(self, info: Info, input: InviteMemberInput) -> Invitation:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            sent = await invitations.invite(
                db,
                context.services.rate_limits,
                actor_id=viewer.user.id,
                organization_id=_organization_id(input.organization_id),
                email=input.email,
                role=input.role,
                lifetime=context.settings.invitation_lifetime,
                client=context.client,
            )
        _mail_after_commit(context, sent, inviter=viewer.user.username)
        return Invitation.from_row(sent.invitation, invited_by=viewer.user)

    @strawberry.mutation(
        description="True when a pending invitation stopped working now; false when it was "
        "already used, revoked or expired. Its ADMINs and OWNERs (an OWNER's invitation: "
        "OWNERs only).",
        extensions=[
            *guarded_by(HasOrgRole(OrgRole.ADMIN, of=INVITATION)),
            KeyScope(Scope.ORGANIZATIONS_WRITE),
        ],
    )
    async def revoke_invitation(self, info: Info, id: strawberry.ID) -> bool:
        viewer = await require_viewer(info)
        invitation_id = parse_user_id(str(id))
        if invitation_id is None:  # the permission check refused such an id already
            return False
        async with info.context.db() as db:
            return await invitations.revoke(
                db, actor_id=viewer.user.id, invitation_id=invitation_id
            )

    @strawberry.mutation(
        description="For a signed-in user whose verified address is the invitation's: else "
        "FORBIDDEN / EMAIL_MISMATCH or EMAIL_NOT_VERIFIED. An unknown, used, revoked or "
        "expired token (or one whose inviter may no longer grant its role) is BAD_USER_INPUT "
        "with field token, reason INVALID; a member already is BAD_USER_INPUT / "
        "ALREADY_MEMBER.",
        extensions=[
            *guarded_by(IsAuthenticated()),
            CredentialCheck(Secret.MAILED_TOKEN),
            KeyScope(Scope.ORGANIZATIONS_WRITE),
        ],
    )
    async def accept_invitation(self, info: Info, token: str) -> Membership:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            membership, user = await invitations.accept(
                db,
                user_id=viewer.user.id,
                token=token,
                max_owned=context.settings.max_organizations_per_user,
                client=context.client,
            )
        return Membership.from_rows(membership, user)

    @strawberry.mutation(
        description="Its ADMINs manage MEMBERs and ADMINs; only an OWNER grants or takes "
        "OWNER (else FORBIDDEN). Demoting the last OWNER is BAD_USER_INPUT / LAST_OWNER; a "
        "user who is not a member is BAD_USER_INPUT with field userId, reason NOT_FOUND.",
        extensions=[*guarded_by(_ADMIN_OF_INPUT), KeyScope(Scope.ORGANIZATIONS_WRITE)],
    )
    async def set_member_role(self, info: Info, input: SetMemberRoleInput) -> Membership:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            membership, user = await memberships.set_role(
                db,
                actor_id=viewer.user.id,
                organization_id=_organization_id(input.organization_id),
                user_id=_user_id(input.user_id),
                role=input.role,
                max_owned=context.settings.max_organizations_per_user,
                client=context.client,
            )
        return Membership.from_rows(membership, user)

    @strawberry.mutation(
        description="Its ADMINs remove MEMBERs and ADMINs; only an OWNER removes an OWNER. "
        "Removing the last OWNER is BAD_USER_INPUT / LAST_OWNER. Applies at the member's next "
        "request, whatever their tokens say.",
        extensions=[*guarded_by(_ADMIN_OF_ARGUMENT), KeyScope(Scope.ORGANIZATIONS_WRITE)],
    )
    async def remove_member(
        self, info: Info, organization_id: strawberry.ID, user_id: strawberry.ID
    ) -> bool:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            await memberships.remove(
                db,
                actor_id=viewer.user.id,
                organization_id=_organization_id(organization_id),
                user_id=_user_id(user_id),
                client=context.client,
            )
        return True

    @strawberry.mutation(
        description="The caller leaves. The last OWNER cannot (BAD_USER_INPUT / LAST_OWNER); "
        "not a member: BAD_USER_INPUT with field organizationId, reason NOT_FOUND.",
        extensions=[*guarded_by(IsAuthenticated()), KeyScope(Scope.ORGANIZATIONS_WRITE)],
    )
    async def leave_organization(self, info: Info, organization_id: strawberry.ID) -> bool:
        viewer = await require_viewer(info)
        context = info.context
        async with context.db() as db:
            await memberships.remove(
                db,
                actor_id=viewer.user.id,
                organization_id=_organization_id(organization_id),
                user_id=viewer.user.id,
                client=context.client,
            )
        return True

    @strawberry.mutation(
        description="Sets (or, with null, clears) the session's active organization and "
        "returns fresh tokens whose claims carry it (org_id, org_role); the refresh token "
        "held before is retired, as on refreshToken. Not a member: BAD_USER_INPUT with field "
        "organizationId, reason NOT_FOUND.",
        extensions=guarded_by(IsAuthenticated()),
    )
    async def switch_organization(
        self,
        info: Info,
        # Optional in GraphQL: a document may leave it out (TypeError, a 500, without a default).
        organization_id: strawberry.ID | None = strawberry.UNSET,
    ) -> AuthPayload:
        viewer = await require_viewer(info)
        context = info.context
        chosen = given(organization_id)
        async with context.db() as db:
            signed_in = await active_organization.switch(
                db,
                context.services.tokens,
                user=viewer.user,
                session_id=viewer.session.id,
                organization_id=None if chosen is None else _organization_id(chosen),
            )
        return issued(context, signed_in)


def _organization_id(value: strawberry.ID) -> int:
    """An id as clients send it; one naming no organization answers as one the caller is not in."""
    parsed = parse_user_id(str(value))
    if parsed is None:
        raise InvalidInput(Subject.ORGANIZATION_ID, Reason.NOT_FOUND, "You are not a member of it.")
    return parsed


def _user_id(value: strawberry.ID) -> int:
    parsed = parse_user_id(str(value))
    if parsed is None:
        raise InvalidInput(
            Subject.USER_ID, Reason.NOT_FOUND, "No such member in this organization."
        )
    return parsed


def _mail_after_commit(context: Context, sent: IssuedInvitation, *, inviter: str) -> None:
    """The invitation's mail goes once the invitation is saved; never inside the request."""
    mail = invitation_mail(sent, inviter=inviter, public_url=context.settings.public_url)
    context.after_commit(lambda: context.services.mailer.send_later(mail))
