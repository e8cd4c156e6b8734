"""A restore never skips a backup silently (issue 25, item 8): `restore --all` with a folder
swapped for a link said "restored 1, failed 0" while the backups in that folder were skipped.
Every backup it does not put back is a failure with its reason, in the result and the job's
events. Real files, the real exiftool, the real write and restore stages."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from tagmyphotos.core import Core
from tagmyphotos.review import confirm
from tagmyphotos.store import models as m
from tests.support.base import FACES, make_config, run, scan_and_analyze


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_restore_all_reports_every_backup_it_cannot_put_back(tmp_path: Path) -> None:
    lib, outside = tmp_path / "library", tmp_path / "outside"
    (lib / "sub").mkdir(parents=True)
    (outside / "sub").mkdir(parents=True)
    shutil.copyfile(FACES / "img1.jpg", lib / "top.jpg")
    for name in ("a.jpg", "b.jpg"):
        shutil.copyfile(FACES / "img1.jpg", lib / "sub" / name)
        shutil.copyfile(FACES / "img1.jpg", outside / "sub" / name)
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        scan_and_analyze(core)
        confirm.confirm(core, [f.id for f in m.Face.select()], "Alice")
        assert run(core, "write").result["written"] == 3
        shutil.rmtree(lib / "sub")  # after the write: the folder becomes a link out of the library
        (lib / "sub").symlink_to(outside / "sub", target_is_directory=True)
        broken = next((core.cfg.backups_dir / "manifests").rglob("top.jpg*.json")).with_name("zz.jpg.json")
        broken.write_text("{not json")  # a manifest nobody can read is not skipped quietly either
        before = {p: sha(p) for p in outside.rglob("*") if p.is_file()}

        job = run(core, "restore", all=True)
        assert job.result["restored"] == 1 and job.result["failed"] == 3, job.result
        reasons = dict(job.result["errors"])
        assert set(reasons) == {"sub/a.jpg", "sub/b.jpg", str(broken)}
        assert all("outside the library" in reasons[f"sub/{n}"] for n in ("a.jpg", "b.jpg"))
        assert "cannot be read" in reasons[str(broken)]
        assert {p: sha(p) for p in outside.rglob("*") if p.is_file()} == before  # nothing followed
        events = [e.message for e in m.JobEvent.select().where(m.JobEvent.job == job.id)]
        assert sum("restore failed" in e for e in events) == 3, events
    finally:
        core.close()
