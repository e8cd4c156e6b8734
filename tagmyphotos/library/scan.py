"""The scan stage: bring the photo table in line with the library, reading as little as possible.

An unchanged file (same size and mtime) costs one stat and no read. New or changed files are
hashed (xxh3-128, streamed) and their header probed. A file that moved keeps its row (and so
its faces and names) when its content hash matches a photo that is no longer at its old path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tagmyphotos.library.probe import FileProblem, Probe, probe_file
from tagmyphotos.library.walk import FoundFile, WalkProblem, WalkRules, walk_library, walk_paths
from tagmyphotos.store import models as m
from tagmyphotos.store.db import chunked

# Commit the scan's changes every this many changed files, so a killed scan keeps its work
# and readers (UI, API) are never blocked for long.
SCAN_COMMIT_EVERY = 500
# Report progress and ask whether to stop every this many files seen, and before each file
# read. Not at every file: asking is a database query (~90 µs), and an unchanged file costs
# ~4 µs, so asking at each one made a job's rescan of 100k photos 10 s instead of 0.4 s.
CHECK_EVERY = 500

# Photos taught from folders outside the library (teach.py): never part of a library scan.
REFERENCE_KIND = "reference"


@dataclass
class ScanReport:
    seen: int = 0
    unchanged: int = 0
    new: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    files_read: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "seen": self.seen,
            "unchanged": self.unchanged,
            "new": len(self.new),
            "changed": len(self.changed),
            "moved": len(self.moved),
            "missing": len(self.missing),
            "errors": len(self.errors),
            "files_read": self.files_read,
        }


def in_scope(path: str, scope: list[str] | None) -> bool:
    """Whether a library path is one of the scanned paths or inside one of the scanned folders."""
    if scope is None:
        return True
    return any(not s or path == s or path.startswith(s + "/") for s in scope)


# Three columns, no text but the path: each column of 100k rows costs (the state's text alone
# was ~0.1 µs a row).
_KNOWN_QUERY = (
    "SELECT path, CASE WHEN state = {p} THEN -1 ELSE size END, mtime FROM photo WHERE state != {p} AND kind != {p}"
)


def known_photos(scope: list[str] | None) -> dict[str, tuple[Any, ...]]:
    """The library's photos by path as raw rows (path, size, mtime), only those in `scope`, with
    one query: for 100k photos the ORM's per-row conversion would cost more than the walk. `size`
    is -1 for a photo in error, so that it never counts as unchanged (always tried again); the id
    is looked up by path for the few rows that changed or went."""
    params = (m.PhotoState.ERROR, m.PhotoState.MISSING, REFERENCE_KIND)
    cursor = m.database.execute_sql(_KNOWN_QUERY.format(p=m.database.param), params)
    if scope is None:
        return {row[0]: row for row in cursor}
    return {row[0]: row for row in cursor if in_scope(row[0], scope)}


def scan_library(
    root: Path,
    rules: WalkRules,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    scope: list[str] | None = None,
) -> ScanReport:
    """Scan the library (or only the files and folders in `scope`, clean relative paths) into the
    photo table. Safe to rerun and to kill half-way. Outside the scope nothing is looked at, and
    nothing is marked missing."""
    report = ScanReport()
    # Rows still unmatched: each file seen takes its row out, so what is left at the end is gone.
    unseen = known_photos(scope)
    seen_paths: set[str] = set()  # only a scan of given paths can name a file twice
    fresh: list[tuple[FoundFile, Probe | None, str | None]] = []
    changed: list[tuple[FoundFile, Probe | None, str | None]] = []
    # Writes go in short transactions (batches of changed files, then the new and gone ones):
    # a transaction held across the walk would block every other writer (API, analysis) for
    # the whole scan, and hide the job's heartbeat until the end.
    walk = walk_library(root, rules) if scope is None else walk_paths(root, rules, scope)
    seen = unchanged = 0  # (locals: the loop runs once per file of the library)
    stopped = False
    for item in walk:
        if isinstance(item, WalkProblem):
            report.errors.append((item.rel, item.message))
            continue
        rel = item.rel
        if scope is not None:
            if rel in seen_paths:
                continue  # named twice (a folder and a file in it)
            seen_paths.add(rel)
        seen += 1
        if seen % CHECK_EVERY == 0:
            if progress is not None:
                progress(seen)
            if should_stop is not None and should_stop():
                stopped = True
                break
        row = unseen.pop(rel, None)
        # Unchanged = same size and mtime (a photo in error has size -1: always tried again).
        if row is not None and row[1] == item.size and row[2] == item.mtime:
            unchanged += 1
            continue
        if should_stop is not None and should_stop():  # before each read: reads take long
            stopped = True
            break
        report.files_read += 1
        probe, problem = _probe(item)
        if row is None:
            fresh.append((item, probe, problem))
            continue
        changed.append((item, probe, problem))
        if len(changed) >= SCAN_COMMIT_EVERY:
            _flush_changed(changed, report)
    report.seen, report.unchanged = seen, unchanged
    _flush_changed(changed, report)
    stopped = stopped or bool(should_stop and should_stop())
    with m.database.atomic():
        _settle_new_and_gone(unseen, fresh, report, stopped)
    if progress:
        progress(report.seen)
    return report


def _flush_changed(changed: list[tuple[FoundFile, Probe | None, str | None]], report: ScanReport) -> None:
    with m.database.atomic():
        for item, probe, problem in changed:
            _update_changed(item, probe, problem, report)
    changed.clear()


def _probe(item: FoundFile) -> tuple[Probe | None, str | None]:
    try:
        return probe_file(item.abspath, item.kind), None
    except FileProblem as exc:
        return None, str(exc)


def _fields(item: FoundFile, probe: Probe | None, problem: str | None) -> dict[str, object]:
    base: dict[str, object] = {
        "size": item.size,
        "mtime": item.mtime,
        "kind": item.kind,
        "updated_at": m.utcnow(),
    }
    if probe is None:
        return base | {"state": m.PhotoState.ERROR, "last_error": problem, "hash": None}
    return base | {
        "hash": probe.hash,
        "format": probe.format,
        "width": probe.width,
        "height": probe.height,
        "orientation": probe.orientation,
        "last_error": None,
    }


# A photo in these states is read again when its file is touched, even with the same content:
# the error or failure may have come from the file changing while it was read (a copy in progress).
_TRIED_AGAIN_WHEN_TOUCHED = (m.PhotoState.ERROR, m.PhotoState.FAILED)


def _update_changed(item: FoundFile, probe: Probe | None, problem: str | None, report: ScanReport) -> None:
    photo = m.Photo.get(m.Photo.path == item.rel)
    photo_id = photo.id
    values = _fields(item, probe, problem)
    if probe is not None:
        if probe.hash == photo.hash and photo.state not in _TRIED_AGAIN_WHEN_TOUCHED:
            values.pop("state", None)  # touched, not changed: keep its analysis
        else:
            values["state"] = m.PhotoState.PENDING
            report.changed.append(photo_id)
    else:
        report.errors.append((item.rel, problem or "unreadable"))
    m.Photo.update(values).where(m.Photo.id == photo_id).execute()


def _settle_new_and_gone(
    unseen: dict[str, tuple[Any, ...]],
    fresh: list[tuple[FoundFile, Probe | None, str | None]],
    report: ScanReport,
    stopped: bool,
) -> None:
    """New files take over a vanished photo with the same content (a move); the rest are new
    (inserted in batches: one ORM insert per photo was two thirds of a first scan)."""
    gone: dict[str, int] = {}  # path -> id of the photos no longer found (none if stopped)
    gone_by_hash: dict[str, list[str]] = {}
    for paths in [] if stopped else chunked(unseen):
        query = m.Photo.select(m.Photo.id, m.Photo.path, m.Photo.hash).where(m.Photo.path.in_(paths))
        for pid, path, photo_hash in m.rows(query):
            gone[path] = pid
            if photo_hash:
                gone_by_hash.setdefault(photo_hash, []).append(path)
    new_rows: list[tuple[FoundFile, dict[str, object], str | None]] = []
    missing_rows = {
        row[1]: row
        for row in m.rows(
            m.Photo.select(m.Photo.id, m.Photo.path, m.Photo.hash).where(
                (m.Photo.state == m.PhotoState.MISSING) & (m.Photo.kind != REFERENCE_KIND)
            )
        )
    }
    missing_by_hash: dict[str, list[int]] = {}
    for pid, _path, photo_hash in missing_rows.values():
        if photo_hash:
            missing_by_hash.setdefault(photo_hash, []).append(pid)
    for item, probe, problem in fresh:
        values = _fields(item, probe, problem)
        old_path = None
        if probe is not None and gone_by_hash.get(probe.hash):
            old_path = gone_by_hash[probe.hash].pop()
            photo_id = gone.pop(old_path)
        elif item.rel in missing_rows:  # came back at its old path
            photo_id = missing_rows[item.rel][0]
            values.setdefault("state", m.PhotoState.PENDING)
        elif probe is not None and missing_by_hash.get(probe.hash):
            photo_id = missing_by_hash[probe.hash].pop()
            old_path = m.Photo.get_by_id(photo_id).path
        else:
            new_rows.append((item, values, problem))
            continue
        m.Photo.update(values | {"path": item.rel}).where(m.Photo.id == photo_id).execute()
        if old_path is not None:
            report.moved.append((old_path, item.rel))  # same content: keeps faces and names
    for ids in chunked(gone.values()):
        m.Photo.update(state=m.PhotoState.MISSING, updated_at=m.utcnow()).where(m.Photo.id.in_(ids)).execute()
    report.missing.extend(sorted(gone))
    _insert_new(new_rows, report)


# Rows per INSERT: 13 values each, well under SQLite's 32766 bound variables.
_INSERT_BATCH = 500
_NEW_COLUMNS = ("path", "kind", "size", "mtime", "hash", "format", "width", "height", "orientation",
                "state", "last_error", "created_at", "updated_at")  # fmt: skip


def _insert_new(new_rows: list[tuple[FoundFile, dict[str, object], str | None]], report: ScanReport) -> None:
    """Create the photo rows of new files, in order, a batch per raw INSERT (the ORM's insert
    builds its SQL value by value: most of a first scan); their ids (and the errors of
    unreadable ones) go into the report as `Photo.create` one by one would."""
    to_db = m.Photo.created_at.db_value
    created_at = to_db(m.utcnow())
    for batch in chunked(new_rows, _INSERT_BATCH):
        params: list[object] = []
        for item, values, _ in batch:
            row = _new_row(item, values)
            row["created_at"], row["updated_at"] = created_at, to_db(row["updated_at"])
            params += [row[c] for c in _NEW_COLUMNS]
        ids = dict(m.database.execute_sql(_insert_sql(len(batch)), params).fetchall())
        for item, _, problem in batch:
            report.new.append(ids[item.rel])
            if problem:
                report.errors.append((item.rel, problem))


def _insert_sql(rows: int) -> str:
    one = "(" + ", ".join([m.database.param] * len(_NEW_COLUMNS)) + ")"
    return f"INSERT INTO photo ({', '.join(_NEW_COLUMNS)}) VALUES {', '.join([one] * rows)} RETURNING path, id"


def _new_row(item: FoundFile, values: dict[str, object]) -> dict[str, object]:
    """Every column of a new photo row (one shape for a batch insert), defaults as the model's."""
    return {
        "path": item.rel,
        "hash": None,
        "format": None,
        "width": None,
        "height": None,
        "orientation": 1,
        "state": m.PhotoState.PENDING,
        "last_error": None,
    } | values


def walk_rules(extensions: list[str], raw: list[str], exclude: list[str], data_dir: Path) -> WalkRules:
    return WalkRules(
        extensions=frozenset(extensions),
        raw_extensions=frozenset(raw),
        exclude=tuple(exclude),
        skip_dirs=(os.fspath(data_dir),),
    )
