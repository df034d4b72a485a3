"""The `gql-auth` command: serve, migrate and operator tasks, each failing in one line."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import secrets
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth import accounts, sessions
from gql_auth.audit import NO_CLIENT
from gql_auth.config import Settings, SettingsError, load_settings
from gql_auth.errors import DomainError, InvalidInput
from gql_auth.metrics import MULTIPROCESS_ENV
from gql_auth.models import Role
from gql_auth.services import Services, build_services

T = TypeVar("T")


class CommandError(Exception):
    """Ends the command with exit status 1 and this one line on stderr."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result: int = args.handler(args)
    except (CommandError, SettingsError) as error:
        print(f"gql-auth: {error}", file=sys.stderr)
        return 1
    except DBAPIError as error:
        print(f"gql-auth: database error: {_one_line(error.orig)}", file=sys.stderr)
        return 1
    except SQLAlchemyError as error:
        print(f"gql-auth: database error: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return result


def _one_line(error: object) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gql-auth", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API under uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--reload", action="store_true", help="restart on code changes (development)"
    )
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="upgrade DATABASE_URL to the latest schema")
    migrate.set_defaults(handler=_migrate)

    create_admin = commands.add_parser("create-admin", help="create an ADMIN account")
    create_admin.add_argument("--username", required=True)
    create_admin.add_argument("--email", required=True)
    create_admin.set_defaults(handler=_create_admin)

    set_role = commands.add_parser("set-role", help="change a user's role")
    set_role.add_argument("user", metavar="USERNAME_OR_EMAIL")
    set_role.add_argument("role", type=str.lower, choices=["user", "admin"])
    set_role.set_defaults(handler=_set_role)

    export = commands.add_parser("export-schema", help="print the SDL the code defines")
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")
    export.set_defaults(handler=_export_schema)

    prune = commands.add_parser("prune", help="delete expired sessions (run it daily)")
    prune.set_defaults(handler=_prune)

    gen_secret = commands.add_parser("gen-secret", help="print a new 256-bit url-safe secret")
    gen_secret.set_defaults(handler=_gen_secret)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = load_settings()  # fail here, in one line, before any worker starts
    settings.signing_key()  # development: create the key file once, not once per worker
    if args.workers < 1:
        raise CommandError("--workers must be at least 1")
    if settings.metrics_enabled and args.workers > 1 and not os.environ.get(MULTIPROCESS_ENV):
        # Workers write their samples here and /metrics adds them up (prometheus-client).
        os.environ[MULTIPROCESS_ENV] = tempfile.mkdtemp(prefix="gql-auth-metrics-")
    uvicorn.run(
        "gql_auth.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=None if args.reload else args.workers,
        reload=args.reload,
        proxy_headers=False,  # TRUSTED_PROXIES decides whom to believe, not uvicorn
        log_level=settings.log_level.lower(),
        access_log=False,  # gql_auth.requests logs one richer line per request
        timeout_graceful_shutdown=30,  # SIGTERM: stop accepting, let in-flight requests finish
    )
    return 0


def alembic_directory() -> Path:
    """Migrations ship inside the wheel; a checkout has them at the top level."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_alembic", package.parent / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise CommandError("migrations not found: the installation is incomplete")


def _migrate(_args: argparse.Namespace) -> int:
    from alembic.config import Config

    from alembic import command

    settings = load_settings()
    config = Config()
    config.set_main_option("script_location", str(alembic_directory()))
    # Percent signs in passwords would be read as interpolation by configparser.
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    command.upgrade(config, "head")
    print("database is at the latest schema")
    return 0


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
        _run_in_transaction(settings, create)
    except InvalidInput as error:
        if error.reason == "TAKEN":
            raise CommandError(f"a user with this {error.field} already exists") from None
        raise CommandError(f"{error.field}: {error}") from None
    print(f"created admin {args.username}")
    return 0


def _set_role(args: argparse.Namespace) -> int:
    role = Role(args.role.upper())

    async def change(db: AsyncSession, _services: Services) -> None:
        await accounts.set_role(db, login=args.user, role=role)

    try:
        _run_in_transaction(load_settings(), change)
    except DomainError as error:
        raise CommandError(str(error)) from None
    print(f"{args.user} is now {role.value}")
    return 0


def _prune(_args: argparse.Namespace) -> int:
    async def prune(db: AsyncSession, _services: Services) -> int:
        return await sessions.prune_expired(db)

    print(f"deleted {_run_in_transaction(load_settings(), prune)} expired sessions")
    return 0


def _export_schema(args: argparse.Namespace) -> int:
    from gql_auth.graphql.schema import export_sdl

    sdl = export_sdl()
    if args.output is None:
        sys.stdout.write(sdl)
    else:
        args.output.write_text(sdl)
    return 0


def _gen_secret(_args: argparse.Namespace) -> int:
    print(secrets.token_urlsafe(32))
    return 0


def _run_in_transaction(
    settings: Settings, work: Callable[[AsyncSession, Services], Awaitable[T]]
) -> T:
    async def run() -> T:
        services = build_services(settings)
        try:
            async with services.session_factory() as db, db.begin():
                return await work(db, services)
        finally:
            await services.aclose()

    return asyncio.run(run())
