"""The write stage end to end on real files with the real exiftool: write, rerun, rename, restore."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest

from tagmyphotos.core import Core
from tagmyphotos.metadata.write import MetadataWriter
from tagmyphotos.review.confirm import confirm
from tagmyphotos.review.people import rename_person
from tagmyphotos.stages import write as writes
from tagmyphotos.stages.write import desired_tags, preview
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tests.support.base import EXIFTOOL, REAL, copy_tree, make_config, people_in, run, scan_and_analyze


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def face_of(path: str) -> m.Face:
    return m.Face.select().join(m.Photo).where(m.Photo.path == path).order_by(m.Face.x).first()


def test_write_rerun_rename_restore(analysed_core: Core) -> None:
    core = analysed_core
    lib = core.cfg.library
    originals = {p: sha(lib / p) for p in ("img1.jpg", "img2.jpg", "couple.jpg")}
    confirm(core, [face_of("img1.jpg").id, face_of("img2.jpg").id], "Angelina Jolie")
    confirm(core, [face_of("couple.jpg").id], "Someone\nElse -x")  # a hostile name, sanitised
    total, files = preview(core)
    assert total == 3 and all(f.changes for f in files)
    assert all(sha(lib / p) == h for p, h in originals.items())  # a preview writes nothing

    job = run(core, "write")
    assert job.state == m.JobState.DONE and job.result["written"] == 3, job.result
    tags = people_in(lib / "img1.jpg")
    region = tags["RegionInfo"]["RegionList"]
    region = region[0] if isinstance(region, list) else region
    assert region["Name"] == "Angelina Jolie" and region["Type"] == "Face"
    assert {"W", "H", "Unit"} <= set(tags["RegionInfo"]["AppliedToDimensions"])
    assert "Angelina Jolie" in str(tags["PersonInImage"])
    couple = people_in(lib / "couple.jpg")
    assert "\n" not in json.dumps(couple["PersonInImage"]) and "Someone" in str(couple["PersonInImage"])
    audit = m.WriteAudit.select().where(m.WriteAudit.job == job.id, m.WriteAudit.result == "ok").count()
    assert audit == 3
    # the photo rows follow our own write: a rescan does not re-analyse them
    scan_and_analyze(core)
    assert m.Photo.get(m.Photo.path == "img1.jpg").state == m.PhotoState.DONE

    written = {p: sha(lib / p) for p in originals}
    again = run(core, "write")
    assert again.result["files"] == 0  # nothing changed: no write at all
    assert {p: sha(lib / p) for p in originals} == written

    person = m.Person.get(m.Person.name == "Angelina Jolie")
    rename_person(core, person.id, "Angelina")
    assert sum(t.needs_write for t in desired_tags(core.cfg)) == 2
    run(core, "write")
    names = str(people_in(lib / "img2.jpg")["PersonInImage"])
    assert "Angelina" in names and "Jolie" not in names

    restored = run(core, "restore", all=True)
    assert restored.state == m.JobState.DONE and restored.result["restored"] == 3
    assert {p: sha(lib / p) for p in originals} == originals  # byte-identical originals
    assert m.Photo.get(m.Photo.path == "img1.jpg").written_signature is None


def test_webp_named_jpg_goes_to_a_sidecar(analysed_core: Core) -> None:
    core = analysed_core
    lib = core.cfg.library
    before = sha(lib / "img47.jpg")
    confirm(core, [face_of("img47.jpg").id], "Web P")
    job = run(core, "write")
    assert job.result["written"] == 1, job.result
    assert sha(lib / "img47.jpg") == before
    sidecar = lib / "img47.jpg.xmp"
    assert sidecar.exists() and "Web P" in str(people_in(sidecar)["PersonInImage"])
    row = m.WriteAudit.get(m.WriteAudit.path == "img47.jpg", m.WriteAudit.result == "ok")
    assert row.mode == "sidecar" and row.note
    run(core, "restore", paths=["img47.jpg"])
    assert not sidecar.exists()


def test_import_of_existing_regions_names_the_right_faces(tmp_path: Path) -> None:
    lib = copy_tree(REAL, tmp_path / "library", "portrait*.jpg")
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        scan_and_analyze(core)
        for name in ("portrait.jpg", "portrait-orientation-6.jpg"):
            photo = m.Photo.get(m.Photo.path == name)
            named = {
                f.person.name: f
                for f in m.Face.select().where((m.Face.photo == photo.id) & (m.Face.state == m.FaceState.CONFIRMED))
            }
            assert set(named) == {"Marie Curie", "Pierre Curie"}, name
            # in the displayed photo Marie sits to the left of Pierre in both files
            assert named["Marie Curie"].x < named["Pierre Curie"].x, name
            assert photo.written_signature is not None  # nothing to write back
        assert m.Person.select().count() == 2
        assert m.Person.get(m.Person.name == "Marie Curie").face_count == 2
    finally:
        core.close()


def test_a_known_persons_region_written_by_another_tool_stays(analysed_core: Core) -> None:
    core = analysed_core
    lib = core.cfg.library
    foreign = (
        "{AppliedToDimensions={W=100,H=100,Unit=pixel},RegionList=[{Name=Angelina Jolie,Type=Face,"
        "Area={X=0.1,Y=0.1,W=0.05,H=0.05,Unit=normalized}}]}"
    )
    subprocess.run([str(EXIFTOOL), "-overwrite_original", f"-XMP-mwg-rs:RegionInfo={foreign}",
                    str(lib / "img3.jpg")], check=True, capture_output=True)  # fmt: skip
    core.cfg.matching.import_existing = False  # the region must stay because it is foreign, not imported
    scan_and_analyze(core)
    confirm(core, [face_of("img1.jpg").id], "Angelina Jolie")  # a person we know...
    face3 = next(f for f in m.Face.select().join(m.Photo).where(m.Photo.path == "img3.jpg") if f.source == "detected")
    confirm(core, [face3.id], "Bob")
    assert run(core, "write").result["failed"] == 0
    regions = people_in(lib / "img3.jpg")["RegionInfo"]["RegionList"]
    names = sorted(r["Name"] for r in (regions if isinstance(regions, list) else [regions]))
    assert names == ["Angelina Jolie", "Bob"]  # ...whose region on img3 another tool wrote: kept


def test_the_write_job_uses_two_lanes_and_a_cancel_loses_nothing(
    analysed_core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled as soon as the first photo is recorded: the photos under way are finished and
    audited, no other photo is touched, and the next job writes exactly the rest."""
    core = analysed_core
    lib = core.cfg.library
    assert core.cfg.write.workers == 2
    photos = [f"img{i}.jpg" for i in range(1, 13)]
    confirm(core, [face_of(p).id for p in photos], "Ada Lovelace")
    originals = {p: sha(lib / p) for p in photos}
    real_record = writes._record

    def record_then_cancel(core, ctx, tags, outcome, dry_run):  # the user presses Cancel now
        jobs_store.request_cancel(ctx.job_id)
        return real_record(core, ctx, tags, outcome, dry_run)

    real_start = MetadataWriter._start_write

    def slow_start(self, step):  # each write takes longer than the job needs to see the cancel
        time.sleep(0.2)
        return real_start(self, step)

    monkeypatch.setattr(writes, "_record", record_then_cancel)
    monkeypatch.setattr(MetadataWriter, "_start_write", slow_start)
    job = run(core, "write")
    assert job.state == m.JobState.CANCELLED
    done = {a.path for a in m.WriteAudit.select().where(m.WriteAudit.job == job.id, m.WriteAudit.result == "ok")}
    assert 1 <= len(done) <= 4, done  # the first, then per lane at most one reported and one under way
    for p in photos:
        assert ("Ada Lovelace" in str(people_in(lib / p).get("PersonInImage"))) == (p in done)
        assert (sha(lib / p) == originals[p]) == (p not in done)
    monkeypatch.undo()
    rest = run(core, "write")
    assert rest.state == m.JobState.DONE and rest.result["written"] == len(photos) - len(done), rest.result
    assert all("Ada Lovelace" in str(people_in(lib / p)["PersonInImage"]) for p in photos)
    assert m.WriteAudit.select().where(m.WriteAudit.result == "ok").count() == len(photos)  # none twice
