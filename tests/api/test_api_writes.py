"""Preview, write, audit and restore through the API: real exiftool on copies of the testdata."""

from __future__ import annotations

import pytest

from tagmyphotos.store import models as m
from tests.support.api import ApiEnv, assert_problem
from tests.support.base import EXIFTOOL, FACES

pytest_plugins = ("tests.support.api",)
pytestmark = pytest.mark.skipif(not EXIFTOOL.exists(), reason="needs the bundled exiftool (scripts/install.sh)")

NAMED = ("img1.jpg", "img2.jpg")


def _confirm(api: ApiEnv, name: str) -> None:
    ids = []
    for path in NAMED:
        faces = api.ok("GET", "/photos/by-path", params={"path": path})["face_list"]
        ids.append(max(faces, key=lambda f: f["w"] * f["h"])["id"])
    api.ok("POST", "/faces/confirm", json={"face_ids": ids, "name": name})


def test_preview_write_audit_restore(api: ApiEnv) -> None:
    assert api.ok("GET", "/writes/preview")["total"] == 0  # nothing confirmed yet
    _confirm(api, "Marie Example")
    preview = api.ok("GET", "/writes/preview")
    assert preview["total"] == 2 and {f["path"] for f in preview["files"]} == set(NAMED)
    for f in preview["files"]:
        assert f["error"] is None and f["mode"] in ("in-file", "sidecar")
        assert any("Marie Example" in after for c in f["changes"] for after in c["after"])
    one = api.ok("GET", "/writes/preview", params={"path": "img2.jpg", "limit": 1})
    assert one["total"] == 1 and [f["path"] for f in one["files"]] == ["img2.jpg"]
    assert all((api.core.library / p).read_bytes() == (FACES / p).read_bytes() for p in NAMED)  # a dry run

    job = api.ok("POST", "/writes", json={})
    assert job["type"] == "write" and job["state"] == "done", job
    assert job["result"]["written"] == 2 and job["result"]["failed"] == 0
    audit = api.ok("GET", f"/writes/audit?job_id={job['id']}")
    assert audit["total"] == 2 and {a["result"] for a in audit["items"]} == {"ok"}
    assert all(a["backup_path"] or a["mode"] == "sidecar" for a in audit["items"])
    detail = api.ok("GET", "/photos/by-path", params={"path": "img1.jpg"})
    assert detail["written"] is True and detail["writes"][0]["job_id"] == job["id"]
    assert api.ok("GET", "/photos?written=true")["total"] == 2
    assert api.ok("GET", "/writes/preview")["total"] == 0  # nothing left to write

    restore = api.ok("POST", "/writes/restore", json={"paths": ["img1.jpg"]})
    assert restore["type"] == "restore" and restore["state"] == "done", restore
    assert (api.core.library / "img1.jpg").read_bytes() == (FACES / "img1.jpg").read_bytes()
    assert not (api.core.library / "img1.jpg.xmp").exists()
    restored = api.ok("GET", "/writes/audit?result=restored")
    assert restored["total"] >= 1 and restored["items"][0]["path"] == "img1.jpg"


def test_write_dry_run_job_writes_nothing(api: ApiEnv) -> None:
    _confirm(api, "Dry Run")
    job = api.ok("POST", "/writes", json={"dry_run": True, "paths": ["img1.jpg"]})
    assert job["state"] == "done" and job["params"] == {"paths": ["img1.jpg"], "dry_run": True}
    assert job["result"]["dry-run"] == 1 and job["result"]["written"] == 0
    assert (api.core.library / "img1.jpg").read_bytes() == (FACES / "img1.jpg").read_bytes()
    assert api.ok("GET", "/writes/audit?mode=dry-run")["total"] == 1
    assert m.Photo.get(m.Photo.path == "img1.jpg").written_signature is None


def test_write_and_restore_requests_are_validated(api: ApiEnv) -> None:
    assert_problem(api.post("/writes/restore", json={}), 422)
    assert_problem(api.post("/writes/restore", json={"paths": ["../../etc/passwd"]}), 422)
    assert_problem(api.post("/writes", json={"paths": ["/etc/passwd"]}), 422)
    assert_problem(api.post("/writes/restore", json={"since": "yesterday"}), 422)
    assert_problem(api.get("/writes/preview", params={"path": "%2e%2e/x"}), 400)
    assert_problem(api.get("/writes/preview", params={"limit": 201}), 422)
    assert_problem(api.post("/writes", key="read", json={}), 403)
