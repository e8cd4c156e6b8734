"""Versioned schema migrations: an existing database is upgraded in place, without loss.

Each entry of MIGRATIONS brings the schema from version N-1 to N and never changes once
released; a new schema change is a new entry. Version 1 is frozen here as it shipped.

What this code upgrades from: OLDEST_UPGRADABLE. The first release (commit 06dcfdc) applied
versions 1 and 2 at its first start, each in its own transaction, so a database in the wild is at
version 2 or later, or at 1 if that first start was stopped between the two; both are upgraded
(tests/store/test_upgrade.py builds them as that release wrote them and upgrades them to LATEST).
A database above LATEST was written by a newer release: it is refused (SchemaTooNew) before
anything is written, as downgrades do not exist. The copy taken before a migration runs:
store/backup.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate

from tagmyphotos import VERSION
from tagmyphotos.errors import TagMyPhotosError
from tagmyphotos.store import models as m
from tagmyphotos.store import tally


class _PhotoV1(pw.Model):
    """The photo table as version 1 created it (frozen: later versions add columns)."""

    path = pw.TextField(unique=True)
    kind = pw.CharField(default="image")
    size = pw.BigIntegerField()
    mtime = pw.DoubleField()
    hash = pw.CharField(null=True, index=True)
    format = pw.CharField(null=True)
    width = pw.IntegerField(null=True)
    height = pw.IntegerField(null=True)
    orientation = pw.IntegerField(default=1)
    state = pw.CharField(default="pending", index=True)
    last_error = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=m.utcnow)
    updated_at = pw.DateTimeField(default=m.utcnow)

    class Meta:
        table_name = "photo"


class _JobV1(pw.Model):
    """The job table as version 1 created it (version 6 adds the worker columns)."""

    type = pw.CharField(index=True)
    state = pw.CharField(default="queued", index=True)
    params = m.JSONField(default=dict)
    progress_done = pw.IntegerField(default=0)
    progress_total = pw.IntegerField(default=0)
    errors = pw.IntegerField(default=0)
    error = pw.TextField(null=True)
    result = m.JSONField(null=True)
    cancel_requested = pw.BooleanField(default=False)
    parent = pw.IntegerField(null=True)
    created_at = pw.DateTimeField(default=m.utcnow)
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    heartbeat_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "job"


def _v1(db: pw.Database) -> None:
    """First release: photos, jobs and their log."""
    with db.bind_ctx([_PhotoV1, _JobV1]):
        db.create_tables([m.SchemaMeta, _PhotoV1, _JobV1])
    db.create_tables([m.JobEvent])


def _v2(db: pw.Database) -> None:
    """Faces, people, the learning loop, writes and API keys."""
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("photo", "analyzed_hash", m.Photo.analyzed_hash),
        migrator.add_column("photo", "analysis_model", m.Photo.analysis_model),
        migrator.add_column("photo", "written_signature", m.Photo.written_signature),
        migrator.add_column("photo", "write_error", m.Photo.write_error),
    )
    db.create_tables(
        [m.Person, m.PersonAlias, m.Face, m.FaceRejection, m.UndoEntry, m.WriteAudit, m.ApiKey, m.Setting]
    )


def _v3(db: pw.Database) -> None:
    """RAW+JPEG pairs: a RAW shares the faces of its JPEG."""
    migrator = SchemaMigrator.from_database(db)
    migrate(migrator.add_column("photo", "faces_from", m.Photo.faces_from))  # indexed by the field


def _v4(db: pw.Database) -> None:
    """Merge suggestions remember "different people"; photos are filtered and sorted by date."""
    db.create_tables([m.DistinctPeople])
    db.execute_sql("CREATE INDEX IF NOT EXISTS photo_mtime ON photo (mtime)")


def _v5(db: pw.Database) -> None:
    """Names imported from Immich and PhotoPrism: their people and faces, linked to ours."""
    db.create_tables([m.ForeignPerson, m.ForeignFace])


def _v6(db: pw.Database) -> None:
    """Jobs record the worker that ran them (host and process id): per-worker throughput."""
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("job", "worker_host", m.Job.worker_host),
        migrator.add_column("job", "worker_pid", m.Job.worker_pid),
    )


def _v7(db: pw.Database) -> None:
    """Names a photo's own tags give without a face region, and where each name came from."""
    db.create_tables([m.PhotoName])


def _v8(db: pw.Database) -> None:
    """Photos with unnamed faces, and a page of photos' face counts, read from one index alone."""
    db.execute_sql("CREATE INDEX IF NOT EXISTS face_photo_state ON face (photo_id, state)")


