"""Names other tools wrote into a file are imported within bounds (issue 14, item 8).

The attack: a file with 5,000 MWG regions (exiftool reads 1,000) became 1,000 confirmed faces
and 1,000 new people. Real files, real exiftool, the real scan, analyze and import."""

from __future__ import annotations

import shutil
from pathlib import Path

from tagmyphotos import tuning
from tagmyphotos.core import Core
from tagmyphotos.geometry import NormBox
from tagmyphotos.metadata.backups import BackupStore
from tagmyphotos.metadata.exiftool import ExifToolSession
from tagmyphotos.metadata.plan import PersonRegion, WriteOptions
from tagmyphotos.metadata.write import MetadataWriter
from tagmyphotos.store import models as m
from tests.support.base import FACES, make_config, scan_and_analyze


def tag(photo: Path, regions: list[PersonRegion], tmp: Path) -> None:
    """Write named MWG regions into a file, as digiKam (or an attacker) would have."""
    with ExifToolSession() as session:
        only_regions = WriteOptions(person_in_image=False, subject_keywords=False, hierarchical_keywords=False,
                                    digikam_tags=False)  # fmt: skip  (names without boxes are another path)
        MetadataWriter(session, BackupStore(tmp / "tagger-backups"), only_regions).write(photo, regions)


def test_a_crowded_file_is_not_imported_and_the_job_says_so(tmp_path: Path) -> None:
    lib = tmp_path / "library"
    lib.mkdir()
    shutil.copyfile(FACES / "img1.jpg", lib / "crowd.jpg")
    count = tuning.IMPORT_MAX_REGIONS_PER_PHOTO + 20
    grid = [NormBox(0.01 + 0.065 * (i % 15), 0.01 + 0.11 * (i // 15), 0.05, 0.09) for i in range(count)]
    tag(lib / "crowd.jpg", [PersonRegion(f"Stranger {i}", box) for i, box in enumerate(grid)], tmp_path)
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        scan_and_analyze(core)
        assert m.Person.select().count() == 0
        assert m.Face.select().where(m.Face.state == m.FaceState.CONFIRMED).count() == 0
        events = [e.message for e in m.JobEvent.select().where(m.JobEvent.level == "warning")]
        assert any(f"{count} named face regions" in e and "none imported" in e for e in events), events
        assert m.Photo.get().state == m.PhotoState.DONE  # the photo itself is analysed as usual
    finally:
        core.close()


def test_a_new_name_needs_a_face_under_it(tmp_path: Path) -> None:
    lib = tmp_path / "library"
    lib.mkdir()
    shutil.copyfile(FACES / "img1.jpg", lib / "a.jpg")
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        scan_and_analyze(core)
        face = m.Face.get()
        photo = m.Photo.get()
        w, h = photo.width, photo.height  # img1.jpg is not rotated
        on_face = NormBox(face.x / w, face.y / h, face.w / w, face.h / h)
        m.Person.create(name="Carol")  # known to the library already
        regions = [
            PersonRegion("Alice", on_face),  # new, on the detected face: imported
            PersonRegion("Bob", NormBox(0.0, 0.0, 0.05, 0.05)),  # new, no face there: not imported
            PersonRegion("Carol", NormBox(0.9, 0.9, 0.05, 0.05)),  # known: kept as a hand-drawn face
        ]
        tag(lib / "a.jpg", regions, tmp_path)
        scan_and_analyze(core)  # the file changed: analysed again, its names imported
        confirmed = {f.person.name: f.source for f in m.Face.select().where(m.Face.state == m.FaceState.CONFIRMED)}
        assert confirmed == {"Alice": "detected", "Carol": "imported"}
        assert sorted(p.name for p in m.Person.select()) == ["Alice", "Carol"]
    finally:
        core.close()
