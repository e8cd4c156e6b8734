"""A database the first release wrote upgrades to today's schema at start, nothing lost (issue 30,
item 7); a copy is taken first; a database from a newer release is refused, nothing written.

Generic: the old database comes from tests/support/first_release_schema.py (frozen DDL) and is
upgraded to whatever migrations.LATEST is, so a new migration is covered without editing this
file. Runs on SQLite and, with `pytest --db=postgres`, on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import peewee as pw
import pytest

from tagmyphotos.config import Config
from tagmyphotos.core import Core
from tagmyphotos.review import confirm, people
from tagmyphotos.store import backup, migrations
from tagmyphotos.store import models as m
from tagmyphotos.store.db import make_database
from tagmyphotos.system.stats import library_stats
from tests.support import dbtarget
from tests.support import first_release_schema as old
from tests.support.base import make_config

T0 = dt.datetime(2026, 11, 27, 10, 30, 0)
REPO = Path(__file__).resolve().parents[2]
MODEL = "Dlib/dlib5-chip150-p0.25/v1"  # the default model's id: the app's matching reads these faces


def _url(cfg: Config) -> str | None:
    return cfg.database.url.get_secret_value() if cfg.database.url else None


def _embedding(seed: int) -> bytes:
    vec = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return (vec / np.linalg.norm(vec)).astype(np.float32).tobytes()


def _fill(db: pw.Database, version: int) -> dict[str, Any]:
    """Rows of every kind the first release stored at `version`; returns what to find again."""
    with db.bind_ctx(old.models(version)), db.atomic():
        photo_model = old.PhotoV1 if version == 1 else old.Photo
        extra = {} if version == 1 else {"analyzed_hash": "h1", "analysis_model": MODEL, "written_signature": "s1"}
        photos = [photo_model.create(path=f"2019/img_{i}.jpg", size=1000 + i, mtime=1.5e9 + i, hash=f"h{i}",
                                     format="JPEG", width=640, height=480, state="done", created_at=T0,
                                     updated_at=T0, **extra) for i in range(3)]  # fmt: skip
        job = old.Job.create(type="scan", state="done", params=json.dumps({"paths": ["2019"]}), progress_done=3,
                             progress_total=3, result=json.dumps({"new": 3}), created_at=T0,
                             finished_at=T0)  # fmt: skip
        old.JobEvent.create(job=job, level="warning", message="unreadable", path="2019/bad.jpg", created_at=T0)
        want: dict[str, Any] = {"photos": {p.path: p.size for p in photos}, "job": job.id}
        if version == 1:
            return want
        ada = old.Person.create(name="Ada", face_count=1, created_at=T0)
        bob = old.Person.create(name="Bob", hidden=True, created_at=T0)
        old.PersonAlias.create(person=ada, name="Ada L.")
        faces = [old.Face.create(photo=photos[i], x=10, y=20, w=64, h=64, det_score=0.99, quality=0.8,
                                 landmarks=json.dumps([[1, 2]]), embedding=_embedding(i), model=MODEL,
                                 state=state, person=person, suggested_person=sugg, confidence=conf,
                                 created_at=T0, updated_at=T0)
                 for i, (state, person, sugg, conf) in enumerate(
                     [("confirmed", ada, None, None), ("suggested", None, ada, 0.7),
                      ("unknown", None, None, None)])]  # fmt: skip
        ada.cover_face_id = faces[0].id
        ada.save()
        old.FaceRejection.create(face=faces[2], person=bob, created_at=T0)
        old.UndoEntry.create(kind="confirm", payload=json.dumps({"faces": [faces[0].id]}), created_at=T0)
        old.WriteAudit.create(job=job, photo=photos[0], path=photos[0].path, mode="sidecar", result="ok",
                              tags=json.dumps({"people": ["Ada"]}), created_at=T0)  # fmt: skip
        old.ApiKey.create(name="phone", prefix="tmp_abcd", key_hash="x" * 64, scope="read", created_at=T0)
        old.Setting.create(key="ui.password_hash", value=json.dumps("pbkdf2$abc"))
        want.update(faces={f.id: (f.state, f.person_id, f.suggested_person_id, _embedding(i))
                           for i, f in enumerate(faces)}, ada=ada.id, bob=bob.id)  # fmt: skip
        return want


def _schema(db: pw.Database) -> dict[str, Any]:
    """Tables, columns (name, type, nullable), indexes and foreign keys, order aside."""
    out: dict[str, Any] = {}
    for table in sorted(db.get_tables()):
        out[table] = {
            "columns": sorted((c.name, c.data_type.lower(), c.null) for c in db.get_columns(table)),
            "indexes": sorted((i.name, tuple(i.columns), i.unique) for i in db.get_indexes(table)),
            "foreign_keys": sorted((f.column, f.dest_table, f.dest_column) for f in db.get_foreign_keys(table)),
        }
    return out


def _old_database(tmp_path: Path, library: Path, version: int) -> tuple[Config, dict[str, Any]]:
    cfg = make_config(library, tmp_path / "data")
    cfg.data.mkdir(parents=True, exist_ok=True)
    db = make_database(cfg.db_path, _url(cfg))
    db.connect()
    try:
        old.build(db, version)
        want = _fill(db, version)
    finally:
        db.close()
    return cfg, want


def _fresh_schema(tmp_path: Path, library: Path) -> dict[str, Any]:
    core = Core(make_config(library, tmp_path / "fresh"))
    try:
        return _schema(core.db)
    finally:
        core.close()


@pytest.mark.parametrize("version", old.VERSIONS)
def test_first_release_database_upgrades_to_the_current_schema(tmp_path: Path, library: Path, version: int) -> None:
    assert min(old.VERSIONS) == migrations.OLDEST_UPGRADABLE
    fresh = _fresh_schema(tmp_path, library)
    cfg, want = _old_database(tmp_path, library, version)
    core = Core(cfg)  # the start the app makes: serve, worker and every command
    try:
        assert migrations.current_version(core.db) == migrations.LATEST
        assert _schema(core.db) == fresh
        assert {p.path: p.size for p in m.Photo.select()} == want["photos"]
        job = m.Job.get_by_id(want["job"])
        assert (job.params, job.result, job.worker_host) == ({"paths": ["2019"]}, {"new": 3}, None)
        assert [e.message for e in job.events] == ["unreadable"]
        if version == 2:
            _check_v2_rows(core, want)
        stats = library_stats()
        assert stats["photos"]["total"] == 3 and stats["jobs"]["by_state"] == {"done": 1}
    finally:
        core.close()
    _check_backup(cfg, version)


def _check_v2_rows(core: Core, want: dict[str, Any]) -> None:
    faces = {f.id: f for f in m.Face.select()}
    got = {i: (f.state, f.person_id, f.suggested_person_id, bytes(f.embedding)) for i, f in faces.items()}
    assert got == want["faces"]  # names kept: no table rebuild cascaded (version 9 on SQLite did)
    assert all(f.certainty is None and f.auto_batch is None for f in faces.values())
    assert m.Person.get_by_id(want["ada"]).ask_first is False
    assert [a.name for a in m.PersonAlias.select()] == ["Ada L."]
    assert m.Setting.get_by_id("ui.password_hash").value == "pbkdf2$abc"
    assert m.WriteAudit.get().tags == {"people": ["Ada"]} and m.ApiKey.get().scope == "read"
    assert m.FaceRejection.get().person_id == want["bob"] and m.UndoEntry.select().count() == 1
    # the app's own reads and writes on the upgraded rows
    assert {p.name: p.face_count for p in people.list_people()} == {"Ada": 1, "Bob": 0}
    unknown = next(i for i, f in faces.items() if f.state == m.FaceState.UNKNOWN)
    confirm.confirm(core, [unknown], "Ada")
    assert {p.name: p.face_count for p in people.list_people()}["Ada"] == 2


def _check_backup(cfg: Config, version: int) -> None:
    """SQLite: the verified copy beside the database holds the old version and its rows."""
    if dbtarget.on_postgres():
        return  # each migration was one transaction; a pg_dump copy is checked below
    copy = backup.backup_path(cfg.db_path, migrations.LATEST)
    assert copy.is_file()
    db = pw.SqliteDatabase(str(copy))
    with db:
        assert db.execute_sql("SELECT value FROM schema_meta").fetchone()[0] == str(version)
        assert db.execute_sql("SELECT count(*) FROM photo").fetchone()[0] == 3
        assert "certainty" not in {c.name for c in db.get_columns("face")} if version == 2 else True


@pytest.mark.skipif("not __import__('shutil').which('pg_dump')")
def test_postgres_is_dumped_before_an_upgrade(tmp_path: Path, library: Path) -> None:
    if not dbtarget.on_postgres():
        pytest.skip("PostgreSQL only: pytest --db=postgres")
    cfg, _ = _old_database(tmp_path, library, 2)
    Core(cfg).close()
    dump = cfg.data / f"postgres.before-v{migrations.LATEST}.dump"
    assert dump.is_file() and dump.read_bytes().startswith(b"PGDMP")


def test_copies_before_upgrades_are_pruned_to_the_newest(tmp_path: Path) -> None:
    db_path = tmp_path / "tagmyphotos.db"
    for n in range(2, 6):
        path = backup.backup_path(db_path, n)
        path.write_bytes(b"x")
        os.utime(path, (1_000_000 + n, 1_000_000 + n))
    gone = backup.prune(db_path)
    assert sorted(p.name for p in gone) == ["tagmyphotos.db.before-v2.bak", "tagmyphotos.db.before-v3.bak"]
    kept = sorted(p.name for p in tmp_path.iterdir())
    assert kept == ["tagmyphotos.db.before-v4.bak", "tagmyphotos.db.before-v5.bak"]


def _state(cfg: Config) -> bytes:
    """Everything stored, byte for byte: the SQLite file (+ its mtime) or PostgreSQL's dump."""
    if dbtarget.on_postgres():  # pg_dump's \restrict lines carry a random key per run
        lines = dbtarget.dump(cfg.data).splitlines(keepends=True)
        return b"".join(line for line in lines if not line.startswith((b"\\restrict", b"\\unrestrict")))
    return cfg.db_path.read_bytes() + str(cfg.db_path.stat().st_mtime_ns).encode()


