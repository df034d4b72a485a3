"""The `gql-auth` command: serve, migrate and operator tasks, each failing in one line."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from gql_auth import retention
from gql_auth.cli import api_keys, keys, orgs, users, webhooks
from gql_auth.cli.support import CommandError, run_in_transaction
from gql_auth.core.database import create_private_sqlite_file, shared_sqlite_file_mode
from gql_auth.core.errors import SettingsError
from gql_auth.observability.metrics import MULTIPROCESS_ENV
from gql_auth.security.signing_keys import load_signing_keys
from gql_auth.services import Services
from gql_auth.settings import load_settings


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

    users.add_commands(commands)

    export = commands.add_parser("export-schema", help="print the SDL the code defines")
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")
    export.set_defaults(handler=_export_schema)

    prune = commands.add_parser(
        "prune",
        help="delete what expired or aged out: sessions, security events, invitations, API "
        "keys, webhook events (run it daily)",
    )
    prune.set_defaults(handler=_prune)

    gen_secret = commands.add_parser("gen-secret", help="print a new 256-bit url-safe secret")
    gen_secret.set_defaults(handler=_gen_secret)

    keys.add_commands(commands)
    orgs.add_commands(commands)
    api_keys.add_commands(commands)
    webhooks.add_commands(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = load_settings()  # fail here, in one line, before any worker starts
    # Development: create the key file once, not once per worker; a bad key fails here.
    load_signing_keys(settings)
    if settings.trusted_documents_file is not None:
        from gql_auth.graphql.schema import build_schema

        build_schema(settings)  # a bad manifest entry fails here, in one line naming it
    shared = shared_sqlite_file_mode(settings.database_url)
    if shared is not None:
        print(
            f"gql-auth: warning: the SQLite database has mode {shared:04o}, so other users "
            "may read it; chmod 600 it (and its -wal and -shm files)",
            file=sys.stderr,
        )
    if args.workers < 1:
        raise CommandError("--workers must be at least 1")
    if settings.metrics_enabled and args.workers > 1 and not os.environ.get(MULTIPROCESS_ENV):
        # Workers write their samples here and /metrics adds them up (prometheus-client).
        os.environ[MULTIPROCESS_ENV] = tempfile.mkdtemp(prefix="gql-auth-metrics-")
    uvicorn.run(
        "gql_auth.web.app:app_from_environment",
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
    package = Path(__file__).resolve().parent.parent  # gql_auth/
    for candidate in (package / "_alembic", package.parent / "alembic"):
        if (candidate / "env.py").is_file():
            return candidate
    raise CommandError("migrations not found: the installation is incomplete")


def _migrate(_args: argparse.Namespace) -> int:
    from alembic import command
    from alembic.config import Config

    settings = load_settings()
    create_private_sqlite_file(settings.database_url)  # before SQLite creates it 0644
    config = Config()
    config.set_main_option("script_location", str(alembic_directory()))
    # Percent signs in passwords would be read as interpolation by configparser.
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    command.upgrade(config, "head")
    print("database is at the latest schema")
    return 0


def _prune(_args: argparse.Namespace) -> int:
    settings = load_settings()
    days = settings.security_event_retention_days
    webhook_days = settings.webhook_event_retention_days

    async def prune(db: AsyncSession, _services: Services) -> retention.Pruned:
        return await retention.prune(
            db,
            event_retention=timedelta(days=days),
            webhook_retention=timedelta(days=webhook_days),
        )

    pruned = run_in_transaction(settings, prune)
    print(f"deleted {pruned.sessions} expired sessions")
    print(f"deleted {pruned.retired_tokens} retired refresh tokens of expired or deleted sessions")
    print(f"deleted {pruned.security_events} security events older than {days} days")
    print(f"deleted {pruned.mfa_challenges} expired mfa tokens of unfinished sign-ins")
    print(f"deleted {pruned.social_states} expired states of unfinished social sign-ins")
    print(f"deleted {pruned.invitations} expired invitations of organizations")
    print(f"deleted {pruned.api_keys} API keys older than {days} days since revoked or expired")
    print(
        f"deleted {pruned.webhook_events} webhook events older than {webhook_days} days "
        "with every delivery ended"
    )
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
