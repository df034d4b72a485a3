"""What every `gql-auth` command shares: the one-line error and a transaction runner."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth.audit import audit
from gql_auth.services import Services, build_services
from gql_auth.settings import Settings

T = TypeVar("T")


class CommandError(Exception):
    """Ends the command with exit status 1 and this one line on stderr."""


def run_in_transaction(
    settings: Settings, work: Callable[[AsyncSession, Services], Awaitable[T]]
) -> T:
    """Runs `work` in one committed transaction, the way a request would.

    As after a request, the owners hear of what was committed (an operator's
    reset-mfa too); closing the services waits for those mails.
    """

    async def run() -> T:
        services = build_services(settings)
        try:
            async with services.session_factory() as db:
                async with db.begin():
                    result = await work(db, services)
                services.notifier.tell(audit.recorded(db))
            return result
        finally:
            await services.aclose()

    return asyncio.run(run())
