"""A folder swapped for a symlink after the scan must not lead a write out of the library
(issue 14, item 6).

The attack: `sub/victim2.jpg` scanned and named, then `sub` replaced by a symlink to a folder
outside the library holding another file of that name; the write modified the outside file,
backed it up, and a read-only one got a new .xmp outside. Here with real files, real exiftool
and the real write and restore stages.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from jobs.pipeline import STAGES
from tagmyphotos.core import Core
from tagmyphotos.review import confirm
from tagmyphotos.stages.runner import run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tests.support.base import FACES, make_config, scan_and_analyze


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(core: Core, kind: str, **params: object) -> m.Job:
    job = jobs_store.create_job(kind, {"no_follow": True, **params})
    run_stage(core, STAGES[kind], job)
    return m.Job.get_by_id(job)


def test_write_and_restore_never_follow_a_folder_swapped_for_a_link(tmp_path: Path) -> None:
    lib, outside = tmp_path / "library", tmp_path / "outside"
    for folder, name in (("sub", "victim2.jpg"), ("ro", "victim3.jpg")):
        (lib / folder).mkdir(parents=True)
        (outside / folder).mkdir(parents=True)
        shutil.copyfile(FACES / "img1.jpg", lib / folder / name)
        shutil.copyfile(FACES / "img1.jpg", outside / folder / name)  # the file an attacker wants changed
    os.chmod(outside / "ro" / "victim3.jpg", 0o444)  # read-only: a write would make a sidecar
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        scan_and_analyze(core)
        faces = [f.id for f in m.Face.select()]
        assert len(faces) == 2
        confirm.confirm(core, faces, "Alice")
        for folder in ("sub", "ro"):  # after the scan: the library's folders become links out
            shutil.rmtree(lib / folder)
            (lib / folder).symlink_to(outside / folder, target_is_directory=True)
        before = {p: sha(p) for p in outside.rglob("*") if p.is_file()}

        job = run(core, "write")
        assert job.result["written"] == 0 and job.result["failed"] == 2
        assert {p: sha(p) for p in outside.rglob("*") if p.is_file()} == before  # nothing changed or added
        assert not list((core.cfg.backups_dir).rglob("victim*"))  # nothing outside was backed up
        audit = list(m.WriteAudit.select())
        assert {a.result for a in audit} == {"failed"}
        assert all("outside the library" in a.error for a in audit)

        job = run(core, "restore", all=True)  # a restore must not follow the link either
        assert {p: sha(p) for p in outside.rglob("*") if p.is_file()} == before
    finally:
        core.close()


def test_a_link_inside_the_library_still_works(tmp_path: Path) -> None:
    lib = tmp_path / "library"
    (lib / "real").mkdir(parents=True)
    shutil.copyfile(FACES / "img1.jpg", lib / "real" / "a.jpg")
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        scan_and_analyze(core)
        confirm.confirm(core, [f.id for f in m.Face.select()], "Alice")
        (lib / "real").rename(lib / "moved")
        (lib / "real").symlink_to(lib / "moved", target_is_directory=True)  # stays inside
        assert run(core, "write").result["written"] == 1
    finally:
        core.close()
