"""Naming without a click: "sure" faces confirmed by the product as one batch, and its undo.

Why a batch: the owner was away. Each automatic run is one AutoBatch row and one undo entry, so
"Named while you were away" can show what was named and when, and one click takes the whole run
back - the names in the database and the files its write changed (byte for byte from the backup
when that write was the first one to the file; otherwise rewritten with the names as they are
after the undo). Faces of an undone batch are never named automatically again.

Evidence: the batch's faces carry Face.auto_batch; they vote for ordinary suggestions but never
count for "sure" (matching/sure.py). Whatever a person does to such a face later (rename, move,
reject, merge the person) makes it theirs, like any face they named.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tagmyphotos.errors import Conflict, NotFound
from tagmyphotos.review import undo
from tagmyphotos.review.confirm import confirm_pairs
from tagmyphotos.review.people import recount, refresh_after
from tagmyphotos.review.undo import AUTO_KIND, Journal
from tagmyphotos.states import Certainty
from tagmyphotos.store import models as m
from tagmyphotos.store.db import chunked, serialized
from tagmyphotos.store.views import iso, objs

if TYPE_CHECKING:
    from tagmyphotos.core import Core


@dataclass(frozen=True)
class BatchView:
    """One automatic run as the page and the API show it."""

    id: int
    created_at: str
    faces: int
    photos: int
    people: dict[str, int]  # name -> faces named
    job_id: int | None
    write_job_id: int | None
    undone_at: str | None
    undo_note: str | None
    face_ids: list[int] = field(default_factory=list)


def batch_view(row: Any) -> BatchView:
    return BatchView(
        int(row.id), iso(row.created_at) or "", int(row.faces), int(row.photos), dict(row.people or {}),
        row.job, row.write_job, iso(row.undone_at) if row.undone_at else None, row.undo_note,
        [int(f) for f in row.face_ids or []],
    )  # fmt: skip


def list_batches(limit: int = 20, offset: int = 0, since_id: int | None = None) -> tuple[int, list[BatchView]]:
    """Automatic runs, newest first (`since_id`: only those after it: "while you were away")."""
    query = m.AutoBatch.select()
    if since_id is not None:
        query = query.where(m.AutoBatch.id > since_id)
    total = query.count()
    rows = query.order_by(m.AutoBatch.id.desc()).limit(limit).offset(offset)
    return total, [batch_view(r) for r in rows]


SEEN_SETTING = "auto.seen_batch"  # the newest run the owner has looked at ("Got it")


def unseen_batches(limit: int) -> list[BatchView]:
    """Standing runs after the last one the owner marked seen, newest first."""
    row = m.Setting.get_or_none(m.Setting.key == SEEN_SETTING)
    seen = int(row.value) if row is not None and row.value is not None else 0
    query = m.AutoBatch.select().where((m.AutoBatch.id > seen) & m.AutoBatch.undone_at.is_null())
    return [batch_view(r) for r in query.order_by(m.AutoBatch.id.desc()).limit(limit)]


def mark_seen(batch_id: int) -> None:
    m.put_setting(SEEN_SETTING, int(batch_id))


def get_batch(batch_id: int) -> BatchView:
    row = m.AutoBatch.get_or_none(m.AutoBatch.id == batch_id)
    if row is None:
        raise NotFound(f"no automatic naming run {batch_id}")
    return batch_view(row)


def sure_faces(cap: int) -> list[int]:
    """Faces the product may name now: "sure", of a shown person who did not ask to be asked,
    never in a batch the owner undid; the most confident first, at most `cap`."""
    undone: set[int] = set()
    for (ids,) in m.rows(m.AutoBatch.select(m.AutoBatch.face_ids).where(m.AutoBatch.undone_at.is_null(False))):
        undone.update(int(i) for i in ids or [])
    query = (
        m.Face.select(m.Face.id)
        .join(m.Person, on=(m.Face.suggested_person == m.Person.id))
        .where(
            (m.Face.state == m.FaceState.SUGGESTED)
            & (m.Face.certainty == Certainty.SURE)
            & (m.Person.hidden == False)  # noqa: E712 (peewee builds SQL from ==)
            & (m.Person.ask_first == False)  # noqa: E712
        )
        .order_by(m.Face.confidence.desc(), m.Face.id)
    )
    out = []
    for (fid,) in m.rows(query):
        if int(fid) not in undone:
            out.append(int(fid))
            if len(out) >= cap:
                break
    return out


def name_batch(core: Core, face_ids: list[int], job_id: int | None = None) -> BatchView | None:
    """Confirm `face_ids` as their suggested people, as one automatic batch (None: nothing named)."""
    with serialized(core.db):
        faces = [f for part in chunked(face_ids) for f in objs(m.Face.select().where(m.Face.id.in_(part)))]
        people = {int(p.id): p for p in m.Person.select()}
        sure = [f for f in faces if f.state == m.FaceState.SUGGESTED and f.certainty == Certainty.SURE]
        pairs = [(f, people[f.suggested_person_id]) for f in sure if f.suggested_person_id in people]
        journal = Journal(AUTO_KIND)
        done = confirm_pairs(journal, pairs, displace=False, respect_rejections=True)
        if not done.changed:
            return None
        named = {int(f.id): p for f, p in pairs if int(f.id) in set(done.changed)}
        batch = m.AutoBatch.create(
            job=job_id,
            faces=len(named),
            photos=len({int(f.photo_id) for f, _ in pairs if int(f.id) in named}),
            people=dict(Counter(p.name for p in named.values())),
            face_ids=sorted(named),
        )
        for part in chunked(sorted(named)):
            m.Face.update(auto_batch=batch.id).where(m.Face.id.in_(part)).execute()
        journal.label = f"named by itself: {len(named)} face{'s' * (len(named) != 1)}"
        batch.undo_entry = journal.save()
        batch.save()
    refresh_after(core, done.changed)
    return get_batch(int(batch.id))


def set_write_job(batch_id: int, job_id: int) -> None:
    m.AutoBatch.update(write_job=job_id).where(m.AutoBatch.id == batch_id).execute()


@dataclass(frozen=True)
class BatchUndone:
    """What undoing a batch did in the database; the files follow in a restore job."""

    batch: BatchView
    faces: list[int]  # back to suggestions
    kept: list[int]  # changed by a person since: left as they are
    written_paths: list[str]  # the batch's photos its write changed (the restore job's work)


def undo_batch(core: Core, batch_id: int) -> BatchUndone:
    """Take a batch's names back; returns the files its write touched, for the restore job."""
    with serialized(core.db):
        row = m.AutoBatch.get_or_none(m.AutoBatch.id == batch_id)
        if row is None:
            raise NotFound(f"no automatic naming run {batch_id}")
        if row.undone_at is not None:
            raise Conflict(f"automatic naming run {batch_id} was already undone")
        entry = m.UndoEntry.get_or_none(m.UndoEntry.id == row.undo_entry) if row.undo_entry else None
        if entry is None:
            raise Conflict(f"automatic naming run {batch_id} is too old to undo")
        undone = undo.apply(entry)
        recount(undone.people)
        paths: list[str] = []
        if row.write_job is not None:
            photos = {int(p) for part in chunked(row.face_ids or []) for (p,) in
                      m.rows(m.Face.select(m.Face.photo).where(m.Face.id.in_(part)))}  # fmt: skip
            audits = m.WriteAudit.select(m.WriteAudit.path, m.WriteAudit.photo).where(
                (m.WriteAudit.job == row.write_job) & (m.WriteAudit.result == "ok")
            )
            paths = sorted({str(p) for p, ph in m.rows(audits) if ph in photos})
        row.undone_at = m.utcnow()
        row.save()
    refresh_after(core, [*undone.faces, *undone.skipped_faces], undone.people)
    return BatchUndone(get_batch(batch_id), undone.faces, undone.skipped_faces, paths)


def note_undo(batch_id: int, note: str) -> None:
    """What the restore of the batch's files did (shown beside the batch)."""
    m.AutoBatch.update(undo_note=note[:2000]).where(m.AutoBatch.id == batch_id).execute()
