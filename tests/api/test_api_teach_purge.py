"""/teach (a server folder, uploads) and /photos/purge through the real app on the analysed testdata."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tagmyphotos.store import models as m
from tests.support.api import ApiEnv, assert_problem
from tests.support.base import FACES, scan_and_analyze
from tests.support.review import labelled

pytest_plugins = ("tests.support.api",)


def _files_of(identity: str) -> list[str]:
    return sorted(f for f, who in labelled().items() if who == identity)


def _refs(base: Path, people: dict[str, list[str]]) -> Path:
    for who, files in people.items():
        (base / who).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(FACES / f, base / who / f)
    return base


def test_teach_a_folder_in_the_data_folder_as_a_job(api: ApiEnv) -> None:
    anna, bob = _files_of("person01")[:2], _files_of("person02")[:2]
    _refs(api.core.cfg.data / "refs", {"Anna": [*anna, "couple.jpg"], "Bob": bob})
    job = api.ok("POST", "/teach/folder", json={"root": "data", "folder": "refs"})
    assert job["type"] == "teach" and job["params"] == {"root": "data", "folder": "refs"}
    done = api.ok("GET", f"/jobs/{job['id']}")
    assert done["state"] == "done", done
    result = done["result"]
    assert result["people"] == {"Anna": 2, "Bob": 2} and result["taught"] == 4 and result["not_used"] == 1
    assert result["rejected"] == [{"path": "refs/Anna/couple.jpg", "reason": result["rejected"][0]["reason"]}]
    assert "faces found" in result["rejected"][0]["reason"] and done["errors"] == 1
    events = api.ok("GET", f"/jobs/{job['id']}/events?level=error")["items"]
    assert [e["path"] for e in events] == ["refs/Anna/couple.jpg"]
    people = {p["name"]: p for p in api.ok("GET", "/people")["items"]}
    assert people["Anna"]["face_count"] == 2 and people["Bob"]["face_count"] == 2
    only_bob = api.ok("POST", "/teach/folder", json={"root": "data", "folder": "refs", "person": "bob"})
    again = api.ok("GET", f"/jobs/{only_bob['id']}")["result"]
    assert again["people"] == {"Bob": 2} and again["skipped"] == 2 and again["created"] == []


def test_teach_folder_paths_are_resolved_safely(api: ApiEnv, tmp_path: Path) -> None:
    outside = _refs(tmp_path / "outside", {"Eve": _files_of("person03")[:1]})
    os.symlink(outside, api.core.cfg.library / "link-out")
    jobs_before = m.Job.select().count()
    assert_problem(api.post("/teach/folder", json={"root": "library", "folder": "../outside"}), 400)
    assert_problem(api.post("/teach/folder", json={"root": "library", "folder": "link-out"}), 400)
    assert_problem(api.post("/teach/folder", json={"root": "data", "folder": "/etc"}), 400)
    assert_problem(api.post("/teach/folder", json={"root": "library", "folder": "nope"}), 404)
    assert_problem(api.post("/teach/folder", json={"root": "library", "folder": "img1.jpg"}), 409)
    assert_problem(api.post("/teach/folder", json={"root": "home", "folder": "x"}), 422)
    assert_problem(api.post("/teach/folder", json={"root": "data"}), 422)
    assert_problem(api.post("/jobs", json={"type": "teach", "params": {"folder": "../outside"}}), 422)
    assert m.Job.select().count() == jobs_before
    job = api.ok("POST", "/jobs", json={"type": "teach", "params": {"folder": "link-out"}})  # checked in the job
    failed = api.ok("GET", f"/jobs/{job['id']}")
    assert failed["state"] == "failed" and "outside the library" in failed["error"]
    job = api.ok("POST", "/jobs", json={"type": "teach", "params": {"root": "library", "folder": ""}})
    failed = api.ok("GET", f"/jobs/{job['id']}")  # its sub-folders would all become people
    assert failed["state"] == "failed" and "not the library folder itself" in failed["error"]
    assert m.Person.select().count() == 0
    assert_problem(api.post("/teach/folder", json={"folder": "x"}, key="read"), 403)


def _upload(api: ApiEnv, person: str, names: list[str], **kw):
    files = [("files", (Path(n).name, (FACES / n).read_bytes(), "image/jpeg")) for n in names]
    return api.post("/teach/upload", data={"person": person}, files=files, **kw)


def test_teach_uploaded_photos(api: ApiEnv) -> None:
    cleo = _files_of("person03")[:2]
    resp = _upload(api, "Cleo", [*cleo, "couple.jpg"])
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert len(body["saved"]) == 3 and all(len(Path(n).stem) == 24 for n in body["saved"])
    stored = api.core.cfg.data / "teach" / "Cleo"
    assert sorted(p.name for p in stored.iterdir()) == sorted(body["saved"])
    result = api.ok("GET", f"/jobs/{body['job']['id']}")["result"]
    assert result["people"] == {"Cleo": 2} and result["created"] == ["Cleo"] and result["not_used"] == 1
    again = _upload(api, "Cleo", cleo).json()  # the same photos: stored once, nothing analysed again
    assert len(again["saved"]) == 2 and set(again["saved"]) < set(body["saved"])
    assert api.ok("GET", f"/jobs/{again['job']['id']}")["result"]["skipped"] == 3
    assert len(list(stored.iterdir())) == 3


def test_bad_uploads_are_refused_and_store_nothing(api: ApiEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.api import teach

    bad = api.post("/teach/upload", data={"person": "Dan"},
                   files=[("files", ("a.jpg", (FACES / "img1.jpg").read_bytes(), "image/jpeg")),
                          ("files", ("notes.txt", b"hello", "text/plain"))])  # fmt: skip
    assert "notes.txt" in assert_problem(bad, 400)["detail"]
    assert_problem(_upload(api, "a/b", ["img1.jpg"]), 400)
    assert_problem(_upload(api, "   ", ["img1.jpg"]), 400)
    monkeypatch.setattr(teach, "MAX_UPLOAD_FILE_BYTES", 1000)
    assert_problem(_upload(api, "Dan", ["img1.jpg"]), 413)
    assert not (api.core.cfg.data / "teach").exists()
    assert_problem(_upload(api, "Dan", ["img1.jpg"], key="read"), 403)


def test_purge_counts_first_then_forgets_missing_photos(api: ApiEnv) -> None:
    from tagmyphotos.review import confirm

    photo = m.Photo.get(m.Photo.path == "couple.jpg")
    faces = list(m.Face.select().where(m.Face.photo == photo.id))
    confirm.confirm(api.core, [faces[0].id], "Gone Person")
    confirm.confirm(api.core, [int(m.Face.get(m.Face.photo == m.Photo.get(m.Photo.path == "img1.jpg").id).id)],
                    "Gone Person")  # fmt: skip
    thumbs = [api.core.cfg.data / f.thumb for f in faces]
    assert all(t.is_file() for t in thumbs)
    os.remove(api.core.cfg.library / "couple.jpg")
    scan_and_analyze(api.core)
    assert m.Photo.get_by_id(photo.id).state == m.PhotoState.MISSING
    dry = api.ok("POST", "/photos/purge", json={})
    assert dry == {"missing": 1, "purged": 0, "faces": len(faces), "named_faces": 1, "dry_run": True}
    assert m.Photo.get_or_none(m.Photo.id == photo.id) is not None
    done = api.ok("POST", "/photos/purge", json={"dry_run": False})
    assert done["purged"] == 1 and done["dry_run"] is False
    assert m.Photo.get_or_none(m.Photo.id == photo.id) is None
    assert m.Face.select().where(m.Face.photo == photo.id).count() == 0
    person = m.Person.get(m.Person.name == "Gone Person")
    assert person.face_count == 1 and person.cover_face_id not in {f.id for f in faces}
    assert not any(t.exists() for t in thumbs)
    assert api.ok("POST", "/photos/purge", json={"dry_run": False})["missing"] == 0
    assert_problem(api.post("/photos/purge", json={}, key="read"), 403)
