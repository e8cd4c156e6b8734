"""Names without boxes placed across a real library (issue 27), with the real analysis: group
pictures of 2-4 people's portraits from the testdata, named in a Google Takeout JSON (or in
PersonInImage, written with exiftool), named single portraits, unnamed photos, nobody named by
hand (tagmyphotos_lab/takeout_library.py builds it, scripts/evaluate --takeout measures it in full).
No face is ever confirmed wrongly; most group faces are placed or suggested rightly; placed
names say where they came from and are written into the files as regions, which exiftool and
exiv2 read back; `import-names --from takeout DIR` reads a separate copy of the JSON files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.pipeline import STAGES
from tagmyphotos.core import Core
from tagmyphotos.metadata.takeout import SOURCE
from tagmyphotos.stages.runner import run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos.store.views import photo_names
from tagmyphotos_lab.takeout_library import Built, build, score
from tests.support import dbtarget
from tests.support.base import EXIFTOOL, FACES, ROOT, make_config

GROUPS = 4


def _run(core: Core, *stages: str) -> None:
    for stage in stages:
        run_stage(core, STAGES[stage], jobs_store.create_job(stage, {"no_follow": True}))


def _library(tmp_path: Path, mode: str) -> tuple[Path, list[Built]]:
    lib = tmp_path / "library"
    return lib, build(FACES, lib, mode, groups=GROUPS, seed=0, exiftool=str(EXIFTOOL))


@pytest.fixture
def takeout_core(tmp_path: Path) -> Iterator[tuple[Core, list[Built]]]:
    lib, built = _library(tmp_path, "json")
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        _run(core, "scan", "analyze", "match")
        yield core, built
    finally:
        core.close()


def _check_score(figures: dict[str, float | int]) -> None:
    assert figures["group_photos"] == GROUPS and figures["group_faces"] >= 2 * GROUPS
    assert figures["placed_wrong"] == 0 and figures["wrong_confirmed_all"] == 0, figures
    assert figures["suggested_wrong"] <= 1, figures
    assert figures["share_right"] >= 0.6 and figures["placed_right"] >= figures["group_faces"] // 2, figures


def test_takeout_names_on_group_photos_are_placed_and_none_wrongly(takeout_core: tuple[Core, list[Built]]) -> None:
    core, built = takeout_core
    _check_score(score(built))
    # a placed name says where it came from, on the photo page and in the API alike
    placed = m.PhotoName.select().where(m.PhotoName.face.is_null(False))
    groups = {m.Photo.get(m.Photo.path == b.path).id for b in built if b.kind == "group"}
    on_groups = [row for row in placed if row.photo_id in groups]
    assert on_groups and all(row.sources == [SOURCE] for row in on_groups)
    views = photo_names(on_groups[0].photo_id)
    assert any(v.status == "face" and v.sources == [SOURCE] for v in views)
    # a second match stage changes nothing (every task is safe to rerun)
    before = [(f.id, f.state, f.person_id, f.suggested_person_id) for f in m.Face.select().order_by(m.Face.id)]
    _run(core, "match")
    assert before == [(f.id, f.state, f.person_id, f.suggested_person_id) for f in m.Face.select().order_by(m.Face.id)]


def test_placed_names_are_written_as_regions_read_back_by_exiftool_and_exiv2(
    takeout_core: tuple[Core, list[Built]],
) -> None:
    core, built = takeout_core
    group = next(b for b in built if b.kind == "group")
    photo = m.Photo.get(m.Photo.path == group.path)
    confirmed = {f.person.name for f in m.Face.select().where((m.Face.photo == photo.id)
                                                            & (m.Face.state == m.FaceState.CONFIRMED))}  # fmt: skip
    assert confirmed
    job = jobs_store.create_job("write", {"no_follow": True, "paths": [group.path]})
    run_stage(core, STAGES["write"], job)
    assert m.Job.get_by_id(job).result["written"] == 1
    path = core.cfg.library / group.path
    out = subprocess.run([str(EXIFTOOL), "-j", "-struct", "-XMP-mwg-rs:RegionInfo", str(path)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    regions = json.loads(out)[0]["RegionInfo"]["RegionList"]
    assert {r["Name"] for r in regions} == confirmed
    for r in regions:  # each name on its own portrait's side of the picture
        person, x0, x1 = next(s for s in group.spans if s[0] == r["Name"])
        centre = r["Area"]["X"] * photo.width
        assert x0 <= centre < x1, (r, group.spans)
    exiv2 = subprocess.run(["exiv2", "-px", str(path)], capture_output=True, text=True, check=True).stdout
    names = [line.split(None, 3)[-1] for line in exiv2.splitlines() if "mwg-rs:Name" in line]
    assert set(names) == confirmed


def test_personinimage_names_are_placed_the_same_way(tmp_path: Path) -> None:
    lib, built = _library(tmp_path, "personinimage")
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        _run(core, "scan", "analyze", "match")
        _check_score(score(built))
    finally:
        core.close()


def test_import_names_from_a_separate_takeout_copy(tmp_path: Path) -> None:
    lib, built = _library(tmp_path, "json")
    export = tmp_path / "Takeout" / "Google Photos" / "Photos from 2019"
    export.mkdir(parents=True)
    for j in lib.glob("*.json"):  # the library has the photos only; the JSON files are elsewhere
        shutil.move(j, export / j.name)
    (export / "broken.jpg.json").write_text("{not json")
    (export / "metadata.json").write_text(json.dumps({"title": "Photos from 2019"}))  # the album's: no problem
    core = Core(make_config(lib, tmp_path / "data"))
    cfg = core.cfg
    env = {**os.environ, "TAGMYPHOTOS_LIBRARY": str(cfg.library), "TAGMYPHOTOS_DATA": str(cfg.data),
           "TAGMYPHOTOS_CONFIG": str(cfg.data / "absent.yaml"), **dbtarget.database_env(cfg.data)}  # fmt: skip
    if EXIFTOOL.exists():
        env["TAGMYPHOTOS_WRITE__EXIFTOOL"] = str(EXIFTOOL)
    try:
        _run(core, "scan", "analyze", "match")
        assert not m.PhotoName.select().exists()  # nothing named yet

        def cli(*args: str) -> dict:
            proc = subprocess.run([sys.executable, "-m", "tagmyphotos_app", "import-names", "--from", "takeout",
                                   str(tmp_path / "Takeout"), *args, "--json"], env=env, capture_output=True,
                                  text=True, timeout=300, cwd=ROOT)  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            return dict(json.loads(proc.stdout.strip().splitlines()[-1]))

        dry = cli("--dry-run")
        assert dry["dry_run"] and not m.PhotoName.select().exists() and not m.Person.select().exists()
        done = cli()
        named = [b for b in built if b.kind != "none"]
        assert done["photos"] == len(named) and done["unreadable"] == 1
        assert done["unreadable_items"] == [{"file": "Google Photos/Photos from 2019/broken.jpg.json",
                                             "why": done["unreadable_items"][0]["why"]}]  # fmt: skip
        assert "not valid JSON" in done["unreadable_items"][0]["why"]
        assert done["placed"] >= len([b for b in named if b.kind == "single"])
        for key in ("placed", "photo_level", "conflicts", "names"):
            assert dry[key] == done[key], key
        assert done["placed"] + done["photo_level"] == done["names"]
        _check_score(score(built))
    finally:
        core.close()


def test_analysis_reads_takeout_variants_and_reports_a_broken_file(tmp_path: Path) -> None:
    lib = tmp_path / "library" / "Takeout" / "Google Photos" / "Photos from 2019"
    lib.mkdir(parents=True)
    taken = {"timestamp": "1546300800"}
    shutil.copyfile(FACES / "img3.jpg", lib / "IMG_0003-edited.jpg")  # uses IMG_0003.jpg's file
    (lib / "IMG_0003.jpg.supplemental-meta.json").write_text(
        json.dumps({"title": "IMG_0003.jpg", "photoTakenTime": taken, "people": [{"name": "Dan"}]})
    )
    shutil.copyfile(FACES / "img12.jpg", lib / "IMG_0012(1).jpg")
    (lib / "IMG_0012.jpg(1).json").write_text(
        json.dumps({"title": "IMG_0012.jpg", "photoTakenTime": taken, "people": [{"name": "Dan"}]})
    )
    shutil.copyfile(FACES / "img1.jpg", lib / "IMG_0001.jpg")
    (lib / "IMG_0001.jpg.json").write_text('{"title": "IMG_0001.jpg", "people": [{"name": ')  # cut short
    core = Core(make_config(tmp_path / "library", tmp_path / "data"))
    try:
        _run(core, "scan", "analyze")
        analyze = m.Job.select().where(m.Job.type == "analyze").get()
        assert analyze.state == m.JobState.DONE and analyze.result["photos"] == 3  # never fatal
        events = [(e.level, e.path, e.message) for e in m.JobEvent.select().where(m.JobEvent.job == analyze.id)]
        assert any(level == "warning" and path.endswith("IMG_0001.jpg") and "IMG_0001.jpg.json: not valid JSON" in msg
                   for level, path, msg in events), events  # fmt: skip
        for name in ("IMG_0003-edited.jpg", "IMG_0012(1).jpg"):
            photo = m.Photo.get(m.Photo.path.endswith(name))
            face = m.Face.get(m.Face.photo == photo.id)
            assert face.state == m.FaceState.CONFIRMED and face.person.name == "Dan", name  # one name, one face
            assert [n.sources for n in photo_names(photo.id)] == [[SOURCE]]
        assert not m.PhotoName.select().join(m.Photo).where(m.Photo.path.endswith("IMG_0001.jpg")).exists()
    finally:
        core.close()
