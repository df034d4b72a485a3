"""Operator commands on organizations: orgs, org-add-member."""

from __future__ import annotations

import argparse

from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.accounts import accounts
from gql_auth.cli.support import CommandError, run_in_transaction
from gql_auth.core.client_info import NO_CLIENT
from gql_auth.core.errors import DomainError
from gql_auth.orgs import memberships, organizations
from gql_auth.orgs.models import Organization, OrgRole
from gql_auth.services import Services
from gql_auth.settings import load_settings

# Typed in lower case, any case accepted.
ORG_ROLE_CHOICES = [role.value.lower() for role in OrgRole]


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser("orgs", help="list organizations with their slugs")
    listing.set_defaults(handler=_list_organizations)

    add_member = commands.add_parser(
        "org-add-member", help="add a user to an organization (default role: member)"
    )
    add_member.add_argument("slug", metavar="SLUG")
    add_member.add_argument("user", metavar="USERNAME_OR_EMAIL")
    add_member.add_argument(
        "--role", type=str.lower, choices=ORG_ROLE_CHOICES, default=OrgRole.MEMBER.value.lower()
    )
    add_member.set_defaults(handler=_add_member)


def _list_organizations(_args: argparse.Namespace) -> int:
    async def collect(db: AsyncSession, _services: Services) -> list[tuple[Organization, int]]:
        return list(await organizations.all_organizations(db))

    rows = run_in_transaction(load_settings(), collect)
    print(f"{'ID':>6}  {'SLUG':<63}  {'MEMBERS':>7}  NAME")
    for organization, members in rows:
        print(f"{organization.id:>6}  {organization.slug:<63}  {members:>7}  {organization.name}")
    print(f"{len(rows)} organization(s)")
    return 0


def _add_member(args: argparse.Namespace) -> int:
    settings = load_settings()
    role = OrgRole(args.role.upper())

    async def add(db: AsyncSession, _services: Services) -> None:
        organization = await organizations.by_slug(db, args.slug)
        if organization is None:
            raise CommandError(f"no organization with slug {args.slug!r}")
        user = await accounts.find_by_login(db, args.user)
        if user is None:
            raise CommandError(f"no user with username or e-mail {args.user!r}")
        await memberships.join(
            db,
            organization_id=organization.id,
            user_id=user.id,
            role=role,
            max_owned=settings.max_organizations_per_user,
            client=NO_CLIENT,
        )

    try:
        run_in_transaction(settings, add)
    except DomainError as error:
        raise CommandError(str(error)) from None
    print(f"{args.user} is now {role.value} of {args.slug}")
    return 0
