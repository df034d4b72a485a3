"""Operator commands on webhooks: webhooks."""

from __future__ import annotations

import argparse
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.cli.support import run_in_transaction
from gql_auth.services import Services
from gql_auth.settings import load_settings
from gql_auth.webhooks import stats
from gql_auth.webhooks.stats import EndpointStats


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser(
        "webhooks",
        help="list webhook endpoints with their pending, succeeded and failed deliveries",
    )
    listing.set_defaults(handler=_list_endpoints)


def _list_endpoints(_args: argparse.Namespace) -> int:
    async def collect(db: AsyncSession, _services: Services) -> list[EndpointStats]:
        return await stats.endpoint_stats(db)

    rows = run_in_transaction(load_settings(), collect)
    print(
        f"{'ID':>6}  {'ENABLED':<7}  {'PENDING':>7}  {'SUCCEEDED':>9}  {'FAILED':>7}  "
        f"{'FAILING SINCE':<17}  URL  EVENTS"
    )
    for row in rows:
        endpoint = row.endpoint
        enabled = "yes" if endpoint.enabled else "no"
        events = endpoint.event_types or "all"
        print(
            f"{endpoint.id:>6}  {enabled:<7}  {row.pending:>7}  {row.succeeded:>9}  "
            f"{row.failed:>7}  {_since(endpoint.failing_since):<17}  {endpoint.url}  {events}"
        )
    print(f"{len(rows)} endpoint(s)")
    return 0


def _since(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%dT%H:%MZ")
