"""Writing files into an allowed place without ever leaving it.

The directories below the place are opened one by one from the place's own directory, relative to the one before
(`dir_fd`) and with `O_NOFOLLOW`, so a symbolic link swapped in after the checks cannot redirect a write; missing
ones are created. A file is written under a temporary name in its directory and then linked to its final name
(`link` fails when the name exists: nothing is replaced unless `overwrite`), so a half-written file never appears
under the name asked for. With `overwrite`, the existing entry must be a regular file and is replaced atomically.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from server.errors import InvalidInput

__all__ = ["SaveRefused", "open_directory", "write_file"]

_DIRECTORY_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


class SaveRefused(InvalidInput):
    """A file could not be written where it was asked (the message says why)."""


@contextlib.contextmanager
def open_directory(root: Path, parts: tuple[str, ...]) -> Iterator[int]:
    """An open descriptor of `root/parts…`, each directory opened relative to the last without following links
    (and created when missing)."""
    fds = [os.open(root, _DIRECTORY_FLAGS)]
    try:
        for name in parts:
            if name in ("", ".", "..") or "/" in name or "\x00" in name:
                raise SaveRefused(f"'{name}' is not a directory name genmcp writes into.")
            try:
                fds.append(os.open(name, _DIRECTORY_FLAGS, dir_fd=fds[-1]))
            except FileNotFoundError:
                with contextlib.suppress(FileExistsError):  # another save created it meanwhile
                    os.mkdir(name, 0o755, dir_fd=fds[-1])
                fds.append(os.open(name, _DIRECTORY_FLAGS, dir_fd=fds[-1]))
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise SaveRefused(f"'{name}' is a symbolic link or not a directory; nothing was written.") from exc
                raise
        yield fds[-1]
    finally:
        for fd in fds:
            os.close(fd)


def _existing(directory: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _holds(directory: int, name: str, data: bytes, size: int) -> bool:
    """Whether the regular file `name` already holds exactly `data` (a save repeated after a restart)."""
    if size != len(data):
        return False
    fd = os.open(name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0), dir_fd=directory)
    with os.fdopen(fd, "rb", closefd=True) as source:
        return source.read(len(data) + 1) == data


def write_file(directory: int, name: str, data: bytes, *, overwrite: bool) -> None:
    """Write `data` as `name` in the open `directory` (a file already holding exactly `data` counts as written).

    Raises:
        SaveRefused: the name exists (without `overwrite`), or is a link, a directory or a device.
    """
    if not name or name in (".", "..") or "/" in name or "\x00" in name:
        raise SaveRefused(f"'{name}' is not a file name genmcp writes.")
    existing = _existing(directory, name)
    if existing is not None:
        if not stat.S_ISREG(existing.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(existing.st_mode) else "not a regular file"
            raise SaveRefused(f"'{name}' exists and is {kind}; nothing was written.")
        if _holds(directory, name, data, existing.st_size):
            return
        if not overwrite:
            raise SaveRefused(f"'{name}' already exists; pass overwrite: true to replace it.")
    temporary = f".{name[:80]}.{secrets.token_hex(6)}.genmcp-partial"
    fd = os.open(temporary, _CREATE_FLAGS, 0o644, dir_fd=directory)
    try:
        with os.fdopen(fd, "wb", closefd=True) as sink:
            sink.write(data)
        if overwrite:
            os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
            return
        try:
            os.link(temporary, name, src_dir_fd=directory, dst_dir_fd=directory, follow_symlinks=False)
        except FileExistsError as exc:
            raise SaveRefused(f"'{name}' already exists; pass overwrite: true to replace it.") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=directory)
