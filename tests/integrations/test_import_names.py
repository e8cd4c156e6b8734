"""Names given in Immich and PhotoPrism onto our faces, against fakes built from their specs, on a
real analysed library: matched by overlap (an EXIF-rotated photo too), a missed face hand-marked
and embedded, written into the files and read back by exiftool, idempotent, conflicts listed."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from integrations.stages.import_names import run_import
from jobs.pipeline import STAGES
from tagmyphotos.config import ImmichConfig, PathMap, PhotoPrismConfig
from tagmyphotos.core import Core
from tagmyphotos.geometry import NormBox, oriented_size, to_stored
from tagmyphotos.review.confirm import confirm
from tagmyphotos.review.imported_names import ImportedName, decide_conflict, list_conflicts, oriented_box
from tagmyphotos.review.people import rename_person
from tagmyphotos.stages.runner import run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos_lab.fakes.immich import FakeImmich
from tagmyphotos_lab.fakes.photoprism import FakePhotoPrism
from tests.support import dbtarget
from tests.support.base import EXIFTOOL, REAL, make_config

PREVIEW = 1440  # Immich measures faces on its preview (long side), as displayed


def run(core: Core, stage: str, **params: Any) -> dict[str, Any]:
    job_id = jobs_store.create_job(stage, {"no_follow": True, **params})
    run_stage(core, STAGES[stage], job_id)
    job = m.Job.get_by_id(job_id)
    assert job.state == m.JobState.DONE, job.error
    return dict(job.result)


@pytest.fixture(scope="module")
def rotated_template(
    analysed_template: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """The analysed testdata plus an EXIF-rotated portrait (orientation 6, its own XMP names
    taken out so that only the import names it), analysed once for this module."""
    base = tmp_path_factory.mktemp("rotated")
    shutil.copytree(analysed_template[0], base / "library")
    dbtarget.copy_data(analysed_template[1], base / "data")
    rotated = base / "library" / "rotated.jpg"
    shutil.copyfile(REAL / "portrait-orientation-6.jpg", rotated)
    rotated.chmod(0o644)
    subprocess.run([str(EXIFTOOL), "-q", "-XMP:all=", "-overwrite_original", str(rotated)], check=True)
    core = Core(make_config(base / "library", base / "data"))
    try:
        run(core, "scan")
        run(core, "analyze")
    finally:
        core.close()
    return base / "library", base / "data"


@pytest.fixture
def library(rotated_template: tuple[Path, Path], tmp_path: Path) -> Iterator[Core]:
    """A fresh copy of the rotated template, opened."""
    shutil.copytree(rotated_template[0], tmp_path / "library")
    dbtarget.copy_data(rotated_template[1], tmp_path / "data")
    core = Core(make_config(tmp_path / "library", tmp_path / "data"))
    try:
        yield core
    finally:
        core.close()


def faces_of(path: str) -> list[Any]:
    photo = m.Photo.get(m.Photo.path == path)
    return list(m.Face.select().where(m.Face.photo == photo.id).order_by(m.Face.id))


def immich_box(face: Any, photo: Any, grow: float = 1.15) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """Our face as Immich would hold it: a looser CNN box on the oriented preview, in pixels."""
    width, height = oriented_size(photo.width, photo.height, photo.orientation)
    k = PREVIEW / max(width, height)
    fw, fh = round(width * k), round(height * k)
    cx, cy, w, h = (face.x + face.w / 2) * k, (face.y + face.h / 2) * k, face.w * k * grow, face.h * k * grow
    return (round(cx - w / 2), round(cy - h / 2), round(cx + w / 2), round(cy + h / 2)), (fw, fh)


def people_in_file(path: Path) -> list[str]:
    out = subprocess.run([str(EXIFTOOL), "-j", "-XMP-iptcExt:PersonInImage", str(path)], capture_output=True,
                         check=True, text=True).stdout  # fmt: skip
    value = json.loads(out)[0].get("PersonInImage", [])
    return sorted([value] if isinstance(value, str) else value)


@pytest.fixture
def immich(library: Core) -> Iterator[FakeImmich]:
    fake = FakeImmich()
    with fake:
        library.cfg.integrations.immich = ImmichConfig(
            url=fake.url, api_key=SecretStr(fake.api_key),
            path_map=PathMap(local_prefix=str(library.cfg.library), remote_prefix="/mnt/photos"),
        )  # fmt: skip
        yield fake
    assert fake.violations == [], fake.violations


def _two_faced_photo() -> str:
    counts = {}
    for face in m.Face.select().where(m.Face.source == "detected"):
        counts[face.photo_id] = counts.get(face.photo_id, 0) + 1
    photo_id = next(pid for pid, n in sorted(counts.items()) if n >= 2)
    return str(m.Photo.get_by_id(photo_id).path)


def test_immich_names_land_on_our_faces_go_into_the_files_and_a_rerun_changes_nothing(
    library: Core, immich: FakeImmich
) -> None:
    single = "img1.jpg"
    group = _two_faced_photo()
    ann, bob, hidden = immich.add_person("Ann There"), immich.add_person("Bob There"), immich.add_person("Hid", True)
    expected: dict[str, set[str]] = {}
    for path, names in ((single, ["Ann There"]), (group, ["Ann There", "Bob There"]), ("rotated.jpg", ["Bob There"])):
        photo = m.Photo.get(m.Photo.path == path)
        asset = immich.add_asset(f"/mnt/photos/{path}")
        for face, name in zip(faces_of(path), names, strict=False):
            box, frame = immich_box(face, photo)
            immich.add_face(asset, box, frame, ann if name == "Ann There" else bob)
        expected[path] = set(names)
    assert m.Photo.get(m.Photo.path == "rotated.jpg").orientation == 6
    # a face we did not detect: our detection of it is gone, Immich has it named
    missed_path = "img2.jpg"
    missed = faces_of(missed_path)[0]
    photo = m.Photo.get(m.Photo.path == missed_path)
    box, frame = immich_box(missed, photo, grow=1.0)
    m.Face.delete().where(m.Face.id == missed.id).execute()
    immich.add_face(immich.add_asset(f"/mnt/photos/{missed_path}"), box, frame, ann)
    expected[missed_path] = {"Ann There"}
    # not imported: a hidden person's face and an unnamed one
    other = immich.add_asset("/mnt/photos/img3.jpg")
    hid_box, hid_frame = immich_box(faces_of("img3.jpg")[0], m.Photo.get(m.Photo.path == "img3.jpg"))
    immich.add_face(other, hid_box, hid_frame, hidden)
    immich.add_face(other, hid_box, hid_frame, None)

    dry = run(library, "import-names", source="immich", dry_run=True)
    assert dry["imported"] == 4 and dry["marked"] == 1 and dry["people_created"] == ["Ann There", "Bob There"]
    assert m.Person.select().count() == 0 or not m.Person.select().where(m.Person.name == "Ann There").exists()

    first = run(library, "import-names", source="immich")
    assert (first["imported"], first["marked"], first["conflicts"], first["unmatched"]) == (4, 1, 0, 0)
    assert first["skipped"] == {"hidden": 1, "unnamed": 1}
    assert m.Photo.get(m.Photo.path == "rotated.jpg").orientation == 6
    for path, names in expected.items():
        confirmed = {f.person.name for f in faces_of(path) if f.state == m.FaceState.CONFIRMED}
        assert confirmed == names, path
    marked = [f for f in faces_of(missed_path) if f.source == "manual"]
    assert len(marked) == 1 and marked[0].embedding is not None  # the detector confirmed it: it teaches
    assert m.ForeignFace.select().where(m.ForeignFace.outcome == m.FOREIGN_IMPORTED).count() == 4

    run(library, "write")
    for path, names in expected.items():
        assert set(people_in_file(library.cfg.library / path)) == names, path

    second = run(library, "import-names", source="immich")
    assert (second["imported"], second["marked"], second["conflicts"]) == (0, 0, 0)
    assert second["already"] == 5
    assert run(library, "write")["written"] == 0  # nothing changed, nothing to write


def test_a_conflict_is_listed_not_applied_and_then_decided(library: Core, immich: FakeImmich) -> None:
    face = faces_of("img1.jpg")[0]
    confirm(library, [face.id], "Bob Here")
    asset = immich.add_asset("/mnt/photos/img1.jpg")
    box, frame = immich_box(face, m.Photo.get(m.Photo.path == "img1.jpg"))
    immich.add_face(asset, box, frame, immich.add_person("Carol There"))

    result = run(library, "import-names", source="immich")
    assert result["conflicts"] == 1 and result["imported"] == 0
    assert result["conflict_items"][0]["name_here"] == "Bob Here"
    assert m.Face.get_by_id(face.id).person.name == "Bob Here"
    items, total = list_conflicts()
    assert total == 1 and items[0].name_there == "Carol There" and items[0].face_id == face.id
    assert run(library, "import-names", source="immich")["conflicts"] == 1  # still open, still not applied

    decide_conflict(library, items[0].id, "ours")
    assert list_conflicts()[1] == 0
    again = run(library, "import-names", source="immich")
    assert again["conflicts"] == 0 and m.Face.get_by_id(face.id).person.name == "Bob Here"


def test_renames_go_both_ways(library: Core, immich: FakeImmich) -> None:
    library.cfg.integrations.immich.push_renames = True
    asset = immich.add_asset("/mnt/photos/img1.jpg")
    face = faces_of("img1.jpg")[0]
    box, frame = immich_box(face, m.Photo.get(m.Photo.path == "img1.jpg"))
    dora = immich.add_person("Dora")
    immich.add_face(asset, box, frame, dora)
    run(library, "import-names", source="immich")
    person = m.Face.get_by_id(face.id).person
    rename_person(library, person.id, "Dora Here")
    pushed = run(library, "import-names", source="immich")
    assert pushed["pushed"] == ["Dora Here"] and immich.people[dora]["name"] == "Dora Here"
    immich.people[dora]["name"] = "Dora Renamed There"
    taken = run(library, "import-names", source="immich")
    assert taken["renamed_here"] == ["Dora Here -> Dora Renamed There"]
    assert m.Person.get_by_id(person.id).name == "Dora Renamed There"
    assert taken["imported"] == 0 and taken["conflicts"] == 0


def test_import_requests_grow_with_pages_of_assets_not_faces(library: Core, immich: FakeImmich) -> None:
    ann = immich.add_person("Ann")
    for i in range(30):
        asset = immich.add_asset(f"/mnt/photos/elsewhere/{i}.jpg")
        for j in range(3):
            immich.add_face(asset, (10 + 50 * j, 10, 40 + 50 * j, 40), (400, 300), ann)
    result = run_import(library, "immich")
    assert result["requests"] == 2  # one page of assets, one page of people
    assert result["skipped"] == {"not_ours": 30}


def test_a_box_in_the_stored_frame_is_turned_to_the_displayed_one() -> None:
    class Photo:
        width, height, orientation = 4000, 3000, 6  # stored landscape, displayed portrait

    shown = NormBox(0.2, 0.1, 0.2, 0.15)
    stored = to_stored(shown, 6)
    old_immich = ImportedName("f", "p", "Ann", stored, (4000, 3000))
    assert oriented_box(old_immich, Photo()).close_to(shown)
    current = ImportedName("f", "p", "Ann", shown, (1080, 1440))
    assert oriented_box(current, Photo()) == shown


@pytest.fixture
def photoprism(library: Core) -> Iterator[FakePhotoPrism]:
    fake = FakePhotoPrism()
    with fake:
        library.cfg.integrations.photoprism = PhotoPrismConfig(url=fake.url, token=SecretStr(fake.token))
        yield fake
    assert fake.violations == [], fake.violations


def _marker(face: Any, photo: Any) -> tuple[float, float, float, float]:
    width, height = oriented_size(photo.width, photo.height, photo.orientation)
    return (face.x / width, face.y / height, face.w / width, face.h / height)


def test_photoprism_markers_land_on_our_faces_and_a_conflict_is_listed(
    library: Core, photoprism: FakePhotoPrism
) -> None:
    eve, hidden = photoprism.add_subject("Eve There"), photoprism.add_subject("Hidden One", hidden=True)
    for path in ("img1.jpg", "rotated.jpg"):
        photo = m.Photo.get(m.Photo.path == path)
        uid = photoprism.add_photo(path)
        photoprism.add_marker(uid, _marker(faces_of(path)[0], photo), eve)
    third = m.Photo.get(m.Photo.path == "img3.jpg")
    uid = photoprism.add_photo("img3.jpg")
    photoprism.add_marker(uid, _marker(faces_of("img3.jpg")[0], third), hidden)
    photoprism.add_marker(uid, _marker(faces_of("img3.jpg")[0], third))  # unnamed
    clash = faces_of("img4.jpg")[0]
    confirm(library, [clash.id], "Frank Here")
    uid = photoprism.add_photo("img4.jpg")
    photoprism.add_marker(uid, _marker(clash, m.Photo.get(m.Photo.path == "img4.jpg")), eve)

    first = run(library, "import-names", source="photoprism")
    assert (first["imported"], first["conflicts"], first["marked"]) == (2, 1, 0)
    assert first["skipped"] == {"hidden": 1, "unnamed": 1}
    assert {f.person.name for f in faces_of("rotated.jpg") if f.state == m.FaceState.CONFIRMED} == {"Eve There"}
    assert m.Face.get_by_id(clash.id).person.name == "Frank Here"
    second = run(library, "import-names", source="photoprism")
    assert (second["imported"], second["already"], second["conflicts"]) == (0, 2, 1)


def _conflict_setup(core: Core, immich: FakeImmich) -> int:
    face = faces_of("img1.jpg")[0]
    confirm(core, [face.id], "Bob Here")
    box, frame = immich_box(face, m.Photo.get(m.Photo.path == "img1.jpg"))
    immich.add_face(immich.add_asset("/mnt/photos/img1.jpg"), box, frame, immich.add_person("Carol There"))
    return int(face.id)


def test_the_api_imports_lists_and_decides(library: Core, immich: FakeImmich) -> None:
    from fastapi.testclient import TestClient

    from tagmyphotos.system import auth
    from tests.support.api import make_app

    face_id = _conflict_setup(library, immich)
    _, key = auth.create_api_key("import test", auth.SCOPE_FULL)
    headers = {"X-API-Key": key}
    with TestClient(make_app(library)) as client:
        job = client.post("/api/v1/imports/names", json={"source": "immich"}, headers=headers).json()
        assert job["type"] == "import-names" and job["state"] == "done"
        assert job["result"]["conflicts"] == 1 and job["result"]["imported"] == 0
        listed = client.get("/api/v1/imports/conflicts?source=immich", headers=headers).json()
        assert listed["total"] == 1 and listed["items"][0]["name_here"] == "Bob Here"
        decided = client.post(f"/api/v1/imports/conflicts/{listed['items'][0]['id']}", json={"take": "theirs"},
                              headers=headers)  # fmt: skip
        assert decided.status_code == 200, decided.text
        assert client.get("/api/v1/imports/conflicts", headers=headers).json()["total"] == 0
    assert m.Face.get_by_id(face_id).person.name == "Carol There"


def test_the_cli_prints_json_with_imported_conflicts_unmatched(
    library: Core, immich: FakeImmich, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tagmyphotos_app.cli import main

    _conflict_setup(library, immich)
    env = {"TAGMYPHOTOS_LIBRARY": str(library.cfg.library), "TAGMYPHOTOS_DATA": str(library.cfg.data),
           "TAGMYPHOTOS_INTEGRATIONS__IMMICH__URL": immich.url,
           "TAGMYPHOTOS_INTEGRATIONS__IMMICH__API_KEY": immich.api_key,
           "TAGMYPHOTOS_INTEGRATIONS__IMMICH__PATH_MAP__LOCAL_PREFIX": str(library.cfg.library),
           "TAGMYPHOTOS_INTEGRATIONS__IMMICH__PATH_MAP__REMOTE_PREFIX": "/mnt/photos",
           **dbtarget.database_env(library.cfg.data)}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(library.cfg.data)
    assert main(["import-names", "--from", "immich", "--dry-run", "--json"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert (dry["imported"], dry["conflicts"], dry["unmatched"], dry["dry_run"]) == (0, 1, 0, True)
    assert main(["import-names", "--from", "immich", "--conflicts", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 0  # a dry run records nothing
    assert main(["import-names", "--from", "immich"]) == 0
    assert "1 conflicts" in capsys.readouterr().out


def test_the_import_schedule_starts_one_import_when_due(core: Core) -> None:
    from jobs import runtime
    from jobs.schedules import start_due_imports

    runtime.install(core)
    try:
        start_due_imports()
        assert m.Job.select().where(m.Job.type == "import-names").count() == 0  # off by default
        core.cfg.integrations.immich.import_every_hours = 6
        start_due_imports()
        start_due_imports()  # the one just made is recent: not due again
        jobs = list(m.Job.select().where(m.Job.type == "import-names"))
        assert len(jobs) == 1 and jobs[0].params["source"] == "immich"
    finally:
        runtime.install(None)


def test_a_raw_and_its_jpeg_named_alike_there_are_one_photo_here(library: Core, immich: FakeImmich) -> None:
    jpeg = m.Photo.get(m.Photo.path == "img1.jpg")
    m.Photo.create(path="img1.dng", kind="raw", size=1, mtime=0.0, state=m.PhotoState.DONE, faces_from=jpeg.id)
    ann = immich.add_person("Ann There")
    box, frame = immich_box(faces_of("img1.jpg")[0], jpeg)
    for path in ("img1.jpg", "img1.dng"):
        immich.add_face(immich.add_asset(f"/mnt/photos/{path}"), box, frame, ann)
    result = run(library, "import-names", source="immich")
    assert (result["photos"], result["imported"], result["already"], result["conflicts"]) == (1, 1, 1, 0)
    assert run(library, "import-names", source="immich")["imported"] == 0
