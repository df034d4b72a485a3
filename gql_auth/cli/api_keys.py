"""Operator commands on API keys: api-keys, revoke-api-key."""

from __future__ import annotations

import argparse

from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.api_keys import keys
from gql_auth.api_keys.models import ApiKey
from gql_auth.cli.support import CommandError, run_in_transaction
from gql_auth.core.client_info import NO_CLIENT
from gql_auth.services import Services
from gql_auth.settings import load_settings
from gql_auth.users.models import User


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser("api-keys", help="list live API keys (never their secrets)")
    listing.set_defaults(handler=_list_keys)

    revoke = commands.add_parser("revoke-api-key", help="revoke an API key by its id")
    revoke.add_argument("id", type=int, metavar="ID")
    revoke.set_defaults(handler=_revoke_key)


def _list_keys(_args: argparse.Namespace) -> int:
    async def collect(db: AsyncSession, _services: Services) -> list[tuple[ApiKey, User]]:
        return list(await keys.list_all(db))

    rows = run_in_transaction(load_settings(), collect)
    print(
        f"{'ID':>6}  {'USER':<32}  {'PREFIX':<8}  {'EXPIRES':<10}  {'LAST USED':<10}  NAME  SCOPES"
    )
    for key, user in rows:
        expires = key.expires_at.date().isoformat() if key.expires_at else "never"
        used = key.last_used_at.date().isoformat() if key.last_used_at else "never"
        print(
            f"{key.id:>6}  {user.username:<32}  {key.prefix:<8}  {expires:<10}  {used:<10}  "
            f"{key.name}  {key.scopes}"
        )
    print(f"{len(rows)} key(s)")
    return 0


def _revoke_key(args: argparse.Namespace) -> int:
    async def revoke(db: AsyncSession, _services: Services) -> bool:
        return await keys.revoke(db, key_id=args.id, owner_id=None, client=NO_CLIENT)

    if not run_in_transaction(load_settings(), revoke):
        raise CommandError(f"no live API key with id {args.id}")
    print(f"API key {args.id} is revoked; it stops working at its next request")
    return 0
