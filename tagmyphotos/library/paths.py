"""Resolve a path that came from a client, so it can never name a file outside its root.

Why a dedicated module: every API or UI input that names a file (a photo path, a folder
filter, a restore target) goes through `clean_relative` (pure text rules) and, before any
read, `resolve_inside` (the filesystem's answer after following symlinks). The text rules are
strict on purpose: `..`, absolute and drive paths, NUL and control characters, backslashes
and percent- or Unicode-encoded dots are refused rather than "fixed", so a trick fails loudly
instead of being half-understood.
"""

from __future__ import annotations

import os
import posixpath
import stat
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote

from tagmyphotos.errors import EXIT_NOT_FOUND, EXIT_USAGE, TagMyPhotosError

# Longest client path accepted (characters); far above any real library path.
MAX_CLIENT_PATH_CHARS = 4096


class PathRefused(TagMyPhotosError, ValueError):
    """The path is not acceptable (traversal, absolute, bad characters); a 400 for clients."""

    http_status = 400
    slug = "bad-path"
    exit_code = EXIT_USAGE


class PathNotFound(TagMyPhotosError, LookupError):
    """The path is acceptable but names nothing inside the root; a 404 for clients."""

    http_status = 404
    slug = "not-found"
    exit_code = EXIT_NOT_FOUND


def _suspicious_segment(segment: str) -> bool:
    """A segment that is, or decodes or normalises to, '.', '..' or something with a separator."""
    forms = {segment}
    decoded = segment
    for _ in range(3):  # %252e%252e -> %2e%2e -> ..
        decoded = unquote(decoded)
        forms.add(decoded)
    forms |= {unicodedata.normalize("NFKC", f) for f in forms}
    return any(
        f.strip() in (".", "..") or "/" in f or "\\" in f or any(unicodedata.category(c) == "Cc" for c in f)
        for f in forms
    )


def clean_relative(raw: str, allow_empty: bool = False) -> str:
    """Validate a client path relative to a root and return it '/'-joined with no empty parts.

    Raises PathRefused with a sentence a person understands. Does not touch the filesystem.
    """
    if not isinstance(raw, str):
        raise PathRefused("the path must be text")
    if len(raw) > MAX_CLIENT_PATH_CHARS:
        raise PathRefused(f"the path is longer than {MAX_CLIENT_PATH_CHARS} characters")
    if "\x00" in raw or any(unicodedata.category(ch) == "Cc" for ch in raw):
        raise PathRefused("the path contains a NUL or control character")
    if "\\" in raw:
        raise PathRefused("the path must use '/' between folders; backslashes are not accepted")
    if raw.startswith(("/", "~")) or (len(raw) >= 2 and raw[1] == ":" and raw[0].isalpha()):
        raise PathRefused("the path must be relative to the library, not absolute")
    parts = [p for p in raw.split("/") if p != ""]
    for part in parts:
        if _suspicious_segment(part):
            raise PathRefused("the path must not contain '.' or '..' segments, or encoded separators or NUL bytes")
    if not parts and not allow_empty:
        raise PathRefused("the path is empty")
    return "/".join(parts)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolve_inside(root: Path, raw: str, must_exist: bool = True) -> Path:
    """The real absolute path of `raw` under `root`, after symlinks; refused if it leaves root.

    A symlink inside the library that points inside the library is fine; one that points out
    is refused exactly like `..`. With must_exist, a missing file is PathNotFound.
    """
    rel = clean_relative(raw, allow_empty=True)
    real_root = os.path.realpath(root)
    candidate = os.path.join(real_root, *rel.split("/")) if rel else real_root
    real = os.path.realpath(candidate)
    if not _inside(real, real_root):
        raise PathRefused("the path leads outside the library (through a link)")
    if must_exist and not os.path.exists(real):
        raise PathNotFound(f"nothing at {rel or '/'} in the library")
    return Path(real)


def confined(root: Path, path: Path) -> Path:
    """The real path of a file found on disk (absolute, not client text), refused when it
    leads outside `root` through a link: a linked folder or file out of the root is read as
    little as a `..`. Call it right before the file is read (a link can appear any time)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if not _inside(real, real_root):
        raise PathRefused("it leads outside the folder it may be read from (through a link)")
    return Path(real)


def open_inside(root: Path, raw: str) -> tuple[Path, int]:
    """Resolve and open a regular file for reading; returns (path, fd). Caller closes the fd.

    The final component is opened with O_NOFOLLOW after resolution, so a file swapped for a
    symlink between the check and the open is refused rather than followed.
    """
    real = resolve_inside(root, raw)
    try:
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError as exc:
        raise PathNotFound("the file disappeared") from exc
    except OSError as exc:
        raise PathRefused(f"the file cannot be opened: {exc.strerror}") from exc
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PathRefused("the path is not a regular file")
    return real, fd


def relative_from_outside(root: Path, raw: str, aliases: Mapping[str, str] | None = None) -> str:
    """A path an uploader, sync tool or script sent, as a clean path relative to the library.

    Relative paths are taken as relative to the library. An absolute path must start with the
    library folder (as configured or after links) or with one of `aliases`: another app's
    prefix for a folder of ours (e.g. Immich's /mnt/photos -> ""). The text rules of
    clean_relative apply to every segment, and the result is refused if a link leads it out.
    """
    if not isinstance(raw, str):
        raise PathRefused("the path must be text")
    if not raw.startswith("/"):
        rel = clean_relative(raw, allow_empty=True)
    else:
        clean_relative(raw.lstrip("/"), allow_empty=True)  # the segment rules, before any matching
        absolute = "/" + "/".join(p for p in raw.split("/") if p)
        prefixes = {os.path.realpath(root): "", Path(root).absolute().as_posix(): ""}
        prefixes.update({k.rstrip("/") or "/": v for k, v in (aliases or {}).items() if k.strip()})
        for prefix in sorted(prefixes, key=len, reverse=True):
            if absolute == prefix or absolute.startswith(prefix.rstrip("/") + "/"):
                rest = absolute[len(prefix.rstrip("/")) :].lstrip("/")
                rel = clean_relative(posixpath.join(prefixes[prefix], rest), allow_empty=True)
                break
        else:
            raise PathRefused(
                "an absolute path must start with the library folder or a mapped prefix "
                "(integrations.immich.path_map.remote_prefix)"
            )
    resolve_inside(root, rel, must_exist=False)
    return rel
