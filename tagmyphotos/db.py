"""Open the database (SQLite in the data folder by default, PostgreSQL for scale-out)."""

from __future__ import annotations

from pathlib import Path

import peewee as pw
from playhouse.db_url import connect

from . import migrations
from .models import database

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
    )


def open_database(db_path: Path, url: str | None = None, upgrade: bool = True) -> pw.Database:
    """Bind the models to the database and bring its schema up to date."""
    db = make_database(db_path, url)
    database.initialize(db)
    db.connect(reuse_if_open=True)
    if upgrade:
        migrations.upgrade(db)
    return db


def close_database() -> None:
    if database.obj is not None and not database.is_closed():
        database.close()
