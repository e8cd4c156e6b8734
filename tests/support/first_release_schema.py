"""The database as the first release wrote it: the oldest schema this code upgrades from.

Why frozen here, by hand: migrations create some tables from today's models, so a database made
by running them is not the one a user of the first release has on disk. These models are copied
from commit 06dcfdc (tagmyphotos/models.py and migrations.py, the first release: schema version
2, versions 1 and 2 applied at its first start) and never change; peewee writes their DDL for
SQLite and PostgreSQL alike. `build(db, version)` makes that database at version 1 (a first start
stopped between the two migrations) or 2, empty; tests/store/test_upgrade.py fills and upgrades it.
"""

from __future__ import annotations

import datetime as dt

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate

FIRST_RELEASE = "06dcfdc"
VERSIONS = (1, 2)  # the schema versions the first release could leave behind


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class _Base(pw.Model):
    class Meta:
        legacy_table_names = False


class SchemaMeta(_Base):
    key = pw.CharField(primary_key=True)
    value = pw.TextField()

    class Meta:
        table_name = "schema_meta"


class _PhotoV1(pw.Model):
    """Its migration's own frozen class (legacy table names, as 06dcfdc had it): so the first
    release's photo indexes are named _photov1_hash, _photov1_path, _photov1_state."""

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
    created_at = pw.DateTimeField(default=_now)
    updated_at = pw.DateTimeField(default=_now)

    class Meta:
        table_name = "photo"


PhotoV1 = _PhotoV1


class Photo(_PhotoV1):
    """Version 2 added these four columns with ALTER TABLE (so they come last)."""

    analyzed_hash = pw.CharField(null=True)
    analysis_model = pw.CharField(null=True)
    written_signature = pw.CharField(null=True)
    write_error = pw.TextField(null=True)

    class Meta:
        table_name = "photo"


class Person(_Base):
    name = pw.CharField(unique=True)
    hidden = pw.BooleanField(default=False)
    face_count = pw.IntegerField(default=0)
    cover_face_id = pw.IntegerField(null=True)
    created_at = pw.DateTimeField(default=_now)

    class Meta:
        table_name = "person"


class PersonAlias(_Base):
    person = pw.ForeignKeyField(Person, on_delete="CASCADE")
    name = pw.CharField(index=True)

    class Meta:
        table_name = "person_alias"


class Face(_Base):
    photo = pw.ForeignKeyField(Photo, on_delete="CASCADE")
    x = pw.IntegerField()
    y = pw.IntegerField()
    w = pw.IntegerField()
    h = pw.IntegerField()
    det_score = pw.FloatField(default=1.0)
    quality = pw.FloatField(default=0.0)
    landmarks = pw.TextField(null=True)
    embedding = pw.BlobField(null=True)
    model = pw.CharField(null=True, index=True)
    thumb = pw.CharField(null=True)
    source = pw.CharField(default="detected")
    state = pw.CharField(default="unknown", index=True)
    person = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    suggested_person = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL", backref="suggested")
    confidence = pw.FloatField(null=True)
    band = pw.CharField(null=True)
    explanation = pw.TextField(null=True)
    cluster = pw.IntegerField(null=True, index=True)
    created_at = pw.DateTimeField(default=_now)
    updated_at = pw.DateTimeField(default=_now)

    class Meta:
        table_name = "face"


class FaceRejection(_Base):
    face = pw.ForeignKeyField(Face, on_delete="CASCADE")
    person = pw.ForeignKeyField(Person, on_delete="CASCADE")
    created_at = pw.DateTimeField(default=_now)

    class Meta:
        table_name = "face_rejection"
        indexes = ((("face", "person"), True),)


class UndoEntry(_Base):
    kind = pw.CharField()
    payload = pw.TextField()
    created_at = pw.DateTimeField(default=_now)

    class Meta:
        table_name = "undo_entry"


class Job(_Base):
    type = pw.CharField(index=True)
    state = pw.CharField(default="queued", index=True)
    params = pw.TextField(default="{}")
    progress_done = pw.IntegerField(default=0)
    progress_total = pw.IntegerField(default=0)
    errors = pw.IntegerField(default=0)
    error = pw.TextField(null=True)
    result = pw.TextField(null=True)
    cancel_requested = pw.BooleanField(default=False)
    parent = pw.IntegerField(null=True)
    created_at = pw.DateTimeField(default=_now)
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    heartbeat_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "job"


class JobEvent(_Base):
    job = pw.ForeignKeyField(Job, on_delete="CASCADE")
    level = pw.CharField(default="info")
    message = pw.TextField()
    path = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=_now)

    class Meta:
        table_name = "job_event"


class WriteAudit(_Base):
    job = pw.ForeignKeyField(Job, null=True, on_delete="SET NULL")
    photo = pw.ForeignKeyField(Photo, null=True, on_delete="SET NULL")
    path = pw.TextField()
    mode = pw.CharField()
    target = pw.TextField(null=True)
    hash_before = pw.CharField(null=True)
    hash_after = pw.CharField(null=True)
    tags = pw.TextField(null=True)
    backup_path = pw.TextField(null=True)
    result = pw.CharField()
    error = pw.TextField(null=True)
    note = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=_now, index=True)

    class Meta:
        table_name = "write_audit"


class ApiKey(_Base):
    name = pw.CharField()
    prefix = pw.CharField(index=True)
    key_hash = pw.CharField()
    scope = pw.CharField(default="full")
    created_at = pw.DateTimeField(default=_now)
    last_used_at = pw.DateTimeField(null=True)
    revoked_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "api_key"


class Setting(_Base):
    key = pw.CharField(primary_key=True)
    value = pw.TextField(null=True)

    class Meta:
        table_name = "setting"


V1_MODELS: list[type[pw.Model]] = [SchemaMeta, PhotoV1, Job, JobEvent]
V2_MODELS: list[type[pw.Model]] = [SchemaMeta, Photo, Person, PersonAlias, Face, FaceRejection, UndoEntry, Job,
                                   JobEvent, WriteAudit, ApiKey, Setting]  # fmt: skip


def models(version: int) -> list[type[pw.Model]]:
    return V1_MODELS if version == 1 else V2_MODELS


def build(db: pw.Database, version: int) -> None:
    """The empty first-release database at `version` (1 or 2), as its migrations made it."""
    if version not in VERSIONS:
        raise ValueError(f"the first release wrote schema 1 or 2, not {version}")
    with db.bind_ctx(V1_MODELS):
        db.create_tables(V1_MODELS)
    if version == 2:
        with db.bind_ctx(V2_MODELS):
            migrator_columns(db)
            db.create_tables([Person, PersonAlias, Face, FaceRejection, UndoEntry, WriteAudit, ApiKey, Setting])
    with db.bind_ctx([SchemaMeta]):
        SchemaMeta.insert(key="version", value=str(version)).execute()


def migrator_columns(db: pw.Database) -> None:
    """Version 2's ALTER TABLEs on the photo table, as its migration ran them."""
    migrator = SchemaMigrator.from_database(db)
    migrate(*(migrator.add_column("photo", name, getattr(Photo, name))
              for name in ("analyzed_hash", "analysis_model", "written_signature", "write_error")))  # fmt: skip
