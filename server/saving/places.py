"""Where results may be saved, and what a `save_to` names inside those places.

The allowed places are the directories of `outputs.dirs` and, when `outputs.use_client_roots` is on, the client's
declared roots (`file://` directories). A `save_to` is a path: relative paths are taken inside the first place (a
client's first root is its project), absolute paths must lie inside one of them (compared component by component, so
`/allowed_evil` is not inside `/allowed`). `..`, NUL bytes and symbolic links anywhere below the place are refused;
the checks here run before anything is sent upstream, and the writer (`server.saving.writer`) repeats them on the
file system itself when it writes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from urllib.parse import unquote, urlsplit

from server.errors import InvalidInput

__all__ = ["Place", "Target", "places_of", "resolve_target"]

_MAX_PATH = 1024


@dataclass(frozen=True)
class Place:
    """One directory results may be written into."""

    root: Path
    """The directory, resolved (symbolic links in the configured path itself are the operator's choice)."""
    origin: str
    """Where it was allowed: 'outputs.dirs' or 'client root'."""
    named: Path
    """The directory as configured or declared, before resolving (an absolute save_to may use either spelling)."""


@dataclass(frozen=True)
class Target:
    """A validated `save_to`: a directory inside a place, and the file name when it names a file."""

    place: Place
    parts: tuple[str, ...]
    """The directories below the place's root, one name each (none of them `..` or a link)."""
    filename: str | None
    """The file name when `save_to` names a file; None when it names a directory."""
    asked: str
    """The `save_to` as given."""

    @property
    def directory(self) -> Path:
        """The directory the files go into."""
        return self.place.root.joinpath(*self.parts)

    def describe(self) -> str:
        """The target as an absolute path, for messages."""
        return str(self.directory / self.filename) if self.filename else f"{self.directory}{os.sep}"


def _directory(path: Path, origin: str) -> Place | None:
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_dir() or resolved == Path(resolved.anchor):
        # A client declaring the whole file system as its root does not make every file writable.
        return None
    return Place(root=resolved, origin=origin, named=path)


def places_of(dirs: Iterable[str], roots: Iterable[str] = ()) -> list[Place]:
    """The allowed places: the client's roots first (its first root is its project, where relative paths land), then
    the configured directories. Missing directories, non-`file:` roots and the file system's root are left out."""
    places: list[Place] = []
    for uri in roots:
        parts = urlsplit(uri)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            continue
        place = _directory(Path(unquote(parts.path)), "client root")
        if place is not None:
            places.append(place)
    for entry in dirs:
        place = _directory(Path(entry).expanduser(), "outputs.dirs")
        if place is not None:
            places.append(place)
    unique: dict[Path, Place] = {}
    for place in places:
        unique.setdefault(place.root, place)
    return list(unique.values())


def _relative_to(path: PurePath, places: Sequence[Place]) -> tuple[Place, PurePath] | None:
    for place in places:
        for base in (place.named, place.root):
            if base.is_absolute() and path.is_relative_to(base):
                return place, path.relative_to(base)
    return None


def _refuse(save_to: str, why: str) -> InvalidInput:
    return InvalidInput(f"save_to '{save_to[:200]}': {why} Nothing was sent upstream.")


def resolve_target(save_to: str, places: Sequence[Place], *, overwrite: bool) -> Target:
    """Validate `save_to` against the allowed places (and what is on disk now).

    Raises:
        InvalidInput: saving is off, or the path is outside every place, climbs out (`..`), goes through a link or
            something that is not a directory, or names an existing file (without `overwrite`) or a device.
    """
    text = save_to.strip()
    if not text:
        raise _refuse(save_to, "empty path.")
    if "\x00" in text or len(text) > _MAX_PATH:
        raise _refuse(save_to, "not a usable path (NUL byte, or longer than 1024 characters).")
    if not places:
        raise _refuse(
            save_to,
            "saving is off: no directory allows it. The operator lists them in outputs.dirs, or a client that "
            "declares its roots (its project folder) allows those when outputs.use_client_roots is on.",
        )
    path = PurePath(text)
    if ".." in path.parts:
        raise _refuse(save_to, "'..' is not allowed; give a path inside the allowed directories.")
    if path.is_absolute():
        found = _relative_to(path, places)
        if found is None:
            allowed = ", ".join(str(place.root) for place in places)
            raise _refuse(save_to, f"outside the directories results may be saved into ({allowed}).")
        place, relative = found
    else:
        place, relative = places[0], path
    names = [part for part in relative.parts if part not in ("", ".")]
    names_a_directory = text.endswith(("/", os.sep)) or not names
    target = Target(
        place=place,
        parts=tuple(names if names_a_directory else names[:-1]),
        filename=None if names_a_directory else names[-1],
        asked=save_to,
    )
    return _checked_on_disk(target, overwrite=overwrite)


def _checked_on_disk(target: Target, *, overwrite: bool) -> Target:
    """Look at what exists along the target now (the writer checks again, on the open directories)."""
    current = target.place.root
    for name in target.parts:
        current = current / name
        try:
            info = current.lstat()
        except FileNotFoundError:
            return target  # created when the files are written
        if stat.S_ISLNK(info.st_mode):
            raise _refuse(target.asked, f"{current} is a symbolic link; genmcp never writes through links.")
        if not stat.S_ISDIR(info.st_mode):
            raise _refuse(target.asked, f"{current} exists and is not a directory.")
    if target.filename is None:
        return target
    path = current / target.filename
    try:
        info = path.lstat()
    except FileNotFoundError:
        return target
    if stat.S_ISDIR(info.st_mode):
        return Target(place=target.place, parts=(*target.parts, target.filename), filename=None, asked=target.asked)
    if stat.S_ISLNK(info.st_mode):
        raise _refuse(target.asked, f"{path} is a symbolic link; genmcp never writes through links.")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(target.asked, f"{path} is a device or special file, not a regular file.")
    if not overwrite:
        raise _refuse(target.asked, f"{path} already exists; pass overwrite: true to replace it.")
    return target