def _v9(db: pw.Database) -> None:
    """Unattended naming: suggestion levels, faces the product named by itself, "always ask me".

    The face and person tables of version 2 are created from the current models (a new
    database has these columns already): only the missing ones are added."""
    migrator = SchemaMigrator.from_database(db)
    wanted: list[tuple[str, pw.Field]] = [
        ("face", m.Face.certainty), ("face", m.Face.auto_batch), ("person", m.Person.ask_first),
    ]  # fmt: skip
    have = {table: {c.name for c in db.get_columns(table)} for table in ("face", "person")}
    steps = [migrator.add_column(t, f.column_name, f) for t, f in wanted if f.column_name not in have[t]]
    if steps:
        migrate(*steps)
    db.create_tables([m.AutoBatch])


# (old name, name, table, column, unique): the photo indexes of every database and, since the job
# table got its own frozen class (78f6c13), the job indexes of databases made after it were named
# after the frozen classes; the first release named the job ones job_state and job_type.
_INDEX_NAMES = (
    ("_photov1_hash", "photo_hash", "photo", "hash", False),
    ("_photov1_path", "photo_path", "photo", "path", True),
    ("_photov1_state", "photo_state", "photo", "state", False),
    ("_jobv1_state", "job_state", "job", "state", False),
    ("_jobv1_type", "job_type", "job", "type", False),
)


def _v10(db: pw.Database) -> None:
    """One schema whatever release made the database: index names <table>_<column>, like every
    other table's (found by the upgrade test: a first-release database and a new one differed)."""
    for old, new, table, column, unique in _INDEX_NAMES:
        kind = "UNIQUE INDEX" if unique else "INDEX"
        db.execute_sql(f'CREATE {kind} IF NOT EXISTS "{new}" ON "{table}" ("{column}")')
        db.execute_sql(f'DROP INDEX IF EXISTS "{old}"')


def _v11(db: pw.Database) -> None:
    """Pages cost the same at 1k and 500k photos: face counts kept by triggers (store/tally.py);
    the unknown faces in no group listed best first from an index, and the groups' sizes and
    photos counted from that index alone (it holds the photo too); a person's suggestions in the
    Review's order chosen from an index alone."""
    tally.install(db)
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS face_state_cluster_quality ON face (state, cluster, quality, photo_id)"
    )
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS face_suggested_order ON face (suggested_person_id, state, band, confidence)"
    )


MIGRATIONS: list[Callable[[pw.Database], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _v11]
LATEST = len(MIGRATIONS)
OLDEST_UPGRADABLE = 1  # every schema a release ever wrote, see the module's docstring


class UpgradeStopped(TagMyPhotosError, RuntimeError):
    """The start stops before the schema is touched; the message says why and what to do (the CLI:
    that sentence, exit 1; the family's defaults)."""


class SchemaTooNew(UpgradeStopped):
    """The database was written by a newer release: this one must not read or change it."""

    def __init__(self, found: int, latest: int = LATEST) -> None:
        super().__init__(
            f"the database has schema version {found}, written by a newer Tag My Photos than this "
            f"one ({VERSION}, schema version {latest}); nothing was changed. Run the newer "
            "release again (its image or package), or restore the copy taken before that upgrade "
            "(tagmyphotos.db.before-v*.bak beside the database, or your PostgreSQL dump)"
        )
        self.found = found
        self.latest = latest


def current_version(db: pw.Database) -> int:
    if not db.table_exists("schema_meta"):
        return 0
    row = m.SchemaMeta.get_or_none(m.SchemaMeta.key == "version")
    return int(row.value) if row else 0


def refuse_newer(version: int) -> None:
    """Raise SchemaTooNew for a schema above LATEST (checked before any write)."""
    if version > LATEST:
        raise SchemaTooNew(version)


def upgrade(db: pw.Database, target: int = LATEST) -> int:
    """Apply every migration above the current version, each in its own transaction: on
    PostgreSQL (transactional DDL) a failed migration leaves the schema as it was."""
    version = current_version(db)
    refuse_newer(version)
    with _sqlite_foreign_keys_off(db):
        for number in range(version + 1, target + 1):
            with db.atomic():
                MIGRATIONS[number - 1](db)
                _check_foreign_keys(db, number)
                m.upsert(m.SchemaMeta, m.SchemaMeta.key, {"key": "version", "value": str(number)})
    return max(version, target)


@contextmanager
def _sqlite_foreign_keys_off(db: pw.Database) -> Iterator[None]:
    """SQLite adds a NOT NULL column by rebuilding the table (new table, copy, DROP, rename); with
    foreign keys on, that DROP cascades: version 9 deleted every alias and unnamed every face of
    an upgraded database. The pragma only works outside a transaction, so it is set here, around
    them, and each migration checks the keys itself before it commits (SQLite's documented way)."""
    if not isinstance(db, pw.SqliteDatabase) or not db.pragma("foreign_keys"):
        yield
        return
    db.pragma("foreign_keys", 0)
    try:
        yield
    finally:
        db.pragma("foreign_keys", 1)


def _check_foreign_keys(db: pw.Database, number: int) -> None:
    if isinstance(db, pw.SqliteDatabase):
        broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration {number} would leave broken references {broken[:5]}; nothing was changed")
