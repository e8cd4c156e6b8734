"""Names other tools wrote without a face box (PersonInImage, Lightroom `People|Name`, digiKam
`People/Name`, dc:subject), on real photos tagged with exiftool: one name and one face confirm
it, several names limit the suggestions, the rest stay photo-level and survive our writes; the
API and the photo page say where each name came from."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jobs import runtime
from jobs.pipeline import STAGES
from tagmyphotos.core import Core
from tagmyphotos.metadata.names import keyword_people
from tagmyphotos.metadata.read import DIGIKAM_TAGS, HIERARCHICAL, PERSON_IN_IMAGE, SUBJECT, TagSet
from tagmyphotos.review import confirm
from tagmyphotos.stages.runner import run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos.store.views import photo_names
from tagmyphotos.system import auth
from tests.support.base import EXIFTOOL, FACES, copy_tree, make_config, scan_and_analyze

# person01: img1 img2 img4 img5 img6 img7 img10 img11; person02: img3 img12 img53 img54
TAGGED = {
    "a_one_name.jpg": ("img53.jpg", ["-XMP-iptcExt:PersonInImage=Dan"]),
    "b_not_ann.jpg": ("img4.jpg", ["-XMP-lr:HierarchicalSubject=People|Dan", "-XMP-lr:HierarchicalSubject=People|Eve"]),
    "c_ann_or_eve.jpg": ("img5.jpg", ["-XMP-digiKam:TagsList=People/Ann", "-XMP-digiKam:TagsList=People/Eve",
                                      "-XMP-dc:Subject=Ann", "-XMP-dc:Subject=beach"]),  # fmt: skip
    "d_ann_and_grandma.jpg": ("img7.jpg", [
        "-XMP-iptcExt:PersonInImage=Ann", "-XMP-iptcExt:PersonInImage=Grandma",
        "-XMP-dc:Subject=Grandma", "-XMP-lr:HierarchicalSubject=People|Grandma",
    ]),  # fmt: skip
}


def _exif(*args: str) -> dict[str, object]:
    out = subprocess.run([str(EXIFTOOL), *args], capture_output=True, text=True, check=True).stdout
    return dict(json.loads(out)[0]) if out.startswith("[") else {}


@pytest.fixture
def named_core(tmp_path: Path) -> Iterator[Core]:
    lib = copy_tree(FACES, tmp_path / "library", "img1[01].jpg")
    copy_tree(FACES, lib, "img[123].jpg")
    copy_tree(FACES, lib, "img12.jpg")
    copy_tree(FACES, lib, "img6.jpg")  # person01 without names in the file: the control
    for name, (source, args) in TAGGED.items():
        (lib / name).write_bytes((FACES / source).read_bytes())
        _exif("-overwrite_original", *args, str(lib / name))
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        scan_and_analyze(core)
        yield core
    finally:
        core.close()


def _face(path: str) -> m.Face:
    (face,) = m.Face.select().join(m.Photo).where(m.Photo.path == path)
    return face


def _names(path: str) -> dict[str, m.PhotoName]:
    photo = m.Photo.get(m.Photo.path == path)
    return {row.person.name: row for row in m.PhotoName.select().where(m.PhotoName.photo == photo.id)}


def _teach_and_match(core: Core) -> None:
    for who, paths in (("Ann", ["img1.jpg", "img2.jpg", "img10.jpg", "img11.jpg"]), ("Dan", ["img3.jpg", "img12.jpg"])):
        confirm.confirm(core, [_face(p).id for p in paths], who)
    job = jobs_store.create_job("match", {"no_follow": True})
    run_stage(core, STAGES["match"], job)


def test_keyword_people_reads_people_tags_and_subject_only_for_known_names() -> None:
    tags = TagSet(Path("x.jpg"), keywords={
        PERSON_IN_IMAGE: ["Ann"], HIERARCHICAL: ["People|Family|Bob", "Places|Paris"],
        DIGIKAM_TAGS: ["People/Cy", "Events/Wedding"], SUBJECT: ["Ann", "Dora", "beach", "Paris"],
    })  # fmt: skip
    found = keyword_people(tags, {"People"}, known={"Dora"})
    assert found == {
        "Ann": [PERSON_IN_IMAGE, SUBJECT],
        "Bob": [HIERARCHICAL],
        "Cy": [DIGIKAM_TAGS],
        "Dora": [SUBJECT],
    }


def test_one_name_and_one_face_confirms_it(named_core: Core) -> None:
    face = _face("a_one_name.jpg")
    assert face.state == m.FaceState.CONFIRMED and face.person.name == "Dan"
    names = _names("a_one_name.jpg")
    assert names["Dan"].sources == [PERSON_IN_IMAGE] and names["Dan"].face_id == face.id


def test_several_names_limit_the_suggestions_to_those_names(named_core: Core) -> None:
    for path in ("b_not_ann.jpg", "c_ann_or_eve.jpg", "d_ann_and_grandma.jpg"):
        assert _face(path).state == m.FaceState.UNKNOWN  # two names, one face: not confirmed at import
        assert all(n.face_id is None for n in _names(path).values())
    _teach_and_match(named_core)
    # the face is Ann's (person01), but the file says Dan or Eve: Ann is never suggested there
    b = _face("b_not_ann.jpg")
    assert b.state == m.FaceState.UNKNOWN and b.suggested_person_id is None  # and Dan's faces are far from it
    face = _face("c_ann_or_eve.jpg")  # Ann or Eve: Eve is named on b too, so Ann only suggested
    assert face.state == m.FaceState.SUGGESTED and face.suggested_person.name == "Ann"
    # Ann or Grandma, and the face is surely Ann's: the names are placed across the library
    # (stages/place_names.py), so the file's Ann is confirmed on it; Grandma stays photo-level
    face = _face("d_ann_and_grandma.jpg")
    assert face.state == m.FaceState.CONFIRMED and face.person.name == "Ann"
    assert _names("d_ann_and_grandma.jpg")["Ann"].face_id == face.id
    assert _names("d_ann_and_grandma.jpg")["Grandma"].face_id is None
    # without file names the same person01 photo is suggested Ann: the limit is what changed b
    control = _face("img6.jpg")
    assert control.state == m.FaceState.SUGGESTED and control.suggested_person.name == "Ann"
    c = _names("c_ann_or_eve.jpg")
    assert set(c) == {"Ann", "Eve"}  # "beach" is no person
    assert c["Ann"].sources == [DIGIKAM_TAGS, SUBJECT] and c["Eve"].sources == [DIGIKAM_TAGS]


def test_photo_level_names_survive_the_write_and_show_their_sources(named_core: Core) -> None:
    _teach_and_match(named_core)
    path = "d_ann_and_grandma.jpg"
    face = _face(path)
    assert face.state == m.FaceState.CONFIRMED  # placed from the file's names (see above)
    job = jobs_store.create_job("write", {"no_follow": True, "paths": [path]})
    run_stage(named_core, STAGES["write"], job)
    assert m.Job.get_by_id(job).result["written"] == 1
    tags = _exif("-j", "-struct", "-XMP-iptcExt:PersonInImage", "-XMP-dc:Subject", "-XMP-lr:HierarchicalSubject",
                 "-XMP-mwg-rs:RegionInfo", str(named_core.cfg.library / path))  # fmt: skip
    assert sorted(tags["PersonInImage"]) == ["Ann", "Grandma"]  # type: ignore[arg-type]
    assert "Grandma" in tags["Subject"] and "People|Grandma" in tags["HierarchicalSubject"]  # type: ignore[operator]
    regions = tags["RegionInfo"]["RegionList"]  # type: ignore[index]
    assert [r["Name"] for r in regions] == ["Ann"]  # a region for the face, none invented for Grandma

    # the API says where each name came from, and needs a key
    from tests.support.api import make_app

    app = make_app(named_core)
    _, key = auth.create_api_key("names", auth.SCOPE_READ)
    photo_id = m.Photo.get(m.Photo.path == path).id
    try:
        with TestClient(app) as client:
            assert client.get(f"/api/v1/photos/{photo_id}").status_code == 401
            detail = client.get(f"/api/v1/photos/{photo_id}", headers={"X-API-Key": key}).json()
    finally:
        runtime.install(None)
    names = {n["name"]: n for n in detail["names"]}
    assert names["Ann"]["status"] == "face" and names["Ann"]["face_id"] == face.id
    assert names["Ann"]["sources"] == [PERSON_IN_IMAGE]
    assert names["Grandma"]["status"] == "photo" and names["Grandma"]["face_id"] is None
    assert names["Grandma"]["sources"] == [PERSON_IN_IMAGE, HIERARCHICAL, SUBJECT]


@pytest.mark.asyncio
async def test_photo_page_shows_where_each_name_came_from(named_core: Core) -> None:
    from tests.support.ui_harness import simulated_ui

    photo = m.Photo.get(m.Photo.path == "c_ann_or_eve.jpg")
    eve = m.Person.get(m.Person.name == "Eve")
    async with simulated_ui(named_core) as user:
        await user.open(f"/photo/{photo.id}")
        await user.should_see(marker="photo-names")
        await user.should_see(marker=f"photo-name-{eve.id}")
        await user.should_see("in the photo, on no face · from digiKam tags")
        await user.should_see("from digiKam tags, keywords")  # Ann: digiKam TagsList and dc:subject


def test_a_file_naming_too_many_people_creates_at_most_the_cap(tmp_path: Path) -> None:
    from tagmyphotos import tuning

    lib = copy_tree(FACES, tmp_path / "library", "img3.jpg")
    names = [f"-XMP-iptcExt:PersonInImage=Guest {n:03d}" for n in range(tuning.IMPORT_MAX_KEYWORD_NAMES + 30)]
    _exif("-overwrite_original", *names, str(lib / "img3.jpg"))
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        scan_and_analyze(core)
        assert m.Person.select().count() == tuning.IMPORT_MAX_KEYWORD_NAMES
        assert m.PhotoName.select().where(m.PhotoName.face.is_null()).count() == tuning.IMPORT_MAX_KEYWORD_NAMES
        assert _face("img3.jpg").state == m.FaceState.UNKNOWN
    finally:
        core.close()


def test_names_given_here_or_imported_from_immich_say_so(named_core: Core) -> None:
    face = _face("img6.jpg")
    confirm.confirm(named_core, [face.id], "Ann")
    assert [(n.name, n.sources, n.status) for n in photo_names(face.photo_id)] == [("Ann", ["review"], "face")]
    m.ForeignFace.create(source="immich", external_id="face-1", photo=face.photo_id, face=face.id,
                         external_person="person-1", name_there="Ann", outcome=m.FOREIGN_IMPORTED)  # fmt: skip
    assert [n.sources for n in photo_names(face.photo_id)] == [["immich"]]


def test_real_files_names_come_with_all_their_sources_and_keywords_are_not_people(tmp_path: Path) -> None:
    from tagmyphotos.metadata.read import MWG_TAG
    from tests.support.base import REAL

    lib = copy_tree(REAL, tmp_path / "library", "p*.jpg")  # portrait (names), prairie_falcon (keywords only)
    copy_tree(REAL, lib, "picasa.jpg")  # IPTC keywords Frost, Yard
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        scan_and_analyze(core)
        assert sorted(p.name for p in m.Person.select()) == ["Marie Curie", "Pierre Curie"]  # no "raptors"
        for path in ("portrait.jpg", "portrait-orientation-6.jpg"):
            names = _names(path)
            assert set(names) == {"Marie Curie", "Pierre Curie"}
            for row in names.values():
                assert row.sources[0] == MWG_TAG and {HIERARCHICAL, DIGIKAM_TAGS, SUBJECT} <= set(row.sources)
                assert row.face_id is not None  # on the face its region named
        others = m.Photo.path.in_(["prairie_falcon.jpg", "picasa.jpg"])
        assert m.PhotoName.select().join(m.Photo).where(others).count() == 0
    finally:
        core.close()
