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

import xxhash
from PIL import Image, UnidentifiedImageError

from tagmyphotos.geometry import exif_orientation
from tagmyphotos.store import models as m
from tagmyphotos.library.walk import FoundFile, WalkProblem, WalkRules, walk_library, walk_paths
from tagmyphotos.tuning import HASH_CHUNK_BYTES

# Commit the scan's changes every this many changed files, so a killed scan keeps its work
# and readers (UI, API) are never blocked for long.
SCAN_COMMIT_EVERY = 500

try:  # HEIC/HEIF headers
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIF_SUPPORT = True
except ImportError:  # pragma: no cover - optional at run time
    HEIF_SUPPORT = False


# Photos taught from folders outside the library (teach.py): never part of a library scan.
REFERENCE_KIND = "reference"


class FileProblem(Exception):
    """A file we can't use, with a message for the user."""


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


@dataclass(frozen=True)
class Probe:
    hash: str
    format: str | None
    width: int | None
    height: int | None
    orientation: int


_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
    (b"WEBP", 8, "WEBP"),
    (b"GIF8", 0, "GIF"),
]
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}


def sniff_format(head: bytes) -> str | None:
    """The image format by content, not by extension (a WebP named .jpg is a WebP)."""
    for magic, offset, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "AVIF" if brand in (b"avif", b"avis") else "HEIF"
        if brand == b"crx ":
            return "CR3"
    return None


def probe_file(abspath: str, kind: str) -> Probe:
    """Hash the whole file and read its header; raise FileProblem for unusable files."""
    hasher = xxhash.xxh3_128()
    head = b""
    tail = b""
    try:
        with open(abspath, "rb") as fh:
            while chunk := fh.read(HASH_CHUNK_BYTES):
                if not head:
                    head = chunk[:64]
                hasher.update(chunk)
                tail = (tail + chunk)[-HASH_CHUNK_BYTES:]
    except PermissionError as exc:
        raise FileProblem("permission denied: the file cannot be read") from exc
    except OSError as exc:
        raise FileProblem(f"cannot read the file: {exc.strerror}") from exc
    if not head:
        raise FileProblem("empty file (0 bytes)")
    digest = hasher.hexdigest()
    fmt = sniff_format(head)
    if kind == "raw":
        return Probe(digest, fmt or "RAW", None, None, 1)
    if fmt is None:
        raise FileProblem("not an image: the content matches no supported image format")
    if fmt == "PNG" and b"IEND" not in tail[-64:]:
        raise FileProblem("truncated PNG: the end of the image is missing")
    try:
        with Image.open(abspath) as im:
            width, height = im.size
            orientation = exif_orientation(im)
            if fmt == "JPEG":
                # A reduced decode reads every entropy-coded byte: a truncated JPEG fails here.
                im.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                im.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if fmt == "HEIF" and not HEIF_SUPPORT:
            raise FileProblem(
                "HEIF/HEIC photo, but HEIC support (the pillow-heif package) is not installed; "
                "it is read again on the next scan"
            ) from exc
        raise FileProblem(f"broken {fmt} image: {exc}") from exc
    except Image.DecompressionBombError as exc:
        raise FileProblem(f"image too large to be safe: {exc}") from exc
    if orientation not in range(1, 9):
        orientation = 1
    return Probe(digest, fmt, width, height, orientation)


def in_scope(path: str, scope: list[str] | None) -> bool:
    """Whether a library path is one of the scanned paths or inside one of the scanned folders."""
    if scope is None:
        return True
    return any(not s or path == s or path.startswith(s + "/") for s in scope)


@dataclass(frozen=True, slots=True)
class KnownPhoto:
    """A photo row as the scan compares it with the file on disk (read with one raw query)."""

    id: int
    path: str
    size: int
    mtime: float
    state: str


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
    # A raw cursor: for 100k photos the ORM's per-row conversion costs more than the walk.
    cursor = m.database.execute_sql(
        f"SELECT id, path, size, mtime, state FROM photo WHERE state != {m.database.param} AND kind != "
        f"{m.database.param}",
        (m.PHOTO_MISSING, REFERENCE_KIND),
    )
    known = {row[1]: KnownPhoto(*row) for row in cursor.fetchall() if in_scope(row[1], scope)}
    seen_paths: set[str] = set()
    fresh: list[tuple[FoundFile, Probe | None, str | None]] = []
    changed: list[tuple[int, FoundFile, Probe | None, str | None]] = []
    db = m.database
    # Writes go in short transactions (batches of changed files, then the new and gone ones):
    # a transaction held across the walk would block every other writer (API, analysis) for
    # the whole scan, and hide the job's heartbeat until the end.
    walk = walk_library(root, rules) if scope is None else walk_paths(root, rules, scope)
    for item in walk:
        if should_stop and should_stop():
            break
        if isinstance(item, WalkProblem):
            report.errors.append((item.rel, item.message))
            continue
        if item.rel in seen_paths:
            continue  # named twice (a folder and a file in it)
        report.seen += 1
        if progress and report.seen % 500 == 0:
            progress(report.seen)
        seen_paths.add(item.rel)
        row = known.get(item.rel)
        if row and row.size == item.size and row.mtime == item.mtime and row.state != m.PHOTO_ERROR:
            report.unchanged += 1
            continue
        report.files_read += 1
        probe, problem = _probe(item)
        if row is None:
            fresh.append((item, probe, problem))
            continue
        changed.append((row.id, item, probe, problem))
        if len(changed) >= SCAN_COMMIT_EVERY:
            _flush_changed(changed, report)
    _flush_changed(changed, report)
    stopped = bool(should_stop and should_stop())
    with db.atomic():
        _settle_new_and_gone(known, seen_paths, fresh, report, stopped)
    if progress:
        progress(report.seen)
    return report


