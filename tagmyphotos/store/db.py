"""Open the database (SQLite in the data folder by default, PostgreSQL for scale-out)."""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import peewee as pw
from playhouse.db_url import connect

from tagmyphotos import tuning
from tagmyphotos.store import migrations
from tagmyphotos.store.backup import backup_before_upgrade
from tagmyphotos.store.models import database

# Wait this long for a lock held by another process/thread before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 15_000


def make_database(db_path: Path, url: str | None = None) -> pw.Database:
    if url:
        return connect(url, autorollback=True)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return pw.SqliteDatabase(
        str(db_path),
        pragmas={
            "journal_mode": "wal",
            "foreign_keys": 1,
            "synchronous": "normal",
            "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
            "cache_size": -16_000,
        },
        timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
        check_same_thread=False,
        # A transaction takes the write lock when it begins. A deferred one that read first and
        # writes second fails at once with "database is locked" (WAL snapshot conflict, no busy
        # wait) whenever another connection committed in between: API writes during analysis.
        lock_type="IMMEDIATE",
    )


def open_database(db_path: Path, url: str | None = None, upgrade: bool = True) -> pw.Database:
    """Bind the models to the database and bring its schema up to date (a copy first, see
    store/backup.py). A database written by a newer release is refused (migrations.SchemaTooNew)
    before anything is written: a SQLite file is read as immutable before it is even opened."""
    if not url:
        migrations.refuse_newer(peek_sqlite_version(db_path))
    db = make_database(db_path, url)
    database.initialize(db)
    db.connect(reuse_if_open=True)
    try:
        version = migrations.current_version(db)
        migrations.refuse_newer(version)
        if upgrade and 0 < version < migrations.LATEST:
            backup_before_upgrade(db, db_path, version, migrations.LATEST)
    except BaseException:
        db.close()
        raise
    if upgrade:
        migrations.upgrade(db)
    return db


def peek_sqlite_version(db_path: Path) -> int:
    """The schema version of a SQLite file, read without a lock, journal or WAL file (0 if there
    is no file or no version yet). A version still only in the WAL is caught after opening."""
    if not db_path.is_file():
        return 0
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?immutable=1", uri=True)
    try:
        row = conn.execute("SELECT value FROM schema_meta WHERE key = 'version'").fetchone()
    except sqlite3.DatabaseError:
        return 0  # no schema_meta yet (or not a database: opening it says so)
    finally:
        conn.close()
    return int(row[0]) if row else 0


def close_database() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()


def storage_problem(exc: BaseException) -> str | None:
    """A sentence for a database or disk failure the user can act on (locked by another
    process, disk full, read-only), or None for anything else: callers show it instead of a
    stack trace. Recognised by message because sqlite3, peewee and huey raise different types,
    anywhere in the chain: a full disk during COMMIT surfaces as peewee's failed ROLLBACK."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        problem = _storage_problem_of(current)
        if problem is not None:
            return problem
        current = current.__cause__ or current.__context__
    return None


def _storage_problem_of(exc: BaseException) -> str | None:
    text = str(exc).lower()
    code = getattr(exc, "errno", None)
    if "database is locked" in text or "database table is locked" in text:
        return (
            f"the database is locked by another process (waited {SQLITE_BUSY_TIMEOUT_MS // 1000} s); "
            "try again when the other program or job has finished"
        )
    if "disk is full" in text or code == errno.ENOSPC:
        return "the disk holding the data folder is full; free some space and run it again (nothing was lost)"
    if "readonly database" in text or code == errno.EROFS:
        return "the data folder is read-only; Tag My Photos must be able to write its database there"
    if "disk i/o error" in text:
        return "the disk holding the data folder failed a read or write (full or failing?); check it and retry"
    return None


# Key of the PostgreSQL advisory lock that serialises review transactions (any fixed number).
REVIEW_LOCK_KEY = 0x746D70


@contextmanager
def serialized(db: pw.Database) -> Iterator[None]:
    """A transaction that runs alone among the serialised ones, on both databases.

    Review actions read, count and write (one person per photo, face_count, covers, undo): on
    SQLite every write transaction takes the one write lock at BEGIN (IMMEDIATE), so they never
    interleave. PostgreSQL runs transactions side by side (READ COMMITTED) and two of them could
    write stale counts; a transaction-level advisory lock gives them SQLite's order back."""
    with db.atomic():
        if isinstance(db, pw.PostgresqlDatabase):
            db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (REVIEW_LOCK_KEY,))
        yield


T = TypeVar("T")


def chunked(items: Iterable[T], size: int = tuning.SQL_IN_MAX) -> Iterator[list[T]]:
    """Ids (or paths) in slices small enough for one SQL IN (...) on SQLite and PostgreSQL;
    `size` smaller for statements with several values per item."""
    seq = list(items)
    for lo in range(0, len(seq), size):
        yield seq[lo : lo + size]
