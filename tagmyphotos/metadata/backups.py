"""Backups of original files before the first metadata write, and byte-identical restores.

Layout under the backup folder (config: <data>/backups): `files/<library path>` holds the copy,
`manifests/<library path>.json` what it is (checksum, size, mtime, when). The manifest is
written last, atomically, so a backup without one is incomplete and is redone. Only the FIRST
original is kept: later writes to the same file never replace it, so a restore always returns
the file as it was before this program touched it. A sidecar that did not exist is recorded as
"absent": restoring it deletes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from tagmyphotos import tuning
from tagmyphotos.durable import fsync_dir
from tagmyphotos.errors import TagMyPhotosError

_CHUNK = tuning.HASH_CHUNK_BYTES


class BackupError(TagMyPhotosError, RuntimeError):
    """A backup or restore that could not be done safely; the message says what and why."""


class OutsideLibrary(BackupError):
    """A library path that leads out of the library through a link (a folder or file swapped
    for a symlink after the scan): nothing is read, backed up, written or restored there."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _copy_synced(src: Path, dst: Path) -> str:
    """Copy bytes, mode and times to `dst`, flushed to disk; returns the SHA-256 of the bytes
    copied, hashed on their way (re-reading the copy to hash it read it back from the page
    cache, not the disk: the same bytes, one more pass over the file)."""
    h = hashlib.sha256()
    with open(src, "rb", buffering=0) as fin, open(dst, "wb", buffering=0) as fout:
        while chunk := fin.read(_CHUNK):
            h.update(chunk)
            view = memoryview(chunk)
            while view:
                view = view[fout.write(view) :]
        os.fsync(fout.fileno())
    shutil.copystat(src, dst)
    return h.hexdigest()


@dataclass(frozen=True)
class BackupRecord:
    original: str  # absolute library path
    backup: str | None  # absolute path of the copy; None: the original did not exist
    sha256: str  # of the original bytes ("" when absent)
    size: int
    mtime_ns: int
    mode: int
    created_at: float  # epoch seconds

    @property
    def absent(self) -> bool:
        return self.backup is None


def _put_back(original: Path, record: BackupRecord) -> None:
    """Make `original` the bytes of the record's copy (none: no file), atomically: a temporary
    copy is verified against the checksum, takes today's owner and permissions, then is
    renamed over the file."""
    if record.backup is None:
        original.unlink(missing_ok=True)
        fsync_dir(original.parent)
        return
    sha256, mtime_ns = record.sha256, record.mtime_ns
    tmp = original.with_name(f".{original.name}.tagmyphotos-restore-{os.getpid()}")
    try:
        if _copy_synced(Path(record.backup), tmp) != sha256:
            raise BackupError(f"the copy of {original} does not match its checksum; not restored")
        with contextlib.suppress(FileNotFoundError):
            st = original.stat()
            os.chmod(tmp, st.st_mode & 0o7777)
            with contextlib.suppress(PermissionError):
                os.chown(tmp, st.st_uid, st.st_gid)
        os.utime(tmp, ns=(mtime_ns, mtime_ns))
        os.replace(tmp, original)
        fsync_dir(original.parent)
    finally:
        tmp.unlink(missing_ok=True)
    if sha256_file(original) != sha256:
        raise BackupError(f"{original} changed during the restore; check it")