def _changed(before: bytes, after: bytes) -> str:
    import difflib

    lines = difflib.unified_diff(before.decode(errors="replace").splitlines(),
                                 after.decode(errors="replace").splitlines(), lineterm="", n=0)  # fmt: skip
    return "\n".join(list(lines)[:20])


@pytest.fixture
def newer(tmp_path: Path, library: Path) -> Config:
    """A current database stamped one schema version above this code, as a newer release would."""
    cfg = make_config(library, tmp_path / "data")
    core = Core(cfg)
    try:
        m.upsert(m.SchemaMeta, m.SchemaMeta.key, {"key": "version", "value": str(migrations.LATEST + 1)})
    finally:
        core.close()
    return cfg


@pytest.mark.parametrize("command", [["status", "--json"], ["worker"], ["serve", "--port", "0"]])
def test_newer_database_is_refused_at_start(newer: Config, command: list[str]) -> None:
    before = _state(newer)
    digest = hashlib.sha256(before).hexdigest()
    env = {**os.environ, "TAGMYPHOTOS_LIBRARY": str(newer.library), "TAGMYPHOTOS_DATA": str(newer.data),
           "TAGMYPHOTOS_CONFIG": str(newer.data / "absent.yaml"), "PYTHONPATH": str(REPO),
           **dbtarget.database_env(newer.data)}  # fmt: skip
    out = subprocess.run([sys.executable, "-m", "tagmyphotos_app", *command], env=env, capture_output=True,
                         text=True, timeout=300, cwd=REPO)  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert f"schema version {migrations.LATEST + 1}" in out.stderr
    assert f"schema version {migrations.LATEST})" in out.stderr and "nothing was changed" in out.stderr
    assert "Traceback" not in out.stderr
    after = _state(newer)
    assert hashlib.sha256(after).hexdigest() == digest, _changed(before, after)
    assert not list(newer.data.glob("*.bak")) and not list(newer.data.glob("*.dump"))


def test_newer_database_is_refused_by_core(newer: Config) -> None:
    before = _state(newer)
    with pytest.raises(migrations.SchemaTooNew) as refused:
        Core(newer)
    assert (refused.value.found, refused.value.latest) == (migrations.LATEST + 1, migrations.LATEST)
    assert _state(newer) == before


def test_no_upgrade_without_its_copy(tmp_path: Path, library: Path) -> None:
    """SQLite: when the copy cannot be made (here its name is taken by a folder), the start
    stops with the reason and the database stays at its old version, rows and all."""
    if dbtarget.on_postgres():
        pytest.skip("SQLite's copy; PostgreSQL relies on its transactions")
    cfg, _ = _old_database(tmp_path, library, 2)
    backup.backup_path(cfg.db_path, migrations.LATEST).mkdir()
    before = _state(cfg)
    with pytest.raises(backup.BackupFailed, match="nothing was changed"):
        Core(cfg)
    assert _state(cfg) == before
    assert not list(cfg.data.glob("*.partial"))
