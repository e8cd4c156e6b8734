"""`teach FOLDER` (folder per person) and the people/review CLI commands, on the real testdata."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tagmyphotos.review import confirm
from tagmyphotos.stages.steps import teach_folder as teach
from tagmyphotos.store import models as m
from tagmyphotos.suggest import clusters
from tests.support import dbtarget
from tests.support.base import FACES, ROOT, scan_and_analyze
from tests.support.review import labelled, person

CLI = [sys.executable, "-m", "tagmyphotos_app"]


def _teach_dir(base: Path, per_person: dict[str, list[str]]) -> Path:
    for who, files in per_person.items():
        (base / who).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(FACES / f, base / who / f)
    return base


def _files_of(identity: str) -> list[str]:
    labels = labelled()
    return sorted(f for f, who in labels.items() if who == identity)


def test_teach_folder_outside_the_library(core, tmp_path: Path) -> None:
    anna, bob = _files_of("person01")[:2], _files_of("person02")[:2]
    folder = _teach_dir(tmp_path / "teach", {"Anna": [*anna, "couple.jpg"], "Bob": bob})
    shutil.copyfile(FACES / bob[0], folder / "loose.jpg")  # not in a person folder
    (folder / "Bob" / "broken.jpg").write_bytes(b"")  # unreadable
    (folder / "Bob" / "notes.txt").write_text("ignored: not an image")

    report = teach.teach_folder(core, folder)
    assert report.people == {"Anna": 2, "Bob": 2} and report.created == ["Anna", "Bob"]
    reasons = {Path(r["path"]).name: r["reason"] for r in report.rejected}
    assert set(reasons) == {"couple.jpg", "loose.jpg", "broken.jpg"}
    assert "faces found" in reasons["couple.jpg"] and "person folder" in reasons["loose.jpg"]
    assert "unreadable" in reasons["broken.jpg"]
    refs = m.Photo.select().where(m.Photo.kind == teach.REFERENCE_KIND)
    assert {p.path for p in refs} >= {f"@teach/Anna/{anna[0]}", f"@teach/Bob/{bob[1]}"}
    assert person("Anna").face_count == 2 and person("Bob").face_count == 2
    faces_before = m.Face.select().count()

    again = teach.teach_folder(core, folder)  # nothing changed: nothing analysed or added
    assert again.skipped == 5 and again.people == {"Anna": 2, "Bob": 2} and again.created == []
    assert m.Face.select().count() == faces_before and person("Anna").face_count == 2

    confirm.undo_last(core)  # the second teach changed nothing; undo the first
    assert m.Person.select().count() == 0
    assert m.Face.select().where(m.Face.state == m.FaceState.CONFIRMED).count() == 0


def test_teach_inside_the_library_uses_the_library_photos(analysed_core) -> None:
    core = analysed_core
    files = _files_of("person03")
    folder = _teach_dir(core.cfg.library / "people", {"Cleo": files[:2]})
    scan_and_analyze(core)  # the scanner and analyzer know these photos now
    report = teach.teach_folder(core, folder)
    assert report.people == {"Cleo": 2} and report.skipped == 2  # analysed already
    assert not m.Photo.select().where(m.Photo.kind == teach.REFERENCE_KIND).exists()
    taught = m.Face.select(m.Face, m.Photo).join(m.Photo).where(m.Face.person == person("Cleo").id)
    assert sorted(f.photo.path for f in taught) == [f"people/Cleo/{f}" for f in files[:2]]
    # the other photos of this identity are suggested at once
    rest = m.Face.select().join(m.Photo).where(m.Photo.path.in_(files[2:]))
    assert sum(f.suggested_person_id == person("Cleo").id for f in rest) >= len(files[2:]) - 1


def _cli(*args: str, env: dict[str, str]) -> tuple[int, dict]:
    proc = subprocess.run(
        [*CLI, *args, "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


def test_cli_people_review_commands(analysed_core, tmp_path: Path) -> None:
    cfg = analysed_core.cfg
    env = {
        "TAGMYPHOTOS_LIBRARY": str(cfg.library),
        "TAGMYPHOTOS_DATA": str(cfg.data),
        "TAGMYPHOTOS_CONFIG": str(cfg.data / "absent.yaml"),
        **dbtarget.database_env(cfg.data),
    }
    folder = _teach_dir(tmp_path / "teach", {"Dan": _files_of("person10")[:2], "Eva": _files_of("person01")[:2]})
    code, out = _cli("teach", str(folder), env=env)
    assert code == 0 and out["teach"]["people"] == {"Dan": 2, "Eva": 2}

    code, out = _cli("people", env=env)
    assert code == 0 and {p["name"]: p["face_count"] for p in out["people"]} == {"Dan": 2, "Eva": 2}
    assert all(p["likely"] + p["maybe"] > 0 for p in out["people"])

    code, out = _cli("suggestions", "--person", "Dan", "--band", "likely", env=env)
    assert code == 0 and [g["person"]["name"] for g in out["groups"]] == ["Dan"]
    face = out["groups"][0]["faces"][0]
    assert face["band"] == "likely" and face["explanation"]["distance"] <= 0.6

    code, out = _cli("reject", str(face["id"]), "--person", "Dan", env=env)
    assert code == 0 and out["result"]["changed"] == [face["id"]]
    code, out = _cli("accept", "--likely", "--person", "Dan", env=env)
    assert code == 0 and face["id"] not in out["result"]["changed"]
    assert out["result"]["person"]["face_count"] == 2 + len(out["result"]["changed"])
    code, out = _cli("undo", env=env)
    assert code == 0 and out["result"]["action"] == "undo"
    assert person("Dan").face_count == 2

    clusters.refresh_clusters(analysed_core)  # as the match stage does
    code, out = _cli("clusters", env=env)
    assert code == 0 and out["clusters"] and out["clusters"][0]["size"] >= 2
    cid = out["clusters"][0]["id"]
    code, named = _cli("name-cluster", str(cid), "Group", "--drop-outliers", env=env)
    assert code == 0 and named["result"]["person"]["name"] == "Group"
    assert person("Group").face_count == len(named["result"]["changed"]) >= 2

    assert _cli("reject", "99999999", "--person", "Dan", env=env)[0] == 3
    assert _cli("suggestions", "--person", "Nobody", env=env)[0] == 3
    assert _cli("name-cluster", "424242", "X", env=env)[0] == 3
