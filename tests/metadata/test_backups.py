"""Backups before the first write: mirrored paths, first original kept, byte-identical restore,
crash leftovers, retention, free-space refusal."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tagmyphotos.metadata.backups import BackupError, BackupStore, check_free_space, sha256_file
from tests.support.base import REAL

PHOTO = REAL / "picasa.jpg"


@pytest.fixture()
def lib(tmp_path: Path) -> Path:
    (tmp_path / "library" / "2019" / "trip").mkdir(parents=True)
    shutil.copyfile(PHOTO, tmp_path / "library" / "2019" / "trip" / "a.jpg")
    return tmp_path / "library"


def test_backup_mirrors_the_library_and_keeps_the_first_original(lib: Path, tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "data" / "backups", lib)
    photo = lib / "2019" / "trip" / "a.jpg"
    original = photo.read_bytes()
    os.utime(photo, ns=(1_500_000_000_000_000_000, 1_500_000_000_000_000_000))
    record, created = store.ensure(photo)
    assert created and record.sha256 == sha256_file(photo) and record.size == len(original)
    assert Path(record.backup) == tmp_path / "data" / "backups" / "files" / "2019" / "trip" / "a.jpg"
    photo.write_bytes(original + b"first edit")
    again, created = store.ensure(photo)
    assert not created and again == record  # the intermediate version is not backed up
    photo.write_bytes(b"second edit")
    os.chmod(photo, 0o600)
    store.restore(photo)
    assert photo.read_bytes() == original
    assert photo.stat().st_mtime_ns == 1_500_000_000_000_000_000
    assert photo.stat().st_mode & 0o777 == 0o600  # today's permissions are kept
    assert [r.original for r in store.records()] == [str(photo)]


def test_absent_original_is_restored_by_deleting(lib: Path, tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "b", lib)
    sidecar = lib / "2019" / "trip" / "a.jpg.xmp"
    record, _ = store.ensure(sidecar)
    assert record.absent
    sidecar.write_text("<x:xmpmeta/>")
    store.restore(sidecar)
    assert not sidecar.exists()


def test_a_damaged_backup_is_never_restored(lib: Path, tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "b", lib)
    photo = lib / "2019" / "trip" / "a.jpg"
    record, _ = store.ensure(photo)
    photo.write_bytes(b"written")
    Path(record.backup).write_bytes(b"bit rot")
    with pytest.raises(BackupError, match="checksum"):
        store.restore(photo)
    assert photo.read_bytes() == b"written"  # left as it was rather than replaced by garbage
    assert not list(photo.parent.glob(".*restore*"))


def test_copy_without_manifest_is_adopted_not_overwritten(lib: Path, tmp_path: Path) -> None:
    """A crash between the copy and its manifest (or a manifest lost in a power cut): the copy
    is the first original, so a later write must not replace it with the written file."""
    store = BackupStore(tmp_path / "b", lib)
    photo = lib / "2019" / "trip" / "a.jpg"
    original = photo.read_bytes()
    record, _ = store.ensure(photo)
    store.manifest_path(photo).write_text("")  # truncated by the crash
    photo.write_bytes(b"written after the crash")
    adopted, created = store.ensure(photo)
    assert not created and adopted.sha256 == record.sha256
    store.restore(photo)
    assert photo.read_bytes() == original


def test_files_outside_the_library_and_discard(tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "b", tmp_path / "library")
    other = tmp_path / "elsewhere" / "x.jpg"
    other.parent.mkdir()
    other.write_bytes(b"x")
    record, _ = store.ensure(other)
    assert "_outside_library" in record.backup
    store.discard(other)
    assert store.get(other) is None and not Path(record.backup).exists()


def test_prune_by_age(lib: Path, tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "b", lib)
    photo = lib / "2019" / "trip" / "a.jpg"
    store.ensure(photo)
    assert store.prune(0) == []  # 0 = keep forever
    assert store.prune(30, now=time.time() + 29 * 86400) == []
    (pruned,) = store.prune(30, now=time.time() + 31 * 86400)
    assert pruned.original == str(photo) and store.get(photo) is None
    assert not Path(pruned.backup).exists()


def test_free_space_check_counts_backups_and_reserve(lib: Path, tmp_path: Path) -> None:
    store = BackupStore(tmp_path / "b", lib)
    photo = lib / "2019" / "trip" / "a.jpg"
    assert check_free_space([photo], store, reserve_bytes=1 << 20).ok
    free = shutil.disk_usage(tmp_path).free
    refused = check_free_space([photo], store, reserve_bytes=free)
    assert not refused.ok and "MiB" in refused.message
    assert store.required_bytes([photo]) == photo.stat().st_size
    store.ensure(photo)
    assert store.required_bytes([photo]) == 0


def test_snapshots_undo_one_write_and_are_pruned_after_a_day(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    store = BackupStore(tmp_path / "backups", lib)
    f = lib / "a.xmp"
    f.write_bytes(b"first")
    store.ensure(f)
    f.write_bytes(b"second")
    snap = store.snapshot(f)
    f.write_bytes(b"third, failed")
    store.restore_snapshot(snap)
    assert f.read_bytes() == b"second" and not Path(str(snap.backup)).exists()
    gone = lib / "new.xmp"
    absent = store.snapshot(gone)
    gone.write_bytes(b"created by a failed write")
    store.restore_snapshot(absent)
    assert not gone.exists()
    left = store.snapshot(f)  # a crash would leave this behind
    store.prune(0, now=time.time() + 3600)
    assert Path(str(left.backup)).exists()
    store.prune(0, now=time.time() + 2 * 86400)
    assert not Path(str(left.backup)).exists() and store.restore(f).sha256  # the backup itself stays
    assert f.read_bytes() == b"first"
