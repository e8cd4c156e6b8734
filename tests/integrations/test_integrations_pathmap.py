"""Path mapping between our library mount and the paths Immich / PhotoPrism see."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.pathmap import PathMapError, collapse_folders, to_remote_absolute, to_remote_relative
from tagmyphotos.config import PathMap

ROOT = Path("/library")


@pytest.mark.parametrize(
    ("local", "remote", "rel", "expected"),
    [
        ("", "", "2020/a.jpg", "/library/2020/a.jpg"),  # same mount in both containers
        ("/library", "/mnt/photos", "2020/a.jpg", "/mnt/photos/2020/a.jpg"),
        ("/library/", "/mnt/photos/", "2020/a.jpg", "/mnt/photos/2020/a.jpg"),  # slashes tolerated
        ("", "/mnt/photos", "x/y z/ü.jpg", "/mnt/photos/x/y z/ü.jpg"),  # local defaults to the root
        ("/library/family", "/photos", "family/b.jpg", "/photos/b.jpg"),
        ("/", "/data", "a.jpg", "/data/library/a.jpg"),
        ("/library", "/", "a/b.jpg", "/a/b.jpg"),
    ],
)
def test_to_remote_absolute(local: str, remote: str, rel: str, expected: str) -> None:
    assert to_remote_absolute(PathMap(local_prefix=local, remote_prefix=remote), ROOT, rel) == expected


def test_prefix_match_is_per_path_component() -> None:
    with pytest.raises(PathMapError):
        to_remote_absolute(PathMap(local_prefix="/library/fam", remote_prefix="/p"), ROOT, "family/a.jpg")


def test_paths_escaping_the_library_are_refused() -> None:
    with pytest.raises(PathMapError):
        to_remote_absolute(PathMap(), ROOT, "../etc/passwd")


@pytest.mark.parametrize(
    ("local", "remote", "rel", "expected"),
    [
        ("", "", "2020/a.jpg", "2020/a.jpg"),
        ("", "/family/", "2020/a.jpg", "family/2020/a.jpg"),
        ("/library/2020", "", "2020/a.jpg", "a.jpg"),
        ("/library", "sub", "a.jpg", "sub/a.jpg"),
    ],
)
def test_to_remote_relative(local: str, remote: str, rel: str, expected: str) -> None:
    assert to_remote_relative(PathMap(local_prefix=local, remote_prefix=remote), ROOT, rel) == expected


def test_collapse_folders() -> None:
    assert collapse_folders({"a/b", "a/b/c", "a/bc", "d", "d/e/f"}) == ["a/b", "a/bc", "d"]
    assert collapse_folders({"a", ""}) == [""]
    assert collapse_folders(set()) == []
