"""What every test may use: the repository and shared testdata paths, writable copies of the
testdata, a real Config, the real scan and analyze stages run in this process, and a stage run
the same way; the tags exiftool finds in a file.

Why here and not in conftest.py: conftest holds fixtures (pytest finds them); plain helpers are
imported, and importing from a conftest makes pytest load it twice.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from jobs.pipeline import STAGES
from tagmyphotos.config import Config, load_config
from tagmyphotos.core import Core
from tagmyphotos.stages.runner import run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos_lab.paths import EXIFTOOL, FACES, ROOT, SHARED, TESTDATA
from tests.support import dbtarget

REAL = TESTDATA / "real"
__all__ = ["EXIFTOOL", "FACES", "REAL", "ROOT", "SHARED", "TESTDATA", "copy_tree", "make_config", "people_in", "run",
           "scan_and_analyze"]  # fmt: skip


def copy_tree(src: Path, dst: Path, pattern: str = "*") -> Path:
    """Copy files (not folders) and make them writable: the shared testdata is read-only."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob(pattern)):
        if f.is_file():
            shutil.copyfile(f, dst / f.name)
            os.chmod(dst / f.name, 0o644)
    return dst


def make_config(library: Path, data: Path, **env: str) -> Config:
    environ = {"TAGMYPHOTOS_LIBRARY": str(library), "TAGMYPHOTOS_DATA": str(data)}
    environ["TAGMYPHOTOS_SCAN__INTERVAL_MINUTES"] = "0"
    if dbtarget.ENV_KEY not in env:
        environ.update(dbtarget.database_env(data))
    if EXIFTOOL.exists():
        environ["TAGMYPHOTOS_WRITE__EXIFTOOL"] = str(EXIFTOOL)
    environ.update(env)
    return load_config(path=data / "no-config.yaml", environ=environ)


def scan_and_analyze(core: Core) -> None:
    """Run the real scan and analyze stages in this process (as `--wait` does)."""
    for stage in ("scan", "analyze"):
        job_id = jobs_store.create_job(stage, {"no_follow": True})
        run_stage(core, STAGES[stage], job_id)


def run(core: Core, job_type: str, **params: object) -> m.Job:
    """One job of `job_type`, run to its end in this process."""
    job_id = jobs_store.create_job(job_type, {**params, "no_follow": True})
    run_stage(core, STAGES[job_type], job_id)
    return m.Job.get_by_id(job_id)


def people_in(path: Path) -> dict[str, object]:
    """The people tags exiftool reads in a file (regions, PersonInImage, dc:Subject)."""
    out = subprocess.run(
        [str(EXIFTOOL), "-j", "-struct", "-XMP-mwg-rs:RegionInfo", "-XMP-iptcExt:PersonInImage", "-XMP-dc:Subject",
         str(path)], capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)[0]
