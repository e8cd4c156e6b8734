"""The pipelined bulk writer (`MetadataWriter.write_many`) with the real exiftool: it reads and
backs up the next photo while exiftool writes this one, so these tests check what that must
not change — every outcome as a one-by-one write would give it, photos whose names differ
only in the extension in their own sidecars, a stop or a dead exiftool leaving no photo half done."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from tagmyphotos.geometry import NormBox
from tagmyphotos.metadata import write as metadata_write
from tagmyphotos.metadata.backups import BackupStore
from tagmyphotos.metadata.exiftool import ExifToolSession
from tagmyphotos.metadata.plan import PersonRegion, WriteOptions
from tagmyphotos.metadata.read import PERSON_IN_IMAGE, read_photo
from tagmyphotos.metadata.write import MetadataWriter, WriteError, WriteItem, WriteResult
from tests.support.base import FACES

ADA = PersonRegion("Ada Lovelace", NormBox(0.3, 0.2, 0.2, 0.25))
ALAN = PersonRegion("Alan Turing", NormBox(0.6, 0.3, 0.15, 0.2))


@pytest.fixture(scope="module")
def session():
    with ExifToolSession() as s:
        yield s


def library(tmp_path: Path, names: list[str]) -> list[Path]:
    lib = tmp_path / "library"
    lib.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        dst = lib / name
        shutil.copyfile(FACES / f"img{len(out) + 1}.jpg", dst)
        os.chmod(dst, 0o644)
        out.append(dst)
    return out


def writer(session: ExifToolSession, tmp_path: Path, **opts) -> MetadataWriter:
    return MetadataWriter(session, BackupStore(tmp_path / "backups", tmp_path / "library"), WriteOptions(**opts))


def names_in(session: ExifToolSession, path: Path, sidecar: Path | None = None) -> dict[str, set[str]]:
    meta = read_photo(session, path, sidecar)
    tags = meta.sidecar if sidecar is not None else meta.embedded
    assert tags is not None
    return {
        "regions": {str(r.name) for r in tags.mwg_regions},
        "people": set(tags.keywords.get(PERSON_IN_IMAGE, [])),
    }


def test_outcomes_equal_one_by_one_writes_and_rerun_is_a_no_op(session: ExifToolSession, tmp_path: Path) -> None:
    photos = library(tmp_path / "a", [f"p{i}.jpg" for i in range(6)])
    twins = library(tmp_path / "b", [f"p{i}.jpg" for i in range(6)])
    wanted = [[ADA], [ALAN], [ADA, ALAN], [], [ALAN, ADA], [ADA]]
    bulk = list(
        writer(session, tmp_path / "a").write_many(WriteItem(p, w) for p, w in zip(photos, wanted, strict=True))
    )
    one_by_one = [writer(session, tmp_path / "b").write(p, w) for p, w in zip(twins, wanted, strict=True)]
    assert [item.photo for item, _ in bulk] == photos  # in order, one outcome each
    for (_, got), want, p, q in zip(bulk, one_by_one, photos, twins, strict=True):
        assert isinstance(got, WriteResult)
        assert (got.status, got.mode, got.changes) == (want.status, want.mode, want.changes)
        assert p.read_bytes() == q.read_bytes()  # the very same bytes as a one-by-one write
    written = [p.read_bytes() for p in photos]
    again = list(
        writer(session, tmp_path / "a").write_many(WriteItem(p, w) for p, w in zip(photos, wanted, strict=True))
    )
    assert {o.status for _, o in again if isinstance(o, WriteResult)} == {"unchanged"} and len(again) == 6
    assert [p.read_bytes() for p in photos] == written


def test_photos_sharing_a_stem_get_their_own_sidecars(session: ExifToolSession, tmp_path: Path) -> None:
    """photo.jpg and photo.jpeg would share photo.xmp (issue 25, item 7: the second one's
    people and size then described both): each gets photo.ext.xmp, written side by side."""
    a, b, c = library(tmp_path, ["photo.jpg", "photo.jpeg", "other.jpg"])
    w = writer(session, tmp_path, mode="sidecar", sidecar_naming="photo.xmp")
    items = [WriteItem(a, [ADA]), WriteItem(b, [ALAN], managed=["Alan Turing"]), WriteItem(c, [ALAN])]
    outcomes = {i.photo: o for i, o in w.write_many(items)}
    assert all(isinstance(o, WriteResult) and o.status == "written" for o in outcomes.values())
    assert not a.with_suffix(".xmp").exists() and c.with_suffix(".xmp").exists()
    assert names_in(session, a, Path(f"{a}.xmp")) == {"regions": {"Ada Lovelace"}, "people": {"Ada Lovelace"}}
    assert names_in(session, b, Path(f"{b}.xmp")) == {"regions": {"Alan Turing"}, "people": {"Alan Turing"}}
    assert "photo.jpeg shares the name" in outcomes[a].warning


def test_the_same_photo_twice_in_a_row_ends_as_the_last_item_says(session: ExifToolSession, tmp_path: Path) -> None:
    (photo,) = library(tmp_path, ["twice.jpg"])
    w = writer(session, tmp_path)
    items = [WriteItem(photo, [ADA]), WriteItem(photo, [ALAN], managed=["Ada Lovelace"])]
    statuses = [o.status for _, o in w.write_many(items) if isinstance(o, WriteResult)]
    assert statuses == ["written", "written"]
    assert names_in(session, photo) == {"regions": {"Alan Turing"}, "people": {"Alan Turing"}}
    original = BackupStore(tmp_path / "backups", tmp_path / "library").get(photo)
    assert original is not None and Path(str(original.backup)).read_bytes() == (FACES / "img1.jpg").read_bytes()


def test_a_failing_photo_does_not_stop_its_neighbours(session: ExifToolSession, tmp_path: Path) -> None:
    good1, bad, good2 = library(tmp_path, ["a.jpg", "b.jpg", "c.jpg"])
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 3])  # truncated JPEG
    damaged = bad.read_bytes()
    outcomes = [o for _, o in writer(session, tmp_path).write_many(WriteItem(p, [ADA]) for p in (good1, bad, good2))]
    assert isinstance(outcomes[0], WriteResult) and isinstance(outcomes[2], WriteResult)
    assert isinstance(outcomes[1], WriteError) and "damaged" in outcomes[1].reason
    assert bad.read_bytes() == damaged and outcomes[1].restored is None  # never touched


def test_stopping_early_writes_nothing_more(session: ExifToolSession, tmp_path: Path) -> None:
    """Closing the iterator after the first outcome (a cancel) leaves every later photo as it
    was, and the session answers the next command at once."""
    photos = library(tmp_path, [f"s{i}.jpg" for i in range(5)])
    before = [p.read_bytes() for p in photos]
    outcomes = writer(session, tmp_path).write_many(WriteItem(p, [ADA]) for p in photos)
    first = next(outcomes)
    outcomes.close()
    assert first[0].photo == photos[0] and photos[0].read_bytes() != before[0]
    assert [p.read_bytes() for p in photos[1:]] == before[1:]
    assert writer(session, tmp_path).write(photos[4], [ALAN]).status == "written"


def test_a_stop_request_writes_nothing_more(session: ExifToolSession, tmp_path: Path) -> None:
    """The job's cancel: `stop()` turns true after the first outcome; the next photo, already
    read and backed up, is not written, nor any after it."""
    photos = library(tmp_path, [f"c{i}.jpg" for i in range(4)])
    before = [p.read_bytes() for p in photos]
    done: list[Path] = []
    for item, outcome in writer(session, tmp_path).write_many(
        (WriteItem(p, [ADA], key=i) for i, p in enumerate(photos)), stop=lambda: bool(done)
    ):
        assert isinstance(outcome, WriteResult) and outcome.status == "written" and item.key == 0
        done.append(item.photo)
    assert done == photos[:1]
    assert [p.read_bytes() for p in photos[1:]] == before[1:]


def test_exiftool_dying_mid_run_leaves_every_photo_whole(tmp_path: Path) -> None:
    """kill -9 of exiftool (waited for until it is gone) while a read-ahead is queued: the next
    command notices at once — no wait for an answer the dead process will never give — the
    lost read fails only its own photo, untouched, and a fresh exiftool writes the rest."""
    photos = library(tmp_path, [f"k{i}.jpg" for i in range(6)])
    originals = {p: p.read_bytes() for p in photos}
    with ExifToolSession(timeout_s=30) as session:
        w = writer(session, tmp_path)
        outcomes: dict[Path, WriteResult | WriteError] = {}
        started = time.monotonic()
        for item, outcome in w.write_many(WriteItem(p, [ADA]) for p in photos):
            outcomes[item.photo] = outcome
            if len(outcomes) == 2:
                proc = session._et._process if session._et is not None else None
                assert proc is not None
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        assert time.monotonic() - started < 15  # far below the 30 s answer timeout
        assert list(outcomes) == photos
        failed = [p for p, o in outcomes.items() if isinstance(o, WriteError)]
        assert len(failed) <= 1  # at most the read queued to the dead process
        for p, outcome in outcomes.items():
            if isinstance(outcome, WriteError):
                assert p.read_bytes() == originals[p] and outcome.restored is None
            else:
                assert outcome.status == "written" and w.check(p, [ADA]) == (True, "verified")


def test_a_sidecar_sibling_is_read_after_a_failed_write_was_undone(
    session: ExifToolSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """photo.jpg's write to its sidecar fails verification and is undone (slowly, as on a NAS);
    photo.jpeg, two places later, has a name that differs only in the extension: it gets its
    own sidecar, written, and the failed one leaves nothing behind."""
    first, other, sibling = library(tmp_path, ["photo.jpg", "other.jpg", "photo.jpeg"])
    real_verify, real_restore = metadata_write.verify_written, BackupStore.restore

    def failing_verify(target, before, plan, photo_stat, after):
        if before.path == first:
            raise WriteError(first, "verification failed: simulated")
        return real_verify(target, before, plan, photo_stat, after)

    def slow_restore(self, original):
        time.sleep(0.3)
        return real_restore(self, original)

    monkeypatch.setattr(metadata_write, "verify_written", failing_verify)
    monkeypatch.setattr(BackupStore, "restore", slow_restore)
    w = writer(session, tmp_path, mode="sidecar", sidecar_naming="photo.xmp")
    outcomes = {i.photo: o for i, o in w.write_many(WriteItem(p, [ADA]) for p in (first, other, sibling))}
    assert isinstance(outcomes[first], WriteError) and outcomes[first].restored is True
    assert isinstance(outcomes[sibling], WriteResult) and outcomes[sibling].status == "written"
    assert names_in(session, sibling, Path(f"{sibling}.xmp"))["regions"] == {"Ada Lovelace"}
    assert not Path(f"{first}.xmp").exists() and not first.with_suffix(".xmp").exists()


def test_a_failed_rewrite_undoes_only_itself(
    session: ExifToolSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second write that fails verification puts back the file as the first write left it
    (a snapshot), not the first original from the backup: what earlier writes added stays,
    here Ada in the photo and Ada in the sidecar of photo.jpg (photo.jpg.xmp: photo.jpeg
    shares its stem)."""
    photo, first, _sibling = library(tmp_path, ["renamed.jpg", "photo.jpg", "photo.jpeg"])
    in_file = writer(session, tmp_path)
    sidecars = writer(session, tmp_path, mode="sidecar", sidecar_naming="photo.xmp")
    assert in_file.write(photo, [ADA]).status == "written"
    assert sidecars.write(first, [ADA], ["Ada Lovelace"]).status == "written"
    after_first = {p: p.read_bytes() for p in (photo, Path(f"{first}.xmp"))}
    real_verify = metadata_write.verify_written

    def failing_verify(target, before, plan, photo_stat, after):
        raise WriteError(before.path, "verification failed: simulated")

    monkeypatch.setattr(metadata_write, "verify_written", failing_verify)
    with pytest.raises(WriteError) as renamed:
        in_file.write(photo, [ALAN], ["Ada Lovelace"])
    with pytest.raises(WriteError) as shared:
        sidecars.write(first, [ALAN], ["Ada Lovelace"])
    assert renamed.value.restored is True and shared.value.restored is True
    assert {p: p.read_bytes() for p in after_first} == after_first
    assert not list((tmp_path / "backups" / "snapshots").glob("*"))  # dropped after use
    monkeypatch.setattr(metadata_write, "verify_written", real_verify)
    original = BackupStore(tmp_path / "backups", tmp_path / "library").restore(photo)
    assert photo.read_bytes() == (FACES / "img1.jpg").read_bytes() and original.backup is not None
