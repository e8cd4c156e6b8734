"""The analyze stage on the real testdata: faces stored once, names kept, failures recorded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jobs.pipeline import STAGES
from tagmyphotos.core import Core
from tagmyphotos.faces import engine_dlib
from tagmyphotos.faces.engine_onnx import SPEC
from tagmyphotos.stages.runner import run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tests.support.base import FACES, copy_tree, make_config, scan_and_analyze


def test_analysed_library_has_faces_thumbnails_and_embeddings(analysed_core: Core) -> None:
    photos = m.Photo.select()
    assert photos.count() == 64
    assert m.Photo.select().where(m.Photo.state == m.PhotoState.DONE).count() == 64
    assert m.Face.select().count() >= 64
    couple = m.Photo.get(m.Photo.path == "couple.jpg")
    assert couple.faces.count() == 2
    face = m.Face.select().first()
    assert face.model and len(face.embedding) == 128 * 4
    assert (analysed_core.cfg.data / face.thumb).stat().st_size > 1000
    assert m.Photo.get(m.Photo.path == "img47.jpg").format == "WEBP"


def test_rerun_adds_nothing_and_changed_file_keeps_names(analysed_core: Core) -> None:
    faces_before = m.Face.select().count()
    scan_and_analyze(analysed_core)  # nothing pending: no work, no duplicates
    assert m.Face.select().count() == faces_before
    person = m.Person.create(name="Ada")
    face = m.Face.select().join(m.Photo).where(m.Photo.path == "img1.jpg").get()
    m.Face.update(state=m.FaceState.CONFIRMED, person=person).where(m.Face.id == face.id).execute()
    # the file changes (e.g. edited elsewhere): re-analysis keeps the confirmed name
    lib = analysed_core.cfg.library
    with open(lib / "img1.jpg", "ab") as fh:
        fh.write(b"\0" * 16)
    scan_and_analyze(analysed_core)
    faces = list(m.Face.select().join(m.Photo).where(m.Photo.path == "img1.jpg"))
    assert len(faces) == 1 and faces[0].id == face.id and faces[0].person_id == person.id
    assert m.Face.select().count() == faces_before


def test_failed_photo_is_recorded_and_retried_only_when_changed(tmp_path: Path) -> None:
    lib = copy_tree(FACES, tmp_path / "library", "img1*.jpg")
    core = Core(make_config(lib, tmp_path / "data"))
    good = len(list(lib.iterdir()))
    data = (FACES / "img1.jpg").read_bytes()
    # a JPEG whose header is fine but whose image data is garbage after the first bytes
    (lib / "garbled.jpg").write_bytes(data[:2000] + bytes(range(256)) * 40 + b"\xff\xd9")
    scan_and_analyze(core)
    row = m.Photo.get(m.Photo.path == "garbled.jpg")
    assert row.state in (m.PhotoState.FAILED, m.PhotoState.ERROR) and row.last_error
    assert m.Photo.select().where(m.Photo.state == m.PhotoState.DONE).count() == good
    if row.state == m.PhotoState.FAILED:
        scan_and_analyze(core)
        assert m.Photo.get_by_id(row.id).state == m.PhotoState.FAILED  # not retried unchanged
        shutil.copyfile(FACES / "img2.jpg", lib / "garbled.jpg")
        scan_and_analyze(core)
        assert m.Photo.get_by_id(row.id).state == m.PhotoState.DONE
    core.close()


def test_photos_claimed_by_a_killed_analysis_are_done_by_the_next_run(tmp_path: Path) -> None:
    import socket
    import subprocess

    from tagmyphotos.store import claims

    lib = copy_tree(FACES, tmp_path / "library", "img1*.jpg")
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        scan_and_analyze(core)
        m.Photo.update(state=m.PhotoState.PENDING).execute()
        dead = subprocess.Popen(["true"])
        dead.wait()  # a process id that no longer runs: the analysis that was killed
        claim = claims.claim_photos(3)  # it had claimed three photos
        assert len(claim.ids) == 3
        m.put_setting(f"analyzer:{socket.gethostname()}:{dead.pid}", {"host": socket.gethostname(), "pid": dead.pid})
        scan_and_analyze(core)  # the rerun, right away (the 10-minute lease has not run out)
        assert m.Photo.select().where(m.Photo.state != m.PhotoState.DONE).count() == 0
    finally:
        core.close()


@pytest.mark.skipif(not engine_dlib.cpu_has_avx(), reason="the previous engine (dlib-bin) needs AVX")
def test_upgrade_from_the_dlib_engine_reembeds_keeps_names_and_refreshes_suggestions(tmp_path: Path) -> None:
    """A library analysed by the previous engine: the next analysis re-embeds every photo with the
    onnx engine (a job with progress), confirmed names stay on their faces, and the match stage
    that follows suggests from the new vectors."""
    lib = copy_tree(FACES, tmp_path / "library", "img[1-5].jpg")
    old = Core(make_config(lib, tmp_path / "data", TAGMYPHOTOS_ANALYSIS__ENGINE="dlib"))
    scan_and_analyze(old)
    old_id = m.Face.select().first().model
    ada = m.Person.create(name="Ada")
    confirmed = m.Face.select().join(m.Photo).where(m.Photo.path == "img1.jpg").get()
    m.Face.update(state=m.FaceState.CONFIRMED, person=ada).where(m.Face.id == confirmed.id).execute()
    faces_before = m.Face.select().count()
    old.close()

    new = Core(make_config(lib, tmp_path / "data"))
    try:
        job_id = jobs_store.create_job("analyze", {})
        run_stage(new, STAGES["analyze"], job_id)  # then the match stage, as after a scan
        job = m.Job.get_by_id(job_id)
        assert job.state == m.JobState.DONE and job.progress_done == job.progress_total == 5
        assert old_id != SPEC.id
        assert {f.model for f in m.Face.select()} == {SPEC.id}
        assert {p.analysis_model for p in m.Photo.select()} == {SPEC.id}
        assert m.Face.select().count() == faces_before
        kept = m.Face.get_by_id(confirmed.id)
        assert kept.person_id == ada.id and kept.state == m.FaceState.CONFIRMED
        if not m.Job.select().where((m.Job.type == "match") & (m.Job.state == m.JobState.DONE)).exists():
            run_stage(new, STAGES["match"], jobs_store.create_job("match", {}))  # queued, no consumer here
        # img2, img4, img5 are the same person as img1 in identities.csv
        same = m.Face.select().join(m.Photo).where(m.Photo.path.in_(["img2.jpg", "img4.jpg", "img5.jpg"]))
        assert {f.suggested_person_id for f in same} == {ada.id}
    finally:
        new.close()


def test_faces_imported_from_the_files_tags_get_a_thumbnail(tmp_path: Path) -> None:
    """portrait.jpg carries MWG regions (Marie and Pierre Curie): a region no detected face
    matches becomes an imported face (for a name the library knows), and it needs a thumbnail
    like any other face. The smallest face size is set above the Curies' heads, so the detector
    finds neither."""
    from PIL import Image

    from tests.support.base import REAL

    lib = tmp_path / "library"
    lib.mkdir()
    shutil.copyfile(REAL / "portrait.jpg", lib / "portrait.jpg")
    core = Core(make_config(lib, tmp_path / "data", TAGMYPHOTOS_ANALYSIS__MIN_FACE_PX="400"))
    try:
        for name in ("Marie Curie", "Pierre Curie"):  # named before, in other photos
            m.Person.create(name=name)
        scan_and_analyze(core)
        named = list(m.Face.select().where(m.Face.state == m.FaceState.CONFIRMED))
        assert {f.person.name for f in named} == {"Marie Curie", "Pierre Curie"}
        imported = [f for f in named if f.source == "imported"]
        assert len(imported) == 2, "the test needs regions the detector does not find"
        for face in named:
            assert face.thumb, f"{face.person.name} has no thumbnail"
            with Image.open(core.cfg.data / face.thumb) as thumb:
                assert thumb.format == "JPEG" and thumb.size == (160, 160)
                # the thumbnail shows the photo (not a blank square): its pixels vary
                low, high = thumb.convert("L").getextrema()
                assert high - low > 40
    finally:
        core.close()


def test_avif_photos_are_scanned_and_analysed(tmp_path: Path) -> None:
    """AVIF (phones, modern exports) is a photo format like HEIC: found by the default scan."""
    from tests.support.base import REAL

    lib = tmp_path / "library"
    lib.mkdir()
    shutil.copyfile(REAL / "8bit-sRGB.avif", lib / "flowers.avif")
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        scan_and_analyze(core)
        photo = m.Photo.get(m.Photo.path == "flowers.avif")
        assert (photo.state, photo.format, photo.last_error) == (m.PhotoState.DONE, "AVIF", None)
    finally:
        core.close()