class BackupStore:
    """Backups of library files in `root`, paths mirrored relative to `library_root`."""

    def __init__(self, root: Path, library_root: Path | None = None):
        self.root = Path(root).absolute()
        self.library_root = Path(library_root).absolute() if library_root else None

    def check_inside(self, path: Path) -> None:
        """Refuse a path that, followed now, leaves the library (any component may have become
        a link to elsewhere since the scan). Links that stay inside the library are fine.
        Called right before each read, backup, write, sidecar creation and restore, and again
        after a write; the window left between a check and exiftool's open is milliseconds."""
        if self.library_root is None or not Path(os.path.abspath(path)).is_relative_to(self.library_root):
            return  # a file named outside the library on purpose (kept under _outside_library)
        root = os.path.realpath(self.library_root)
        real = os.path.realpath(path)
        if not (real == root or real.startswith(root.rstrip(os.sep) + os.sep)):
            raise OutsideLibrary(f"{path} leads outside the library through a link; nothing was written there")

    def _relative(self, original: Path) -> Path:
        p = Path(os.path.abspath(original))
        if self.library_root is not None and p.is_relative_to(self.library_root):
            return p.relative_to(self.library_root)
        return Path("_outside_library") / p.relative_to(p.anchor)

    def backup_path(self, original: Path) -> Path:
        return self.root / "files" / self._relative(original)

    def manifest_path(self, original: Path) -> Path:
        rel = self._relative(original)
        return self.root / "manifests" / rel.parent / (rel.name + ".json")

    def get(self, original: Path) -> BackupRecord | None:
        """The complete backup of `original`, or None.

        A backup copy without a readable manifest (a crash right after the copy was renamed
        into place, or a manifest lost with the page cache) is adopted: copies are renamed into
        place only once complete and fsynced, and only when no backup existed, so it IS the
        first original, even if the library file has been written since."""
        manifest = self.manifest_path(original)
        try:
            record = BackupRecord(**json.loads(manifest.read_text("utf-8")))
        except (FileNotFoundError, ValueError, TypeError):
            return self._adopt(original)
        if record.backup is not None and not Path(record.backup).is_file():
            raise BackupError(f"the backup of {original} is missing ({record.backup})")
        return record

    def _adopt(self, original: Path) -> BackupRecord | None:
        copy = self.backup_path(original)
        if not copy.is_file():
            if self.manifest_path(original).exists():
                raise BackupError(f"backup manifest {self.manifest_path(original)} is unreadable")
            return None
        st = copy.stat()
        record = BackupRecord(
            str(Path(os.path.abspath(original))),
            str(copy),
            sha256_file(copy),
            st.st_size,
            st.st_mtime_ns,
            st.st_mode & 0o7777,
            st.st_ctime,
        )
        self._write_manifest(original, record)
        return record

    def _write_manifest(self, original: Path, record: BackupRecord) -> None:
        """Atomic; fsynced only for an absent original (nothing to rebuild it from): a lost
        manifest of a copy is rebuilt from the copy (see `get`)."""
        manifest = self.manifest_path(original)
        manifest.parent.mkdir(parents=True, exist_ok=True)
        tmp = manifest.with_name(f".{manifest.name}.partial-{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(asdict(record), ensure_ascii=False))
            if record.absent:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, manifest)
        if record.absent:
            fsync_dir(manifest.parent)

    def ensure(self, original: Path) -> tuple[BackupRecord, bool]:
        """Back up `original` unless a backup exists; returns (record, created_now)."""
        existing = self.get(original)
        if existing is not None:
            return existing, False
        original = Path(os.path.abspath(original))
        self.check_inside(original)
        if not original.exists():
            record = BackupRecord(str(original), None, "", 0, 0, 0, time.time())
        else:
            target = self.backup_path(original)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
            try:
                st = original.stat()
                digest = _copy_synced(original, tmp)
                after = original.stat()
                if (after.st_size, after.st_mtime_ns) != (
                    st.st_size,
                    st.st_mtime_ns,
                ) or after.st_size != tmp.stat().st_size:
                    raise BackupError(f"{original} changed while it was being backed up; try again")
                # No directory fsync (it cost a third of a write): the copy's bytes are fsynced,
                # and journaling file systems (ext4, XFS, btrfs, ZFS) commit renames in order, so
                # this rename is durable before exiftool's later rename of the photo can be.
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            record = BackupRecord(
                str(original),
                str(target),
                digest,
                st.st_size,
                st.st_mtime_ns,
                st.st_mode & 0o7777,
                time.time(),
            )
        self._write_manifest(original, record)
        return record, True

    def restore(self, original: Path) -> BackupRecord:
        """Put the backed-up original back, byte-identical (and its mtime); delete a file whose
        original was absent. Atomic: a temporary copy is verified, then renamed over the file."""
        original = Path(os.path.abspath(original))
        record = self.get(original)
        if record is None:
            raise BackupError(f"no backup of {original}")
        self.check_inside(original)
        _put_back(original, record)
        return record

    def snapshot(self, original: Path) -> BackupRecord:
        """A throw-away copy of a file as it is now, to undo ONE write that fails (the backup
        keeps the first original: undoing from it would also drop what earlier writes added,
        e.g. another photo's names in a shared sidecar). Not synced: it only serves this run."""
        original = Path(os.path.abspath(original))
        self.check_inside(original)
        if not original.exists():
            return BackupRecord(str(original), None, "", 0, 0, 0, time.time())
        folder = self.root / "snapshots"
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=original.name[:40] + ".", dir=folder)
        os.close(fd)
        st = original.stat()
        shutil.copyfile(original, name)
        return BackupRecord(str(original), name, sha256_file(Path(name)), st.st_size, st.st_mtime_ns,
                            st.st_mode & 0o7777, time.time())  # fmt: skip

    def restore_snapshot(self, snap: BackupRecord) -> None:
        """Put a file back as `snapshot` found it (byte-identical, same mtime), then drop it."""
        self.check_inside(Path(snap.original))
        _put_back(Path(snap.original), snap)
        self.drop_snapshot(snap)

    @staticmethod
    def drop_snapshot(snap: BackupRecord) -> None:
        if snap.backup is not None:
            Path(snap.backup).unlink(missing_ok=True)

    def discard(self, original: Path) -> None:
        """Forget a backup (after the user accepted the write, or by retention)."""
        self.backup_path(original).unlink(missing_ok=True)  # copy first: an orphan copy is adopted
        self.manifest_path(original).unlink(missing_ok=True)

    def records(self, unreadable: list[Path] | None = None) -> Iterator[BackupRecord]:
        """Every backup on record; a manifest that cannot be read is skipped, and appended to
        `unreadable` when given (a restore reports it instead of passing over it)."""
        base = self.root / "manifests"
        if not base.is_dir():
            return
        for manifest in sorted(base.rglob("*.json")):
            if manifest.name.startswith("."):
                continue
            try:
                yield BackupRecord(**json.loads(manifest.read_text("utf-8")))
            except (ValueError, TypeError, OSError):
                if unreadable is not None:
                    unreadable.append(manifest)

    def prune(self, retention_days: int, now: float | None = None) -> list[BackupRecord]:
        """Delete backups older than `retention_days` (0 keeps them forever); returns them.
        Snapshots a crashed run left behind go after a day, whatever the retention."""
        now = time.time() if now is None else now
        for leftover in (self.root / "snapshots").glob("*"):
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < now - 86400:
                    leftover.unlink()
        if retention_days <= 0:
            return []
        cutoff = now - retention_days * 86400
        pruned = [r for r in self.records() if r.created_at < cutoff]
        for r in pruned:
            self.discard(Path(r.original))
        return pruned

    def required_bytes(self, originals: Iterable[Path]) -> int:
        """Bytes the backups of these files would take (those already backed up cost nothing)."""
        total = 0
        for p in originals:
            if not self.manifest_path(p).is_file():
                with contextlib.suppress(OSError):
                    total += Path(p).stat().st_size
        return total


