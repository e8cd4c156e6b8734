"""Bulk writes in lanes (one thread and one exiftool each), real files and the real exiftool:
the same result as one writer, no two lanes on one file, a stop that leaves no photo half done,
a lane's crash raised in the caller."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from tagmyphotos.geometry import NormBox
from tagmyphotos.metadata.backups import BackupStore
from tagmyphotos.metadata.bulk import lane_key, lane_of, write_in_lanes
from tagmyphotos.metadata.exiftool import ExifToolSession
from tagmyphotos.metadata.plan import PersonRegion, WriteOptions
from tagmyphotos.metadata.read import PERSON_IN_IMAGE, read_photo
from tagmyphotos.metadata.write import MetadataWriter, WriteItem, WriteResult
from tests.support.base import FACES

ADA = PersonRegion("Ada Lovelace", NormBox(0.3, 0.2, 0.2, 0.25))
ALAN = PersonRegion("Alan Turing", NormBox(0.6, 0.3, 0.15, 0.2))


def library(root: Path, count: int) -> list[Path]:
    lib = root / "library"
    lib.mkdir(parents=True)
    out = []
    for i in range(count):
        dst = lib / f"p{i:02d}.jpg"
        shutil.copyfile(FACES / f"img{i % 12 + 1}.jpg", dst)
        os.chmod(dst, 0o644)
        out.append(dst)
    return out


def writers(root: Path, n: int, **opts) -> list[MetadataWriter]:
    store = BackupStore(root / "backups", root / "library")
    return [MetadataWriter(ExifToolSession(), store, WriteOptions(**opts)) for _ in range(n)]


def close(ws: list[MetadataWriter]) -> None:
    for w in ws:
        w.session.close()


def test_lane_keys_keep_photos_that_could_share_a_sidecar_together() -> None:
    lib = Path("/lib/Trip")
    same = [lib / "IMG_1.JPG", lib / "img_1.cr2", lib / "IMG_1.jpg.png", lib / "IMG_1.xmp"]
    assert len({lane_key(p) for p in same}) == 1
    assert lane_key(lib / "IMG_1.jpg") != lane_key(lib / "IMG_10.jpg") != lane_key(Path("/lib/Other/IMG_1.jpg"))
    spread = {lane_of(lib / f"IMG_{i}.jpg", 2) for i in range(20)}
    assert spread == {0, 1}


def test_two_lanes_write_what_one_writer_writes(tmp_path: Path) -> None:
    photos = library(tmp_path / "two", 16)
    twins = library(tmp_path / "one", 16)
    wanted = {i: [ADA] if i % 3 else [ADA, ALAN] for i in range(16)}
    two = writers(tmp_path / "two", 2)
    one = writers(tmp_path / "one", 1)
    try:
        got = list(write_in_lanes(two, (WriteItem(p, wanted[i], key=i) for i, p in enumerate(photos))))
        ref = list(write_in_lanes(one, (WriteItem(p, wanted[i], key=i) for i, p in enumerate(twins))))
    finally:
        close(two + one)
    assert sorted(item.key for item, _ in got) == list(range(16))
    assert [item.key for item, _ in ref] == list(range(16))  # one lane: in order
    assert all(isinstance(o, WriteResult) and o.status == "written" for _, o in got)
    assert [p.read_bytes() for p in photos] == [p.read_bytes() for p in twins]


def test_stem_pairs_in_two_lanes_get_their_own_sidecars(tmp_path: Path) -> None:
    """Pairs photo.jpg + photo.jpeg would share photo.xmp (issue 25, item 7): with two lanes
    each photo still ends with its own photo.ext.xmp naming only its own person."""
    lib = tmp_path / "library"
    lib.mkdir()
    items = []
    for i in range(6):
        for ext, who in ((".jpg", ADA), (".jpeg", ALAN)):
            p = lib / f"pair{i}{ext}"
            shutil.copyfile(FACES / f"img{i + 1}.jpg", p)
            items.append(WriteItem(p, [who], managed=[who.name]))
    ws = writers(tmp_path, 2, mode="sidecar", sidecar_naming="photo.xmp")
    try:
        outcomes = [o for _, o in write_in_lanes(ws, items)]
        assert all(isinstance(o, WriteResult) and o.status == "written" for o in outcomes)
        for i in range(6):
            assert not (lib / f"pair{i}.xmp").exists()
            for ext, who in ((".jpg", ADA), (".jpeg", ALAN)):
                meta = read_photo(ws[0].session, lib / f"pair{i}{ext}", lib / f"pair{i}{ext}.xmp")
                assert meta.sidecar is not None
                assert {r.name for r in meta.sidecar.mwg_regions} == {who.name}
                assert set(meta.sidecar.keywords[PERSON_IN_IMAGE]) == {who.name}
    finally:
        close(ws)


def test_a_stop_writes_nothing_more_and_reports_what_was_under_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_start = MetadataWriter._start_write

    def slow_start(self, step):  # each write takes longer than the caller needs to stop
        time.sleep(0.2)
        return real_start(self, step)

    monkeypatch.setattr(MetadataWriter, "_start_write", slow_start)
    photos = library(tmp_path, 20)
    before = {p: p.read_bytes() for p in photos}
    ws = writers(tmp_path, 2)
    stop = threading.Event()
    done = []
    try:
        for item, outcome in write_in_lanes(ws, (WriteItem(p, [ADA]) for p in photos), stop=stop):
            assert isinstance(outcome, WriteResult) and outcome.status == "written"
            done.append(item.photo)
            stop.set()
    finally:
        close(ws)
    assert 1 <= len(done) <= 4  # the first, and at most two more per lane (one reported, one under way)
    for p in photos:
        if p in done:
            assert ws[0].check(p, [ADA]) == (True, "verified")
        else:
            assert p.read_bytes() == before[p]  # reported or untouched: nothing in between


class Boom(BaseException):
    """A crash no per-photo handler catches (as a bug in a lane would be)."""


def test_a_crashing_lane_is_raised_after_every_finished_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photos = library(tmp_path, 12)
    before = {p: p.read_bytes() for p in photos}
    ws = writers(tmp_path, 2)
    real = MetadataWriter._prepare

    def broken(self, step, dry_run):
        if step.photo.name == "p05.jpg":
            raise Boom("simulated")
        return real(self, step, dry_run)

    monkeypatch.setattr(MetadataWriter, "_prepare", broken)
    reported = set()
    try:
        with pytest.raises(Boom, match="simulated"):
            for item, _ in write_in_lanes(ws, (WriteItem(p, [ADA]) for p in photos)):
                reported.add(item.photo)
    finally:
        close(ws)
    assert not [t for t in threading.enumerate() if t.name.startswith("write-lane-")]  # all joined
    changed = {p for p in photos if p.read_bytes() != before[p]}
    assert changed == reported  # every photo written was reported before the crash was raised
