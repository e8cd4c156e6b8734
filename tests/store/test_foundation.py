"""Config, migrations, the job queue with a real consumer, and the CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import peewee as pw
import pytest

from tagmyphotos.config import ConfigError, load_config
from tagmyphotos.core import Core
from tagmyphotos.store import migrations
from tagmyphotos.store import models as m
from tests.support.base import ROOT

CLI = [sys.executable, "-m", "tagmyphotos_app"]


def run_cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def lib_env(library: Path, data: Path) -> dict[str, str]:
    return {
        "TAGMYPHOTOS_LIBRARY": str(library),
        "TAGMYPHOTOS_DATA": str(data),
        "TAGMYPHOTOS_CONFIG": str(data / "absent.yaml"),
    }


def test_bad_config_value_gives_one_readable_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "none.yaml", {"TAGMYPHOTOS_ANALYSIS__WORKERS": "zero"})
    assert str(err.value).startswith("config error: analysis.workers:")
    (tmp_path / "c.yaml").write_text("server:\n  port: 99999\n")
    with pytest.raises(ConfigError, match=r"server.port: .*less than or equal to 65535"):
        load_config(tmp_path / "c.yaml", {})
    (tmp_path / "d.yaml").write_text("analysis:\n  detector: magic\n")
    with pytest.raises(ConfigError, match="analysis.detector"):
        load_config(tmp_path / "d.yaml", {})
    (tmp_path / "e.yaml").write_text("nonsense_key: 1\n")
    with pytest.raises(ConfigError, match="nonsense_key"):
        load_config(tmp_path / "e.yaml", {})
    proc = run_cli("config", "check", env={"TAGMYPHOTOS_PORT": "http", "TAGMYPHOTOS_CONFIG": "/nonexistent"})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "server.port" in lines[0]


def test_env_overrides_and_masked_secrets(tmp_path: Path) -> None:
    secret_file = tmp_path / "key"
    secret_file.write_text("s3cret-from-docker\n")
    cfg = load_config(
        tmp_path / "none.yaml",
        {
            "TAGMYPHOTOS_LIBRARY": "/photos",
            "TAGMYPHOTOS_PORT": "9000",
            "TAGMYPHOTOS_API_KEY_FILE": str(secret_file),
            "TAGMYPHOTOS_INTEGRATIONS__IMMICH__API_KEY": "immich-key",
        },
    )
    assert str(cfg.library) == "/photos" and cfg.server.port == 9000
    assert cfg.auth.api_key is not None and cfg.auth.api_key.get_secret_value() == "s3cret-from-docker"
    masked = json.dumps(cfg.masked())
    assert "s3cret" not in masked and "immich-key" not in masked and "********" in masked
    env = {"TAGMYPHOTOS_PASSWORD": "hunter2-hunter2", "TAGMYPHOTOS_CONFIG": "/x"}
    proc = run_cli("config", "check", "--json", env=env)
    assert proc.returncode == 0 and "hunter2" not in proc.stdout
    assert json.loads(proc.stdout)["auth"]["password"] == "********"


def test_shipped_config_yaml_is_valid_and_documents_every_option() -> None:
    cfg = load_config(ROOT / "config.yaml", {})
    text = (ROOT / "config.yaml").read_text()
    for section, model in cfg:
        if hasattr(model, "model_fields"):
            for key in type(model).model_fields:
                assert f"{key}:" in text, f"config.yaml does not document {section}.{key}"


def test_migration_from_schema_v1_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = pw.SqliteDatabase(str(path), pragmas={"foreign_keys": 1})
    m.database.initialize(old)
    migrations.upgrade(old, target=1)  # the database the first release made
    old.execute_sql(
        "INSERT INTO photo (path, kind, size, mtime, hash, orientation, state, created_at, updated_at) "
        "VALUES ('a/b.jpg', 'image', 10, 1.5, 'abc', 6, 'done', '2026-01-01', '2026-01-01')"
    )
    assert "analyzed_hash" not in [c.name for c in old.get_columns("photo")]
    old.close()
    from tagmyphotos.store.db import open_database

    db = open_database(path)
    assert migrations.current_version(db) == migrations.LATEST
    photo = m.Photo.get(m.Photo.path == "a/b.jpg")
    assert (photo.hash, photo.orientation, photo.state, photo.analyzed_hash) == ("abc", 6, "done", None)
    assert db.table_exists("face") and db.table_exists("person")
    db.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_scan_job_runs_through_a_real_consumer(cfg) -> None:
    from jobs import runtime
    from jobs.consumer import start_consumer, stop_consumer
    from jobs.queue import configure_queue
    from jobs.tasks import start_job
    from tagmyphotos_app.boot import wait_for_job

    core = Core(cfg)
    configure_queue(cfg)
    runtime.install(core)
    consumer = start_consumer(workers=1, periodic=False)
    try:
        job_id = start_job("scan")
        assert start_job("scan") == job_id or m.Job.get_by_id(job_id).state != m.JobState.QUEUED
        assert wait_for_job(job_id, 60) == m.JobState.DONE
        job = m.Job.get_by_id(job_id)
        assert job.result["new"] == 64 and job.progress_done == 64
        assert m.Photo.select().count() == 64
        follower = m.Job.get(m.Job.parent == job_id)
        assert follower.type == "analyze"  # the hand-off to the next stage
    finally:
        stop_consumer(consumer, graceful=True)
        runtime.install(None)
        core.close()
    assert cfg.queue_path.exists()


def test_killed_scan_rerun_leaves_no_duplicates(library: Path, tmp_path: Path) -> None:
    # make a library big enough that a kill lands mid-scan: 64 photos x 40 folders (hard links)
    for n in range(40):
        folder = library / f"copy{n:02d}"
        folder.mkdir()
        for photo in list(library.glob("*.jpg")):
            os.link(photo, folder / photo.name)
    data = tmp_path / "data"
    env = lib_env(library, data)
    proc = subprocess.Popen([*CLI, "scan", "--wait"], env={**os.environ, **env}, cwd=ROOT)
    db_file = data / "tagmyphotos.db"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if db_file.exists():
            with sqlite3.connect(db_file, timeout=5) as conn:
                try:
                    if conn.execute("SELECT COUNT(*) FROM photo").fetchone()[0] > 0:
                        break
                except sqlite3.OperationalError:
                    pass
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rerun = run_cli("scan", "--wait", "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    status = json.loads(run_cli("status", "--json", env=env).stdout)
    assert status["photos"]["total"] == 64 * 41
    with sqlite3.connect(db_file) as conn:
        paths = [r[0] for r in conn.execute("SELECT path FROM photo")]
    assert len(paths) == len(set(paths)) == 64 * 41


def test_cli_status_json_and_exit_codes(library: Path, tmp_path: Path) -> None:
    env = lib_env(library, tmp_path / "data")
    scan = run_cli("scan", "--wait", "--json", env=env)
    assert scan.returncode == 0, scan.stderr
    assert json.loads(scan.stdout)["job"]["result"]["new"] == 64
    status = json.loads(run_cli("status", "--json", env=env).stdout)
    assert status["photos"]["total"] == 64
    assert status["photos"]["by_state"]["pending"] == 64
    assert status["faces"]["total"] == 0
    assert [j["type"] for j in status["jobs"]["recent"]][:2] == ["analyze", "scan"]
    missing = run_cli("scan", "--wait", env={**env, "TAGMYPHOTOS_LIBRARY": str(tmp_path / "nope")})
    assert missing.returncode == 1 and "scan job" in missing.stdout and "failed" in missing.stdout
    assert "does not exist" in missing.stderr.strip().splitlines()[-1]  # errors go last, on stderr
    assert run_cli("--help", env=env).returncode == 0
    assert run_cli("bogus", env=env).returncode == 2
    os.remove(library / "img1.jpg")
    run_cli("scan", "--wait", env=env)
    purge = json.loads(run_cli("purge", "--yes", "--json", env=env).stdout)
    assert (purge["missing"], purge["purged"]) == (1, 1) and purge["faces"] >= purge["named_faces"] == 0