def _flush_changed(changed: list[tuple[int, FoundFile, Probe | None, str | None]], report: ScanReport) -> None:
    with m.database.atomic():
        for photo_id, item, probe, problem in changed:
            _update_changed(photo_id, item, probe, problem, report)
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
        return base | {"state": m.PHOTO_ERROR, "last_error": problem, "hash": None}
    return base | {
        "hash": probe.hash,
        "format": probe.format,
        "width": probe.width,
        "height": probe.height,
        "orientation": probe.orientation,
        "last_error": None,
    }


def _update_changed(
    photo_id: int, item: FoundFile, probe: Probe | None, problem: str | None, report: ScanReport
) -> None:
    photo = m.Photo.get_by_id(photo_id)
    values = _fields(item, probe, problem)
    if probe is not None:
        if probe.hash == photo.hash and photo.state != m.PHOTO_ERROR:
            values.pop("state", None)  # touched, not changed: keep its analysis
        else:
            values["state"] = m.PHOTO_PENDING
            report.changed.append(photo_id)
    else:
        report.errors.append((item.rel, problem or "unreadable"))
    m.Photo.update(values).where(m.Photo.id == photo_id).execute()


def _settle_new_and_gone(
    known: dict[str, KnownPhoto],
    seen_paths: set[str],
    fresh: list[tuple[FoundFile, Probe | None, str | None]],
    report: ScanReport,
    stopped: bool,
) -> None:
    """New files take over a vanished photo with the same content (a move); the rest are new."""
    gone = {} if stopped else {path: row for path, row in known.items() if path not in seen_paths}
    gone_by_hash: dict[str, list[str]] = {}
    if gone:
        for _pid, path, photo_hash in m.rows(
            m.Photo.select(m.Photo.id, m.Photo.path, m.Photo.hash).where(
                m.Photo.id.in_([r.id for r in gone.values()])
            )
        ):
            if photo_hash:
                gone_by_hash.setdefault(photo_hash, []).append(path)
    missing_rows = {
        row[1]: row
        for row in m.rows(
            m.Photo.select(m.Photo.id, m.Photo.path, m.Photo.hash).where(
                (m.Photo.state == m.PHOTO_MISSING) & (m.Photo.kind != REFERENCE_KIND)
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
            photo_id = gone.pop(old_path).id
        elif item.rel in missing_rows:  # came back at its old path
            photo_id = missing_rows[item.rel][0]
            values.setdefault("state", m.PHOTO_PENDING)
        elif probe is not None and missing_by_hash.get(probe.hash):
            photo_id = missing_by_hash[probe.hash].pop()
            old_path = m.Photo.get_by_id(photo_id).path
        else:
            values["state"] = values.get("state", m.PHOTO_PENDING)
            photo = m.Photo.create(path=item.rel, **values)
            report.new.append(photo.id)
            if problem:
                report.errors.append((item.rel, problem))
            continue
        m.Photo.update(values | {"path": item.rel}).where(m.Photo.id == photo_id).execute()
        if old_path is not None:
            report.moved.append((old_path, item.rel))  # same content: keeps faces and names
    if gone:
        m.Photo.update(state=m.PHOTO_MISSING, updated_at=m.utcnow()).where(
            m.Photo.id.in_([row.id for row in gone.values()])
        ).execute()
        report.missing.extend(sorted(gone))


def walk_rules(extensions: list[str], raw: list[str], exclude: list[str], data_dir: Path) -> WalkRules:
    return WalkRules(
        extensions=frozenset(extensions),
        raw_extensions=frozenset(raw),
        exclude=tuple(exclude),
        skip_dirs=(os.fspath(data_dir),),
    )
