"""Where `save_to` may point, and the writer that never leaves the allowed place (checked by listing the tree)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from server.errors import InvalidInput
from server.saving.places import places_of, resolve_target
from server.saving.writer import SaveRefused, open_directory, write_file


def tree(root: Path) -> list[str]:
    """Every entry under `root`, relative, sorted (links shown as links)."""
    return sorted(
        str(path.relative_to(root)) + ("@" if path.is_symlink() else "/" if path.is_dir() else "")
        for path in root.rglob("*")
    )


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """An allowed directory `project`, and `outside` beside it (with a prefix-trick sibling `project_evil`)."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (tmp_path / "project_evil").mkdir()
    return project, outside


def test_relative_paths_land_inside_the_first_place(layout: tuple[Path, Path]) -> None:
    project, _ = layout
    target = resolve_target("public/icons/logo.png", places_of([str(project)]), overwrite=False)
    assert target.directory == project.resolve() / "public" / "icons"
    assert target.filename == "logo.png"
    folder = resolve_target("public/", places_of([str(project)]), overwrite=False)
    assert (folder.directory, folder.filename) == (project.resolve() / "public", None)


def test_a_client_root_comes_first_and_absolute_paths_inside_any_place_are_accepted(
    layout: tuple[Path, Path], tmp_path: Path
) -> None:
    project, outside = layout
    places = places_of([str(outside)], [project.resolve().as_uri()])
    assert [place.origin for place in places] == ["client root", "outputs.dirs"]
    assert resolve_target("a.png", places, overwrite=False).directory == project.resolve()
    inside_outside = resolve_target(str(outside / "b.png"), places, overwrite=False)
    assert inside_outside.place.origin == "outputs.dirs"


@pytest.mark.parametrize(
    ("save_to", "reason"),
    [
        ("../outside/x.png", "'..' is not allowed"),
        ("public/../../x.png", "'..' is not allowed"),
        ("{outside}/x.png", "outside the directories"),
        ("{root}_evil/x.png", "outside the directories"),
        ("/etc/passwd", "outside the directories"),
        ("/dev/null", "outside the directories"),
        ("a\x00b.png", "NUL byte"),
        ("", "empty path"),
    ],
)
def test_paths_outside_or_climbing_out_are_refused(layout: tuple[Path, Path], save_to: str, reason: str) -> None:
    project, outside = layout
    asked = save_to.format(outside=outside, root=project)
    with pytest.raises(InvalidInput, match=reason):
        resolve_target(asked, places_of([str(project)]), overwrite=False)


def test_symlinks_leading_out_existing_files_and_devices_are_refused(layout: tuple[Path, Path]) -> None:
    project, outside = layout
    places = places_of([str(project)])
    (project / "escape").symlink_to(outside)
    (project / "link.png").symlink_to(outside / "target.png")
    (project / "kept.png").write_bytes(b"mine")
    os.mkfifo(project / "pipe.png")
    for save_to, reason in [
        ("escape/x.png", "symbolic link"),
        ("escape/", "symbolic link"),
        ("link.png", "symbolic link"),
        ("kept.png", "already exists; pass overwrite"),
        ("pipe.png", "device or special file"),
        ("kept.png/x.png", "not a directory"),
    ]:
        with pytest.raises(InvalidInput, match=reason):
            resolve_target(save_to, places, overwrite=False)
    assert resolve_target("kept.png", places, overwrite=True).filename == "kept.png"
    assert resolve_target("escape-free/", places, overwrite=False).filename is None


def test_nothing_is_writable_without_an_allowed_place() -> None:
    with pytest.raises(InvalidInput, match="saving is off"):
        resolve_target("x.png", [], overwrite=False)


def test_places_ignore_missing_directories_non_file_roots_and_the_filesystem_root(tmp_path: Path) -> None:
    places = places_of([str(tmp_path / "missing")], ["https://example.com/", "file:///", tmp_path.as_uri()])
    assert [place.root for place in places] == [tmp_path.resolve()]


def test_the_writer_creates_directories_and_refuses_what_it_must_not_replace(layout: tuple[Path, Path]) -> None:
    project, outside = layout
    with open_directory(project, ("public", "img")) as directory:
        write_file(directory, "a.png", b"one", overwrite=False)
        write_file(directory, "a.png", b"one", overwrite=False)  # the same bytes again: already written
        with pytest.raises(SaveRefused, match="already exists"):
            write_file(directory, "a.png", b"two", overwrite=False)
        write_file(directory, "a.png", b"two", overwrite=True)
    assert (project / "public" / "img" / "a.png").read_bytes() == b"two"
    assert tree(project) == ["public/", "public/img/", "public/img/a.png"]
    assert tree(outside) == []


def test_a_link_swapped_in_after_the_checks_does_not_redirect_the_write(layout: tuple[Path, Path]) -> None:
    project, outside = layout
    target = resolve_target("public/a.png", places_of([str(project)]), overwrite=False)
    (project / "public").symlink_to(outside)  # appears between the check and the write
    with pytest.raises(SaveRefused, match="symbolic link"), open_directory(target.place.root, target.parts):
        pass
    (project / "public").unlink()
    (project / "public").mkdir()
    (project / "public" / "a.png").symlink_to(outside / "a.png")
    with open_directory(target.place.root, target.parts) as directory, pytest.raises(SaveRefused, match="link"):
        write_file(directory, "a.png", b"x", overwrite=True)
    assert tree(outside) == []
    assert tree(project) == ["public/", "public/a.png@"]
