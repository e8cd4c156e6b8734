"""Database models (peewee). The schema itself is created and upgraded by migrations.py.

Why a DatabaseProxy: the same models serve SQLite (default, in the data folder) and PostgreSQL
(scale-out); db.open_database binds the proxy once at start.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import peewee as pw

from tagmyphotos.states import FaceState, JobState, PhotoState

database = pw.DatabaseProxy()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def rows(query: Any) -> list[tuple[Any, ...]]:
    """A select's rows as plain tuples (typed loosely: peewee's stubs type them as models)."""
    return [tuple(r) for r in query.tuples()]


def rows_as_objects(query: Any) -> list[Any]:
    """A select's model rows, typed loosely (peewee's stubs know no `<fk>_id` attributes)."""
    return list(query)


class JSONField(pw.TextField):
    """JSON stored as text: portable across SQLite and PostgreSQL."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else json.dumps(value, sort_keys=True)

    def python_value(self, value: str | None) -> Any:
        return None if value is None else json.loads(value)


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class IdModel(BaseModel):
    """A table with an integer `id` key (declared, so type checkers know it)."""

    id = pw.AutoField()


# --- photo states ---------------------------------------------------------------------------
# PhotoState (tagmyphotos.states); every state, for membership tests and counts by state:
PHOTO_STATES = tuple(PhotoState)


