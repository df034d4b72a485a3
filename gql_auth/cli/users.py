"""Operator commands on accounts: create-admin, set-role, users, (de)activate, reset-mfa."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.accounts import accounts, admin
from gql_auth.cli.support import CommandError, run_in_transaction
from gql_auth.core.client_info import NO_CLIENT
from gql_auth.core.errors import DomainError, InvalidInput, Reason, UserNotFound
from gql_auth.core.models import Role
from gql_auth.factors import factors
from gql_auth.services import Services
from gql_auth.settings import load_settings
from gql_auth.users.models import User

# Typed in lower case, any case accepted: "user", "admin", and whatever Role gains.
ROLE_CHOICES = [role.value.lower() for role in Role]


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create_admin = commands.add_parser("create-admin", help="create an ADMIN account")
    create_admin.add_argument("--username", required=True)
    create_admin.add_argument("--email", required=True)
    create_admin.set_defaults(handler=_create_admin)

    set_role = commands.add_parser("set-role", help="change a user's role")
    set_role.add_argument("user", metavar="USERNAME_OR_EMAIL")
    set_role.add_argument("role", type=str.lower, choices=ROLE_CHOICES)
    set_role.set_defaults(handler=_set_role)

    users = commands.add_parser("users", help="list users")
    users.add_argument("--role", type=str.lower, choices=ROLE_CHOICES)
    users.add_argument("--search", help="part of a username or e-mail, any case")
    users.set_defaults(handler=_list_users)

    for name, active in (("deactivate", False), ("activate", True)):
        command = commands.add_parser(name, help=f"{name} an account")
        command.add_argument("user", metavar="USERNAME_OR_EMAIL")
        command.set_defaults(handler=_set_active, active=active)

    reset_mfa = commands.add_parser(
        "reset-mfa", help="remove a user's second factors (TOTP, recovery codes) after a lost phone"
    )
    reset_mfa.add_argument("user", metavar="USERNAME_OR_EMAIL")
    reset_mfa.set_defaults(handler=_reset_mfa)


def _read_new_password() -> str:
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("no password on standard input")
        return password
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Repeat password: "):
        raise CommandError("the passwords do not match")
    return password


def _create_admin(args: argparse.Namespace) -> int:
    settings = load_settings()
    password = _read_new_password()

    async def create(db: AsyncSession, services: Services) -> None:
        await accounts.register(
            db,
            services.hasher,
            username=args.username,
            email=args.email,
            password=password,
            password_min_length=settings.password_min_length,
            client=NO_CLIENT,
            role=Role.ADMIN,
        )

    try:
        run_in_transaction(settings, create)
    except InvalidInput as error:
        if error.reason is Reason.TAKEN:
            raise CommandError(f"a user with this {error.subject} already exists") from None
        raise CommandError(f"{error.subject}: {error}") from None
    print(f"created admin {args.username}")
    return 0


async def _find(db: AsyncSession, login: str) -> User:
    user = await accounts.find_by_login(db, login)
    if user is None:
        raise UserNotFound(f"no user with username or e-mail {login!r}")
    return user


def _set_role(args: argparse.Namespace) -> int:
    role = Role(args.role.upper())

    async def change(db: AsyncSession, _services: Services) -> None:
        user = await _find(db, args.user)
        await admin.set_role(db, user_id=str(user.id), role=role, client=NO_CLIENT)

    _run_refusing_in_one_line(change)
    print(f"{args.user} is now {role.value}")
    return 0


def _set_active(args: argparse.Namespace) -> int:
    async def change(db: AsyncSession, _services: Services) -> None:
        user = await _find(db, args.user)
        await admin.set_active(db, user_id=str(user.id), active=args.active, client=NO_CLIENT)

    _run_refusing_in_one_line(change)
    state = "active" if args.active else "deactivated; its sessions are revoked"
    print(f"{args.user} is {state}")
    return 0


def _reset_mfa(args: argparse.Namespace) -> int:
    async def reset(db: AsyncSession, _services: Services) -> factors.Removed:
        user = await _find(db, args.user)
        return await factors.remove_all(db, user=user, client=NO_CLIENT)

    try:
        removed = run_in_transaction(load_settings(), reset)
    except DomainError as error:
        raise CommandError(str(error)) from None
    if not removed.anything:
        print(f"{args.user} has no second factor; nothing changed")
        return 0
    parts = [
        name if name == factors.TOTP.name else f"{count} {name}(s)"
        for name, count in removed.counts.items()
        if count
    ]
    print(f"removed {', '.join(parts)} of {args.user}; password sign-in needs no second factor now")
    return 0


def _run_refusing_in_one_line(work: Callable[[AsyncSession, Services], Awaitable[None]]) -> None:
    try:
        run_in_transaction(load_settings(), work)
    except DomainError as error:
        raise CommandError(str(error)) from None


def _list_users(args: argparse.Namespace) -> int:
    role = Role(args.role.upper()) if args.role else None

    async def collect(db: AsyncSession, _services: Services) -> list[User]:
        found: list[User] = []
        after: str | None = None
        while True:
            page = await admin.list_users(
                db, first=admin.MAX_PAGE_SIZE, after=after, role=role, search=args.search
            )
            found.extend(page.users)
            if not page.has_next_page:
                return found
            after = admin.encode_cursor(page.users[-1].id)

    rows = run_in_transaction(load_settings(), collect)
    print(f"{'ID':>6}  {'USERNAME':<32}  {'ROLE':<5}  {'ACTIVE':<6}  {'VERIFIED':<8}  EMAIL")
    for user in rows:
        print(
            f"{user.id:>6}  {user.username:<32}  {user.role.value:<5}  "
            f"{'yes' if user.is_active else 'no':<6}  "
            f"{'yes' if user.email_verified else 'no':<8}  {user.email}"
        )
    print(f"{len(rows)} user(s)")
    return 0
