"""Walk the library: which files are photos, without ever leaving the library or looping.

Why a hand-written walk instead of os.walk: we need one stat per file (the incremental scan
compares size and mtime), symlinks followed only while they stay inside the library, loops
broken by (device, inode), and undecodable names reported instead of crashing.
"""

from __future__ import annotations

import fnmatch
import operator
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True)
class FoundFile:  # not frozen: built once per file, and a frozen one costs 3x the walk's stat
    rel: str  # '/'-separated path relative to the library root
    folder: str  # the folder's path as walked (shared by its files: no string built per file)
    size: int
    mtime: float
    kind: str  # image | raw

    @property
    def abspath(self) -> str:
        """The file's path as walked: only the few files that are read need it."""
        return os.path.join(self.folder, self.rel.rpartition("/")[2])


@dataclass(frozen=True)
class WalkProblem:
    rel: str
    message: str


@dataclass(frozen=True)
class WalkRules:
    extensions: frozenset[str]
    raw_extensions: frozenset[str]
    exclude: tuple[str, ...] = ()
    skip_dirs: tuple[str, ...] = ()  # absolute real paths never entered (our data/backups)


def walk_library(root: Path, rules: WalkRules, start: str = "") -> Iterator[FoundFile | WalkProblem]:
    """Yield every photo (and RAW) file under root (or its folder `start`), and a WalkProblem
    for what can't be read. `start` is a clean relative path (library.paths.clean_relative)."""
    real_root = os.path.realpath(root)
    skip = {os.path.realpath(d) for d in rules.skip_dirs}
    excluded = _compile_excludes(rules.exclude)
    file_excluded = _compile_excludes(file_patterns(rules.exclude))
    extensions, raw_extensions = rules.extensions, rules.raw_extensions
    seen_dirs: set[tuple[int, int]] = set()
    first = os.path.join(real_root, *start.split("/")) if start else real_root
    stack: list[tuple[str, str]] = [(first, start)]
    while stack:
        dirpath, rel_dir = stack.pop()
        try:
            st = os.stat(dirpath)
        except OSError as exc:
            yield WalkProblem(rel_dir or ".", f"cannot open folder: {exc.strerror}")
            continue
        if (st.st_dev, st.st_ino) in seen_dirs:
            continue  # a symlink loop or a second link to a folder we walked already
        seen_dirs.add((st.st_dev, st.st_ino))
        try:
            with os.scandir(dirpath) as it:
                entries = sorted(it, key=_by_name)
        except OSError as exc:
            yield WalkProblem(rel_dir or ".", f"cannot list folder: {exc.strerror}")
            continue
        subdirs: list[tuple[str, str]] = []
        prefix = rel_dir + "/" if rel_dir else ""
        for entry in entries:  # (this loop runs once per file of the library: kept lean)
            name = entry.name
            if name[0] == ".":
                continue  # hidden files and folders (.thumbnails, .git, our .tagmyphotos)
            rel = prefix + name
            if not name.isascii() and not _printable_name(rel):
                yield WalkProblem(_shown(rel), "file name is not valid UTF-8; rename it to include it")
                continue
            try:
                is_link = entry.is_symlink()
                if is_link:
                    target = os.path.realpath(entry.path)
                    if not _inside(target, real_root):
                        continue  # never follow a link out of the library
                if entry.is_dir():  # a link to a folder inside the library too
                    if excluded is not None and excluded(rel + "/"):
                        continue
                    target = os.path.realpath(entry.path)
                    if target in skip or any(_inside(target, s) for s in skip):
                        continue
                    subdirs.append((entry.path, rel))
                    continue
                _, dot, ext = name.rpartition(".")
                ext = ext.lower() if dot else ""
                if ext in extensions:
                    kind = "image"
                elif ext in raw_extensions:
                    kind = "raw"
                else:
                    continue
                if file_excluded is not None and file_excluded(rel):
                    continue
                fst = entry.stat()  # of a link's target
            except OSError as exc:
                yield WalkProblem(rel, f"cannot read file information: {exc.strerror}")
                continue
            if not stat.S_ISREG(fst.st_mode):
                # reading a named pipe blocks forever and a device never ends: never open one
                yield WalkProblem(rel, "not a regular file (a named pipe, device or socket): skipped")
                continue
            yield FoundFile(rel, dirpath, fst.st_size, fst.st_mtime, kind)
        stack.extend(reversed(subdirs))


def walk_paths(root: Path, rules: WalkRules, targets: list[str]) -> Iterator[FoundFile | WalkProblem]:
    """Only the given files and folders (clean relative paths): what a scan of given paths looks at.

    The same rules as the full walk apply (extensions, excludes, hidden names, our data folder,
    no link out of the library, regular files only); a path that names nothing yields nothing,
    so the scan can mark a photo that was there as missing.
    """
    real_root = os.path.realpath(root)
    excluded = _compile_excludes(rules.exclude)
    skip = [os.path.realpath(d) for d in rules.skip_dirs]
    for rel in dict.fromkeys(targets):
        if not rel:
            yield from walk_library(root, rules)
            continue
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        abspath = os.path.join(real_root, *rel.split("/"))
        real = os.path.realpath(abspath)
        if not _inside(real, real_root) or any(_inside(real, s) for s in skip):
            continue
        if os.path.isdir(abspath):
            if excluded is None or not excluded(rel + "/"):
                yield from walk_library(root, rules, start=rel)
            continue
        ext = rel.rsplit(".", 1)[-1].lower() if "." in rel.rsplit("/", 1)[-1] else ""
        kind = "image" if ext in rules.extensions else "raw" if ext in rules.raw_extensions else ""
        if not kind or (excluded is not None and excluded(rel)):
            continue
        try:
            fst = os.stat(abspath)
        except FileNotFoundError:
            continue
        except OSError as exc:
            yield WalkProblem(rel, f"cannot read file information: {exc.strerror}")
            continue
        if not stat.S_ISREG(fst.st_mode):
            yield WalkProblem(rel, "not a regular file (a named pipe, device or socket): skipped")
            continue
        yield FoundFile(rel, os.path.dirname(abspath), fst.st_size, fst.st_mtime, kind)


_by_name = operator.attrgetter("name")


def _compile_excludes(patterns: tuple[str, ...]) -> Callable[[str], re.Match[str] | None] | None:
    """All exclude globs as one regex: one match per file instead of one per pattern."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)).match


def file_patterns(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """The exclude patterns a file met in the walk still needs checking against: not the
    folder ones ("**/@eaDir/**"). A file path matches `X/**` only if the path of one of its
    folders matches it too (that folder's path + "/", the `**` matching nothing), and the walk
    never entered that folder: its check at the folder already said no. Saves a regex per file."""
    return tuple(p for p in patterns if not p.endswith("/**"))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _printable_name(rel: str) -> bool:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(rel: str) -> str:
    """A storable, readable form of an undecodable name (bytes shown as \\xNN)."""
    return os.fsencode(rel).decode("utf-8", "backslashreplace")
