"""The copy of the database taken before a schema migration, so an upgrade can be undone.

Why: a migration rewrites the one file that holds every name a user gave; if it (or the new
release) goes wrong, the database as the old release left it must still exist.
- SQLite: an online copy through sqlite3's backup API (consistent while other connections are
  open) to `<db>.before-v<N>.bak` beside the database, N the schema it is upgraded to. The copy is
  written under a temporary name, checked (quick_check, the same schema version, the same row
  counts per table), synced and only then renamed; if any of this fails nothing is migrated. The
  newest KEEP copies are kept, older ones deleted.
- PostgreSQL: each migration runs in one transaction (DDL is transactional there), so a failed
  one leaves the schema as it was. If `pg_dump` is on PATH, a dump in its custom format goes to
  `postgres.before-v<N>.dump` in the data folder first; a dump that fails is logged and the
  upgrade goes on (a pg_dump older than the server must not stop every start).
docs/reliability.md says what is guaranteed.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import peewee as pw

from tagmyphotos.durable import fsync_dir
from tagmyphotos.store.migrations import UpgradeStopped

log = logging.getLogger("tagmyphotos.store.backup")

KEEP = 2  # copies before upgrades kept beside the database (the newest ones)
PG_DUMP_TIMEOUT_S = 3600


class BackupFailed(UpgradeStopped):
    """The copy before a migration could not be made or checked: nothing was migrated."""


def backup_path(db_path: Path, target: int) -> Path:
    return db_path.with_name(f"{db_path.name}.before-v{target}.bak")


def backup_before_upgrade(db: pw.Database, db_path: Path, version: int, target: int) -> Path | None:
    """Copy the database at schema `version` before it is migrated to `target` (see module)."""
    if isinstance(db, pw.SqliteDatabase):
        return backup_sqlite(db, db_path, version, target)
    if isinstance(db, pw.PostgresqlDatabase):
        return dump_postgres(db, db_path.parent / f"postgres.before-v{target}.dump")
    return None


def backup_sqlite(db: pw.SqliteDatabase, db_path: Path, version: int, target: int) -> Path:
    final = backup_path(db_path, target)
    partial = final.with_name(final.name + ".partial")
    try:
        partial.unlink(missing_ok=True)
        copy = sqlite3.connect(partial)
        try:
            db.connection().backup(copy)
            _verify(db, copy, version)
        finally:
            copy.close()
        with open(partial, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(partial, final)
        fsync_dir(final.parent)
    except (OSError, sqlite3.Error, BackupFailed) as exc:
        partial.unlink(missing_ok=True)
        raise BackupFailed(f"the copy of the database before the upgrade failed ({exc}); nothing was changed") from exc
    log.info("database at schema %s copied to %s before the upgrade to %s", version, final, target)
    prune(db_path)
    return final


def _verify(db: pw.SqliteDatabase, copy: sqlite3.Connection, version: int) -> None:
    """The copy reads back whole: quick_check, the same schema version and row counts."""
    check = copy.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        raise BackupFailed(f"quick_check of the copy: {check}")
    row = copy.execute("SELECT value FROM schema_meta WHERE key = 'version'").fetchone()
    if row is None or int(row[0]) != version:
        raise BackupFailed(f"the copy has schema version {row and row[0]}, not {version}")
    for table in db.get_tables():
        quoted = table.replace('"', '""')
        ours = db.execute_sql(f'SELECT count(*) FROM "{quoted}"').fetchone()[0]
        theirs = copy.execute(f'SELECT count(*) FROM "{quoted}"').fetchone()[0]
        if ours != theirs:
            raise BackupFailed(f"table {table}: {theirs} rows in the copy, {ours} in the database")


def prune(db_path: Path, keep: int = KEEP) -> list[Path]:
    """Delete all but the `keep` newest copies before upgrades; returns the deleted ones."""
    copies = sorted(db_path.parent.glob(f"{db_path.name}.before-v*.bak"), key=lambda p: p.stat().st_mtime)
    gone = copies[: max(0, len(copies) - keep)]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def dump_postgres(db: pw.PostgresqlDatabase, target: Path) -> Path | None:
    """pg_dump of the database to `target` if pg_dump is on PATH; None if absent or failed."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        log.info("pg_dump is not on PATH: the upgrade relies on its transactions alone")
        return None
    dsn = db.connection().get_dsn_parameters()  # host, port, dbname, user: never the password
    env = {**os.environ, "PGPASSWORD": str(db.connect_params.get("password") or "")}
    where = [f"--{flag}={dsn[key]}" for flag, key in (("host", "host"), ("port", "port"), ("username", "user"))
             if dsn.get(key)]  # fmt: skip
    args = [pg_dump, "--format=custom", f"--file={target}", "--no-password", *where, dsn.get("dbname", db.database)]
    try:
        subprocess.run(args, env=env, capture_output=True, check=True, timeout=PG_DUMP_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        log.warning("pg_dump before the upgrade failed (%s %s); going on: each migration is one transaction",
                    exc, detail.decode(errors="replace").strip())  # fmt: skip
        return None
    log.info("PostgreSQL database dumped to %s before the upgrade", target)
    return target
