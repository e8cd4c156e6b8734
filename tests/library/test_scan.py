"""The scan stage on real files and real SQLite."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tagmyphotos.core import Core
from tagmyphotos.library.probe import probe_file, sniff_format
from tagmyphotos.library.scan import scan_library, walk_rules
from tagmyphotos.store import models as m
from tests.support.base import FACES, REAL


def _scan(core: Core):
    cfg = core.cfg
    rules = walk_rules(cfg.scan.extensions, cfg.scan.raw_extensions, cfg.scan.exclude, cfg.data)
    return scan_library(cfg.library, rules)


def test_first_scan_finds_all_photos_and_second_reads_nothing(core: Core) -> None:
    first = _scan(core)
    assert first.seen == 64 and len(first.new) == 64 and not first.errors
    assert m.Photo.select().count() == 64
    assert m.Photo.select().where(m.Photo.hash.is_null()).count() == 0
    webp = m.Photo.get(m.Photo.path == "img47.jpg")
    assert webp.format == "WEBP"  # by content, not by extension
    second = _scan(core)
    assert second.unchanged == 64 and second.files_read == 0 and not second.new


def test_rename_keeps_identity_delete_marks_missing_change_rehashes(core: Core) -> None:
    _scan(core)
    lib = core.cfg.library
    before = m.Photo.get(m.Photo.path == "img1.jpg")
    (lib / "sub").mkdir()
    os.rename(lib / "img1.jpg", lib / "sub" / "renamed.jpg")
    os.remove(lib / "img2.jpg")
    changed = lib / "img3.jpg"
    shutil.copyfile(FACES / "img4.jpg", changed)
    report = _scan(core)
    moved = m.Photo.get(m.Photo.path == "sub/renamed.jpg")
    assert moved.id == before.id and moved.hash == before.hash
    assert report.moved == [("img1.jpg", "sub/renamed.jpg")]
    assert m.Photo.get(m.Photo.path == "img2.jpg").state == m.PhotoState.MISSING
    row = m.Photo.get(m.Photo.path == "img3.jpg")
    assert row.id in report.changed and row.state == m.PhotoState.PENDING
    assert m.Photo.select().count() == 64  # nothing dropped, nothing duplicated
    # a missing file that comes back takes its old row again
    shutil.copyfile(FACES / "img2.jpg", lib / "img2.jpg")
    _scan(core)
    assert m.Photo.get(m.Photo.path == "img2.jpg").state != m.PhotoState.MISSING
    assert m.Photo.select().count() == 64


def test_permission_denied_is_recorded(tmp_path: Path) -> None:
    """Run the probe as an unprivileged user (CI runs as root, which reads any file)."""
    import tempfile

    from tagmyphotos.library.probe import FileProblem

    folder = Path(tempfile.mkdtemp(prefix="tmp-perm-"))
    os.chmod(folder, 0o755)
    target = folder / "locked.jpg"
    shutil.copyfile(FACES / "img1.jpg", target)
    os.chmod(target, 0)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(read_fd)
        message = b"no error"
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            probe_file(str(target), "image")
        except FileProblem as exc:
            message = str(exc).encode()
        except BaseException as exc:
            message = repr(exc).encode()
        os.write(write_fd, message)
        os._exit(0)
    os.close(write_fd)
    os.waitpid(pid, 0)
    message = os.read(read_fd, 1000).decode()
    shutil.rmtree(folder)
    assert "permission denied" in message


def test_bad_files_are_recorded_and_the_rest_succeeds(core: Core) -> None:
    lib = core.cfg.library
    (lib / "empty.jpg").write_bytes(b"")
    data = (FACES / "img1.jpg").read_bytes()
    (lib / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (lib / "notes.jpg").write_text("this is a text file, not a photo\n")
    (lib / "trunc.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    odd = os.fsencode(str(lib)) + b"/caf\xe9-latin1.jpg"
    with open(odd, "wb") as fh:
        fh.write(data)
    long_name = lib / ("x" * 240 + ".jpg")
    long_name.write_bytes(data)
    report = _scan(core)
    errors = dict(report.errors)
    assert "empty" in errors["empty.jpg"]
    assert "truncated" in errors["truncated.jpg"].lower() or "broken" in errors["truncated.jpg"]
    assert "not an image" in errors["notes.jpg"]
    assert "truncated PNG" in errors["trunc.png"]
    assert any("UTF-8" in msg for path, msg in report.errors if path.startswith("caf"))
    assert m.Photo.get(m.Photo.path == long_name.name).state == m.PhotoState.PENDING
    for name in ("empty.jpg", "truncated.jpg", "notes.jpg"):
        row = m.Photo.get(m.Photo.path == name)
        assert row.state == m.PhotoState.ERROR and row.last_error
    assert m.Photo.select().where(m.Photo.state == m.PhotoState.PENDING).count() == 65


def test_symlink_loops_and_links_out_of_the_library(core: Core, tmp_path: Path) -> None:
    lib = core.cfg.library
    (lib / "a").mkdir()
    os.symlink(lib, lib / "a" / "loop")  # a loop back to the root
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copyfile(FACES / "img1.jpg", outside / "secret.jpg")
    os.symlink(outside, lib / "escape")
    os.symlink(outside / "secret.jpg", lib / "escape.jpg")
    (lib / ".hidden").mkdir()
    shutil.copyfile(FACES / "img1.jpg", lib / ".hidden" / "h.jpg")
    report = _scan(core)
    assert report.seen == 64
    assert not m.Photo.select().where(m.Photo.path.contains("secret")).exists()


def test_excludes_and_data_folder_inside_library(library: Path) -> None:
    from tests.support.base import make_config

    data = library / "tagmyphotos-data"
    cfg = make_config(library, data, TAGMYPHOTOS_SCAN__EXCLUDE='["skip/**"]')
    (library / "skip").mkdir()
    shutil.copyfile(FACES / "img1.jpg", library / "skip" / "x.jpg")
    (data / "backups").mkdir(parents=True)
    shutil.copyfile(FACES / "img1.jpg", data / "backups" / "b.jpg")
    core = Core(cfg)
    try:
        assert _scan(core).seen == 64
    finally:
        core.close()


def test_sniff_and_probe() -> None:
    assert sniff_format(b"RIFF\0\0\0\0WEBPVP8 ") == "WEBP"
    assert sniff_format(b"\0\0\0\x18ftypheic") == "HEIF"
    probe = probe_file(str(FACES / "img1.jpg"), "image")
    assert probe.format == "JPEG" and probe.width and probe.height and len(probe.hash) == 32


def test_a_truncated_jpeg_is_told_by_its_structure_and_a_long_trailer_by_decoding(tmp_path: Path) -> None:
    """Whole: an end-of-image marker after the image data starts (no decode). Cut anywhere in
    the image data, or so early that only an embedded thumbnail's end marker is left: refused.
    A trailer longer than the looked-at tail (a motion photo's video) is proved by decoding."""
    from tagmyphotos.jpeg import image_data_offset
    from tagmyphotos.library import probe
    from tagmyphotos.library.probe import FileProblem

    # a JPEG whose metadata holds an end-of-image marker, as an EXIF thumbnail does: a comment
    # segment (FF FE, length, body) carrying FF D9, put right after the start-of-image marker
    original = (REAL / "portrait.jpg").read_bytes()
    body = b"thumbnail ends: \xff\xd9"
    data = original[:2] + b"\xff\xfe" + (len(body) + 2).to_bytes(2, "big") + body + original[2:]
    source = tmp_path / "with-marker-in-metadata.jpg"
    source.write_bytes(data)
    start = image_data_offset(source)
    assert 0 < data.find(b"\xff\xd9") < start  # that marker comes before the image data
    whole = probe_file(str(source), "image")
    for cut in (start + 10, start + (len(data) - start) // 2, len(data) - 2):
        truncated = tmp_path / f"cut{cut}.jpg"
        truncated.write_bytes(data[:cut])
        try:
            probe_file(str(truncated), "image")
        except FileProblem as exc:
            assert "broken JPEG" in str(exc)
        else:
            raise AssertionError(f"a JPEG cut at {cut} of {len(data)} was accepted")
    trailer = tmp_path / "motion.jpg"
    trailer.write_bytes(data + bytes(range(1, 255)) * 8000)  # 2 MB after the end, no FF D9 in it
    decoded: list[str] = []
    real_ends = probe._jpeg_ends

    def ends(abspath: str, size: int, tail: bytes) -> bool:
        answer = real_ends(abspath, size, tail)
        decoded.append(abspath) if not answer else None
        return answer

    probe._jpeg_ends = ends
    try:
        long_tail = probe_file(str(trailer), "image")
        again = probe_file(str(source), "image")
    finally:
        probe._jpeg_ends = real_ends
    assert decoded == [str(trailer)]  # the whole photo needed no decode; the long trailer did
    assert (long_tail.width, long_tail.height, long_tail.orientation) == (whole.width, whole.height, whole.orientation)
    assert again == whole


def test_reference_photos_taught_from_outside_are_not_scanned_or_purged(core: Core) -> None:
    ref = m.Photo.create(
        path="@teach/Ada/a.jpg", kind="reference", size=1, mtime=1.0, hash="x", state=m.PhotoState.DONE
    )
    _scan(core)
    _scan(core)
    assert m.Photo.get_by_id(ref.id).state == m.PhotoState.DONE


def test_new_photos_inserted_in_batches_keep_order_defaults_and_errors(core: Core) -> None:
    """More new files than one INSERT batch, unreadable ones among them: every file gets its
    own row (ids in walk order), the readable ones pending, the broken ones in error."""
    from tagmyphotos.library import scan

    lib = core.cfg.library
    (lib / "many").mkdir()
    source = shutil.copyfile(FACES / "img1.jpg", lib.parent / "one.jpg")  # outside the library
    for i in range(scan._INSERT_BATCH + 37):
        target = lib / "many" / f"n{i:04d}.jpg"
        if i % 100 == 7:
            target.write_bytes(source.read_bytes()[:300])  # truncated: an error row
        else:
            os.link(source, target)
    report = _scan(core)
    total = 64 + scan._INSERT_BATCH + 37
    broken = {f"many/n{i:04d}.jpg" for i in range(scan._INSERT_BATCH + 37) if i % 100 == 7}
    assert report.seen == total and len(report.new) == total == len(set(report.new))
    assert {path for path, _ in report.errors} == broken
    rows = {r.id: r for r in m.Photo.select()}
    assert sorted(report.new) == sorted(rows)
    paths = [rows[i].path for i in report.new]
    assert paths[64:] == sorted(p for p in paths if p.startswith("many/"))  # walk order kept
    for row in rows.values():
        assert row.created_at is not None and row.updated_at is not None
        if row.path in broken:
            assert row.state == m.PhotoState.ERROR and row.last_error and row.hash is None
        else:
            assert row.state == m.PhotoState.PENDING and row.format and row.width and row.orientation == 1
    again = _scan(core)
    assert again.unchanged == total - len(broken) and again.files_read == len(broken) and not again.new


def test_file_patterns_exclude_files_and_folder_patterns_exclude_folders(library: Path) -> None:
    """Folder patterns ("x/**") are checked at the folder only; file patterns at every file."""
    from tests.support.base import make_config

    cfg = make_config(library, library.parent / "data", TAGMYPHOTOS_SCAN__EXCLUDE='["a/**/b/**", "*_tmp.jpg"]')
    for folder in ("a/x/b", "a/x/c", "b"):
        (library / folder).mkdir(parents=True)
        shutil.copyfile(FACES / "img1.jpg", library / folder / "p.jpg")
        shutil.copyfile(FACES / "img1.jpg", library / folder / "p_tmp.jpg")
    core = Core(cfg)
    try:
        _scan(core)
        paths = {r.path for r in m.Photo.select() if "/" in r.path}
        assert paths == {"a/x/c/p.jpg", "b/p.jpg"}
    finally:
        core.close()


def test_asks_to_stop_rarely_and_a_stop_keeps_what_it_read(core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking whether to stop is a query: every CHECK_EVERY files and before each read, not at
    every unchanged file. A stop before a read keeps the rows read so far and marks nothing
    missing; more gone photos than one statement's chunk are all marked missing."""
    from tagmyphotos.library import scan
    from tagmyphotos.store import db

    # statements of at most 300 items here, so that the 1,100 gone photos take several
    monkeypatch.setattr(scan, "chunked", lambda items, size=300: db.chunked(items, min(size, 300)))
    cfg, lib = core.cfg, core.cfg.library
    rules = walk_rules(cfg.scan.extensions, cfg.scan.raw_extensions, cfg.scan.exclude, cfg.data)
    source = shutil.copyfile(FACES / "img1.jpg", lib.parent / "one.jpg")  # outside the library
    (lib / "many").mkdir()
    extra = scan.CHECK_EVERY * 2 + 100
    for i in range(extra):
        os.link(source, lib / "many" / f"n{i:04d}.jpg")
    _scan(core)
    asked: list[int] = []

    def count(answer_after: int) -> bool:
        asked.append(1)
        return len(asked) > answer_after

    again = scan_library(lib, rules, should_stop=lambda: count(10**6))
    assert again.unchanged == 64 + extra and again.files_read == 0
    assert len(asked) == (64 + extra) // scan.CHECK_EVERY + 1  # the ticks, and once at the end
    (lib / "new").mkdir()
    for i in range(20):
        shutil.copyfile(FACES / f"img{i + 1}.jpg", lib / "new" / f"c{i:02d}.jpg")
    asked.clear()
    stopped = scan_library(lib, rules, should_stop=lambda: count(5))  # the walk reaches new/ last
    read = 5 - (64 + extra) // scan.CHECK_EVERY  # five answers: the ticks in many/, then reads
    assert stopped.files_read == read and len(stopped.new) == read and not stopped.missing
    assert m.Photo.select().where(m.Photo.path.startswith("new/")).count() == read
    shutil.rmtree(lib / "many")
    gone = _scan(core)
    assert len(gone.missing) == extra and len(gone.new) == 20 - read
    assert m.Photo.select().where(m.Photo.state == m.PhotoState.MISSING).count() == extra


def test_a_failed_photo_is_tried_again_when_its_file_is_touched(core: Core) -> None:
    """Same content but a new mtime: a done photo keeps its analysis; a failed one (perhaps read
    while a copy was still writing it) is analysed again."""
    _scan(core)
    lib = core.cfg.library
    failed, done = m.Photo.get(m.Photo.path == "img1.jpg"), m.Photo.get(m.Photo.path == "img2.jpg")
    m.Photo.update(state=m.PhotoState.FAILED, last_error="read while it changed").where(
        m.Photo.id == failed.id
    ).execute()
    m.Photo.update(state=m.PhotoState.DONE).where(m.Photo.id == done.id).execute()
    untouched = _scan(core)
    assert untouched.files_read == 0 and m.Photo.get_by_id(failed.id).state == m.PhotoState.FAILED
    for name in ("img1.jpg", "img2.jpg"):
        os.utime(lib / name, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    touched = _scan(core)
    assert touched.files_read == 2 and touched.changed == [failed.id]
    assert m.Photo.get_by_id(failed.id).state == m.PhotoState.PENDING
    assert m.Photo.get_by_id(done.id).state == m.PhotoState.DONE
