"""Key files only this user can read: the development SECRET_KEY and the PEM signing keys.

Each is opened without following symlinks and checked on the open file (owner,
mode, a regular file), so nothing can be swapped in between the check and the read.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from gql_auth.core.errors import SettingsError

# The shortest secret accepted anywhere: SECRET_KEY, TOTP_ENCRYPTION_KEY, INTROSPECTION_SECRET.
MIN_SECRET_BYTES = 32


def development_secret(path: Path) -> str:
    """The key kept in `path`, created 0600 on first use; a file others could read is refused."""
    key = _read_private_file(path)
    if key is not None and len(key.encode()) >= MIN_SECRET_BYTES:
        return key
    new_key = secrets.token_urlsafe(32)
    # O_NOFOLLOW: a symlink planted here is never written through. O_EXCL: nor is a file
    # that appeared since we looked; a short key of our own is replaced in place.
    exists = key is not None
    flags = os.O_WRONLY | os.O_NOFOLLOW | (os.O_TRUNC if exists else os.O_CREAT | os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:  # another process created it meanwhile: theirs wins
        theirs = _read_private_file(path)
        if theirs is None or len(theirs.encode()) < MIN_SECRET_BYTES:
            raise SettingsError(f"SECRET_KEY_FILE {path} changed while being created") from None
        return theirs
    except OSError as error:
        raise SettingsError(f"SECRET_KEY_FILE {path}: cannot write it ({error.strerror})") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(new_key + "\n")
    return new_key


def read_private_file(path: Path, *, setting: str) -> str | None:
    """A key file's text, or None when there is none; SettingsError unless only we can read it."""
    return _read_private_file(path, setting)


def create_private_file(path: Path, text: str, *, setting: str) -> str:
    """Writes a new key file (0600) unless one appeared meanwhile; returns the one that is there.

    Written aside and hard-linked into place: a reader never sees half a
    key, a symlink planted at `path` is never written through, and of two
    processes creating it at once the first link wins for both.
    """
    aside = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        raise SettingsError(f"{setting} {path}: cannot write it ({error.strerror})") from None
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process was first: its key is the key
        except OSError as error:
            raise SettingsError(f"{setting} {path}: cannot write it ({error.strerror})") from None
    finally:
        aside.unlink(missing_ok=True)
    theirs = _read_private_file(path, setting)
    if theirs is None:
        raise SettingsError(f"{setting} {path} vanished while being created")
    return theirs


def _read_private_file(path: Path, setting: str = "SECRET_KEY_FILE") -> str | None:
    """The file's text, or None when there is none; SettingsError unless only we can read it."""
    try:
        # O_NONBLOCK: a FIFO planted here must not hang the start-up.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise SettingsError(
                f"{setting} {path} is a symbolic link; refusing to follow it"
            ) from None
        raise SettingsError(f"{setting} {path}: cannot read it ({error.strerror})") from None
    try:
        _check_private(path, os.fstat(fd), setting)
    except SettingsError:
        os.close(fd)
        raise
    with os.fdopen(fd) as handle:
        return handle.read().strip()


def _check_private(path: Path, info: os.stat_result, setting: str) -> None:
    # Checked on the open file, not the name: nothing can be swapped in between.
    if not stat.S_ISREG(info.st_mode):
        raise SettingsError(f"{setting} {path} is not a regular file")
    if info.st_uid != os.geteuid():
        remedy = "delete it or set SECRET_KEY" if setting == "SECRET_KEY_FILE" else "chown it"
        raise SettingsError(
            f"{setting} {path} is owned by another user (uid {info.st_uid}); {remedy}"
        )
    if info.st_mode & 0o077:
        raise SettingsError(
            f"{setting} {path} has mode {stat.S_IMODE(info.st_mode):04o}, so other "
            f"users may read the key; run chmod 600 {path}, or delete it for a new key"
        )
