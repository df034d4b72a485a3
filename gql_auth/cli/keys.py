"""gql-auth gen-key: a new ES256/RS256 signing key, and its public half for the rotation."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from gql_auth.cli.support import CommandError
from gql_auth.security.settings import ASYMMETRIC_ALGORITHMS
from gql_auth.security.signing_keys import kid_of_pem, new_private_key_pem, public_key_pem


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gen_key = commands.add_parser(
        "gen-key",
        help="write a new PEM signing key for JWT_PRIVATE_KEY_FILE (and its public key beside it)",
    )
    gen_key.add_argument(
        "--algorithm", required=True, type=str.upper, choices=sorted(ASYMMETRIC_ALGORITHMS)
    )
    gen_key.add_argument(
        "--output",
        type=Path,
        help="write the key here (mode 0600, never over an existing file) and the public "
        "key to NAME.pub.pem; without it the private key goes to stdout",
    )
    gen_key.set_defaults(handler=_gen_key)


def public_key_path(private_path: Path) -> Path:
    """Where gen-key puts the public half: keys/next.pem -> keys/next.pub.pem."""
    return private_path.with_name(f"{private_path.name.removesuffix('.pem')}.pub.pem")


def _gen_key(args: argparse.Namespace) -> int:
    private_pem = new_private_key_pem(args.algorithm)
    if args.output is None:
        sys.stdout.write(private_pem)
        return 0
    public_path = public_key_path(args.output)
    _write_new(args.output, private_pem, mode=0o600)
    _write_new(public_path, public_key_pem(private_pem), mode=0o644)
    kid = kid_of_pem(private_pem, args.algorithm)
    print(f"wrote {args.output} (private, 0600) and {public_path} (public); kid {kid}")
    return 0


def _write_new(path: Path, text: str, *, mode: int) -> None:
    # O_EXCL: an existing key (perhaps the one in use) is never overwritten;
    # O_NOFOLLOW: nor is a file a planted symlink points to.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError:
        raise CommandError(f"{path} exists; refusing to overwrite a key") from None
    except OSError as error:
        raise CommandError(f"{path}: cannot write it ({error.strerror})") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
