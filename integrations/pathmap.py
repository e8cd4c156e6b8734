"""Translate our library paths into the paths Immich or PhotoPrism see.

Why: each app runs in its own container with its own mount point for the same files, e.g. ours
is /library/2020/a.jpg and Immich's is /mnt/photos/2020/a.jpg. Pure string work on POSIX paths
(both apps run on Linux); the filesystem is never touched.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from tagmyphotos.config import PathMap
from tagmyphotos.errors import TagMyPhotosError


class PathMapError(TagMyPhotosError, ValueError):
    """A file cannot be mapped (it is not under the configured local prefix)."""


def _clean(prefix: str) -> str:
    prefix = prefix.strip()
    if not prefix:
        return ""
    norm = posixpath.normpath(prefix)
    return "/" if norm in ("/", "//") else norm


def _remainder(local_abs: str, local_prefix: str) -> str:
    """Path of local_abs below local_prefix ('' if equal); component-aware, so /lib2 is not in /lib."""
    if local_prefix == "/":
        return local_abs.lstrip("/")
    if local_abs == local_prefix:
        return ""
    if local_abs.startswith(local_prefix + "/"):
        return local_abs[len(local_prefix) + 1 :]
    raise PathMapError(f"{local_abs} is not under the mapped local prefix {local_prefix}")


def local_path(library_root: Path, rel_path: str) -> str:
    """Absolute POSIX path of a library file, normalized, never escaping the root."""
    rel = posixpath.normpath(rel_path)
    if posixpath.isabs(rel) or rel == ".." or rel.startswith("../"):
        raise PathMapError(f"not a path inside the library: {rel_path!r}")
    root = _clean(Path(library_root).as_posix()) or "."
    return posixpath.normpath(posixpath.join(root, rel))


def to_remote_absolute(path_map: PathMap, library_root: Path, rel_path: str) -> str:
    """The absolute path the other app stores for this file (Immich's originalPath).

    local_prefix defaults to the library root; an empty remote_prefix means "same as local".
    """
    local_abs = local_path(library_root, rel_path)
    local_prefix = _clean(path_map.local_prefix) or _clean(Path(library_root).as_posix())
    remote_prefix = _clean(path_map.remote_prefix) or local_prefix
    rest = _remainder(local_abs, local_prefix)
    return posixpath.join(remote_prefix, rest) if rest else remote_prefix


def to_remote_relative(path_map: PathMap, library_root: Path, rel_path: str) -> str:
    """The path relative to the other app's root folder (PhotoPrism's originals), '' for the root.

    Here remote_prefix is the folder *inside* originals that local_prefix corresponds to
    ('' = originals itself); leading/trailing slashes are ignored.
    """
    local_abs = local_path(library_root, rel_path)
    local_prefix = _clean(path_map.local_prefix) or _clean(Path(library_root).as_posix())
    rest = _remainder(local_abs, local_prefix)
    remote_prefix = path_map.remote_prefix.strip().strip("/")
    joined = posixpath.join(remote_prefix, rest) if remote_prefix else rest
    return posixpath.normpath(joined) if joined else ""


def collapse_folders(folders: set[str]) -> list[str]:
    """Drop folders contained in another listed folder (indexing a folder covers its subfolders)."""
    if "" in folders:
        return [""]

    def ancestors(folder: str) -> list[str]:
        parts = folder.split("/")
        return ["/".join(parts[:i]) for i in range(1, len(parts))]

    return sorted(f for f in folders if not any(a in folders for a in ancestors(f)))