@dataclass(frozen=True)
class SpaceCheck:
    ok: bool
    message: str


def check_free_space(files: Iterable[Path], store: BackupStore, reserve_bytes: int) -> SpaceCheck:
    """Is there room to write these files? exiftool needs a temporary copy of the largest file
    next to it; the backups need the files not backed up yet; `reserve_bytes` must stay free on
    each volume. Volumes are told apart by device, so one shared disk counts everything once."""
    paths = [Path(p) for p in files]
    need: dict[int, int] = {}
    where: dict[int, Path] = {}
    largest: dict[int, int] = {}
    for p in paths:
        with contextlib.suppress(OSError):
            st = p.stat()
            largest[st.st_dev] = max(largest.get(st.st_dev, 0), st.st_size)
            where.setdefault(st.st_dev, p.parent)
    for dev, size in largest.items():
        need[dev] = need.get(dev, 0) + size
    store.root.mkdir(parents=True, exist_ok=True)
    data_dev = store.root.stat().st_dev
    where.setdefault(data_dev, store.root)
    need[data_dev] = need.get(data_dev, 0) + store.required_bytes(paths)
    for dev, bytes_needed in need.items():
        free = shutil.disk_usage(where[dev]).free
        if free - bytes_needed < reserve_bytes:
            return SpaceCheck(
                False,
                f"not enough free space on the volume of {where[dev]}: {free / 2**20:.0f} MiB free, "
                f"{bytes_needed / 2**20:.0f} MiB needed for the write and backups, and "
                f"{reserve_bytes / 2**20:.0f} MiB must stay free (write.min_free_mb)",
            )
    return SpaceCheck(True, "enough free space")