class Photo(IdModel):
    path = pw.TextField(unique=True)  # relative to the library root, '/' separated
    kind = pw.CharField(default="image")  # image | raw
    size = pw.BigIntegerField()
    mtime = pw.DoubleField()
    hash = pw.CharField(null=True, index=True)  # xxh3-128 of the whole file
    format = pw.CharField(null=True)  # by content: JPEG, PNG, WEBP, HEIF, TIFF, ...
    width = pw.IntegerField(null=True)  # stored pixels (before EXIF orientation)
    height = pw.IntegerField(null=True)
    orientation = pw.IntegerField(default=1)  # EXIF orientation 1..8
    state = pw.CharField(default=PhotoState.PENDING, index=True)
    last_error = pw.TextField(null=True)
    analyzed_hash = pw.CharField(null=True)  # file hash the faces were computed from
    analysis_model = pw.CharField(null=True)
    written_signature = pw.CharField(null=True)  # what we last wrote (see writes.py)
    write_error = pw.TextField(null=True)
    # A RAW of a RAW+JPEG pair: the photo (its JPEG) whose faces it shares and is tagged with.
    faces_from = pw.IntegerField(null=True, index=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "photo"


class Person(IdModel):
    name = pw.CharField(unique=True)
    hidden = pw.BooleanField(default=False)
    # "Always ask me": the product never names this person by itself (children, twins).
    ask_first = pw.BooleanField(default=False)
    face_count = pw.IntegerField(default=0)  # confirmed faces; kept right by people.py
    cover_face_id = pw.IntegerField(null=True)  # a confirmed Face id; kept right by people.py
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "person"


class PersonAlias(IdModel):
    """Old names of a person (after merge or rename): keep imports and searches working."""

    person = pw.ForeignKeyField(Person, backref="aliases", on_delete="CASCADE")
    name = pw.CharField(index=True)

    class Meta:
        table_name = "person_alias"


# --- face states ----------------------------------------------------------------------------
FACE_STATES = tuple(FaceState)  # FaceState (tagmyphotos.states)


class Face(IdModel):
    photo = pw.ForeignKeyField(Photo, backref="faces", on_delete="CASCADE")
    # Box in oriented (as displayed) full-resolution pixels.
    x = pw.IntegerField()
    y = pw.IntegerField()
    w = pw.IntegerField()
    h = pw.IntegerField()
    det_score = pw.FloatField(default=1.0)
    quality = pw.FloatField(default=0.0)
    landmarks = JSONField(null=True)
    embedding = pw.BlobField(null=True)  # float32 bytes
    model = pw.CharField(null=True, index=True)  # model + pipeline version of the embedding
    thumb = pw.CharField(null=True)  # relative to the data folder
    source = pw.CharField(default="detected")  # detected | imported | manual
    state = pw.CharField(default=FaceState.UNKNOWN, index=True)
    person = pw.ForeignKeyField(Person, null=True, backref="faces", on_delete="SET NULL")
    suggested_person = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL")
    confidence = pw.FloatField(null=True)
    band = pw.CharField(null=True)  # likely | maybe
    certainty = pw.CharField(null=True)  # a suggestion's level: sure | likely | check (matching.sure)
    explanation = JSONField(null=True)
    cluster = pw.IntegerField(null=True, index=True)
    # Confirmed by the product itself in this unattended batch (AutoBatch); None: by a person
    # (named, taught, accepted by hand, imported). Only faces a person confirmed are evidence
    # for "sure", so one automatic mistake cannot breed more.
    auto_batch = pw.IntegerField(null=True, index=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    # The foreign keys' id accessors peewee adds (its stubs do not know them): with these a face
    # row is typed `m.Face` where it crosses modules, not `Any` (issue 30, item 3).
    photo_id: int
    person_id: int | None
    suggested_person_id: int | None

    class Meta:
        table_name = "face"


class FaceRejection(IdModel):
    """A face is never suggested again for a person the user rejected it for."""

    face = pw.ForeignKeyField(Face, backref="rejections", on_delete="CASCADE")
    person = pw.ForeignKeyField(Person, on_delete="CASCADE")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "face_rejection"
        indexes = ((("face", "person"), True),)


class DistinctPeople(IdModel):
    """Two people the user said are different: never suggested for a merge again.

    Stored once per pair, the lower person id first (review.merges keeps that order)."""

    person_a = pw.ForeignKeyField(Person, on_delete="CASCADE")
    person_b = pw.ForeignKeyField(Person, on_delete="CASCADE")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "distinct_people"
        indexes = ((("person_a", "person_b"), True),)


class PhotoName(IdModel):
    """A person a photo's own tags name (other tools wrote it), with where the name was found.

    `face` is the face the name was put on at import (a region, or the only name on the only
    face); without one the person is in the photo but on no face we know: a photo-level name,
    which faces of the photo are limited to in suggestions and which a write never removes."""

    photo = pw.ForeignKeyField(Photo, backref="names", on_delete="CASCADE")
    person = pw.ForeignKeyField(Person, on_delete="CASCADE")
    sources = JSONField(default=list)  # exiftool tag names: XMP-iptcExt:PersonInImage, ...
    face = pw.ForeignKeyField(Face, null=True, on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "photo_name"
        indexes = ((("photo", "person"), True),)


class UndoEntry(IdModel):
    """The inverse of a bulk action, so the last one can be undone."""

    kind = pw.CharField()
    payload = JSONField()
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "undo_entry"


class AutoBatch(IdModel):
    """One unattended run: the faces the product named by itself ("sure" suggestions), the
    undo entry that takes them back, and the write job that put them into the files."""

    job = pw.IntegerField(null=True)  # the auto-name job
    undo_entry = pw.IntegerField(null=True)
    faces = pw.IntegerField(default=0)
    photos = pw.IntegerField(default=0)
    people = JSONField(default=dict)  # person name -> faces named
    face_ids = JSONField(default=list)  # never named automatically again once the batch is undone
    write_job = pw.IntegerField(null=True)
    undone_at = pw.DateTimeField(null=True)
    undo_note = pw.TextField(null=True)  # what the undo did with the files
    created_at = pw.DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "auto_batch"


# --- jobs -----------------------------------------------------------------------------------
JOB_STATES = tuple(JobState)  # JobState (tagmyphotos.states)


class Job(IdModel):
    type = pw.CharField(index=True)  # scan | analyze | match | write | restore | notify
    state = pw.CharField(default=JobState.QUEUED, index=True)
    params = JSONField(default=dict)
    progress_done = pw.IntegerField(default=0)
    progress_total = pw.IntegerField(default=0)
    errors = pw.IntegerField(default=0)
    error = pw.TextField(null=True)  # summary
    result = JSONField(null=True)
    cancel_requested = pw.BooleanField(default=False)
    parent = pw.IntegerField(null=True)  # the job that started this one (pipeline hand-off)
    created_at = pw.DateTimeField(default=utcnow)
    started_at = pw.DateTimeField(null=True)
    finished_at = pw.DateTimeField(null=True)
    heartbeat_at = pw.DateTimeField(null=True)
    worker_host = pw.CharField(null=True)  # who ran it last (scale-out: which machine and process)
    worker_pid = pw.IntegerField(null=True)

    class Meta:
        table_name = "job"


class JobEvent(IdModel):
    """Per-job log lines and per-file errors, shown in the UI and API."""

    job = pw.ForeignKeyField(Job, backref="events", on_delete="CASCADE")
    level = pw.CharField(default="info")
    message = pw.TextField()
    path = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "job_event"


class WriteAudit(IdModel):
    """One row per metadata write attempt: what, where, hashes, backup, result."""

    job = pw.ForeignKeyField(Job, null=True, on_delete="SET NULL")
    photo = pw.ForeignKeyField(Photo, null=True, on_delete="SET NULL")
    path = pw.TextField()
    mode = pw.CharField()  # in-file | sidecar | dry-run | restore
    target = pw.TextField(null=True)  # the file actually written (sidecar path for sidecars)
    hash_before = pw.CharField(null=True)
    hash_after = pw.CharField(null=True)
    tags = JSONField(null=True)
    backup_path = pw.TextField(null=True)
    result = pw.CharField()  # ok | failed | restored | skipped
    error = pw.TextField(null=True)
    note = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = "write_audit"


class ApiKey(IdModel):
    name = pw.CharField()
    prefix = pw.CharField(index=True)  # first characters, to find the row; never the whole key
    key_hash = pw.CharField()
    scope = pw.CharField(default="full")  # read | full
    created_at = pw.DateTimeField(default=utcnow)
    last_used_at = pw.DateTimeField(null=True)
    revoked_at = pw.DateTimeField(null=True)

    class Meta:
        table_name = "api_key"


class Setting(BaseModel):
    """Values set at run time (UI password hash, session secret, UI-edited options)."""

    key = pw.CharField(primary_key=True)
    value = JSONField(null=True)

    class Meta:
        table_name = "setting"


def upsert(model: type[BaseModel], conflict: pw.Field, values: dict[str, Any]) -> None:
    """Insert a row, or update the row with the same `key`: the one upsert both SQLite and
    PostgreSQL accept (INSERT ... ON CONFLICT (conflict) DO UPDATE SET col = EXCLUDED.col). peewee's
    Model.replace() is SQLite/MySQL only and raises ValueError on PostgreSQL."""
    keep = [model._meta.fields[name] for name in values if model._meta.fields[name] is not conflict]
    model.insert(**values).on_conflict(conflict_target=[conflict], preserve=keep).execute()


def put_setting(key: str, value: Any) -> None:
    """Insert or update one setting."""
    upsert(Setting, Setting.key, {"key": key, "value": value})


# What a name import from another app did with one of its faces (ForeignFace.outcome).
FOREIGN_IMPORTED = "imported"  # our overlapping face confirmed with that name
FOREIGN_MARKED = "marked"  # no face of ours there: a hand-marked face made with that name
FOREIGN_ALREADY = "already"  # the name was already on our face (or in the photo)
FOREIGN_CONFLICT = "conflict"  # our face is confirmed (or rejected) otherwise: listed to decide
FOREIGN_UNMATCHED = "unmatched"  # the photo is not (yet) analysed here, or the box fits nowhere


class ForeignPerson(IdModel):
    """A person of another app (Immich, PhotoPrism) linked to one of ours by a name import.

    The names on both sides at the last import or push tell which side renamed since."""

    source = pw.CharField()  # immich | photoprism
    external_id = pw.CharField()
    person = pw.ForeignKeyField(Person, backref="foreign", on_delete="CASCADE")
    name_there = pw.TextField()
    name_here = pw.TextField()
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "foreign_person"
        indexes = ((("source", "external_id"), True),)


class ForeignFace(IdModel):
    """One face named in another app and what the import did with it (the recorded source)."""

    source = pw.CharField()
    external_id = pw.CharField()  # the face (Immich) or marker (PhotoPrism) id there
    photo = pw.ForeignKeyField(Photo, on_delete="CASCADE")
    face = pw.ForeignKeyField(Face, null=True, backref="foreign", on_delete="SET NULL")
    external_person = pw.CharField()
    name_there = pw.TextField()
    person_here = pw.ForeignKeyField(Person, null=True, on_delete="SET NULL")  # a conflict's name here
    outcome = pw.CharField(index=True)  # FOREIGN_*
    decision = pw.CharField(null=True)  # a conflict decided: theirs | ours
    note = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "foreign_face"
        indexes = ((("source", "external_id"), True),)


class SchemaMeta(BaseModel):
    key = pw.CharField(primary_key=True)
    value = pw.TextField()

    class Meta:
        table_name = "schema_meta"


ALL_MODELS: tuple[type[BaseModel], ...] = (
    SchemaMeta,
    Photo,
    Person,
    PersonAlias,
    Face,
    FaceRejection,
    DistinctPeople,
    PhotoName,
    UndoEntry,
    Job,
    JobEvent,
    WriteAudit,
    ApiKey,
    Setting,
    ForeignPerson,
    ForeignFace,
    AutoBatch,
)
