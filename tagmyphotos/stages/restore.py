"""Restore originals from their backups, and read the write audit log.

`tagmyphotos restore PATH|--all|--since DATE` (and the API) puts back the byte-identical
original of every file we wrote (a sidecar we created is removed), records it in the audit
log, and marks the photo as not written, so the Write page shows what a new write would do.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tagmyphotos.core import Core
from tagmyphotos.library.paths import clean_relative
from tagmyphotos.metadata.backups import BackupError, BackupRecord, sha256_file
from tagmyphotos.stages.runner import StageContext
from tagmyphotos.stages.write import backup_store, file_identity
from tagmyphotos.store import models as m


@dataclass
class RestoreReport:
    restored: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"restored": len(self.restored), "failed": len(self.failed),
                "files": self.restored[:1000], "errors": [list(f) for f in self.failed[:1000]]}  # fmt: skip


def usable_since(since: dt.datetime) -> dt.datetime:
    """A `since` the restore can compare with file times: any time before 1970 (0001-01-01 was
    accepted, then the job crashed with "year 0 is out of range") means from the beginning,
    every backup; a time past the last one restores nothing."""
    try:
        if since.timestamp() >= 0:
            return since
    except (OverflowError, OSError, ValueError):
        pass
    return dt.datetime(1970, 1, 1, tzinfo=since.tzinfo)


@dataclass
class BackupSelection:
    """The backups a restore will put back, and those it cannot even try (each with why)."""

    records: list[BackupRecord] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


def select_backups(
    core: Core, paths: list[str] | None = None, since: dt.datetime | None = None
) -> BackupSelection:
    """Backups to restore: of the given library paths (a photo and its sidecar), or since a time.

    A backup is matched by where its file was written, not where that place leads now: a
    folder swapped for a link since the write is selected, and its restore then fails with the
    reason (it was skipped silently, issue 25 item 8). So is a backup of a file outside the
    library and a manifest that cannot be read.
    """
    library = core.cfg.library
    wanted = {clean_relative(p) for p in paths or []}
    cutoff = since.timestamp() if since else None
    unreadable: list[Path] = []
    out = BackupSelection()
    for record in backup_store(core.cfg).records(unreadable):
        rel = _relative(library, Path(record.original))
        if wanted and (rel is None or (rel not in wanted and not any(_is_sidecar_of(rel, w) for w in wanted))):
            continue
        if cutoff is not None and record.created_at < cutoff:
            continue
        if rel is None:
            out.refused.append((record.original, "the backed-up file is not in the library; restore it by hand"))
            continue
        out.records.append(record)
    if not wanted:
        out.refused += [(str(p), "its backup record cannot be read; the backup copy is kept") for p in unreadable]
    return out


def restore(core: Core, records: list[BackupRecord], ctx: StageContext | None = None,
            refused: Sequence[tuple[str, str]] = ()) -> RestoreReport:  # fmt: skip
    store = backup_store(core.cfg)
    library = core.cfg.library
    report = RestoreReport()
    for path, reason in refused:
        report.failed.append((path, reason))
        if ctx:
            ctx.item_error(path, f"restore failed: {reason}")
    for record in records:
        target = Path(record.original)
        rel = _relative(library, target) or record.original
        photo = _photo_for(rel)
        try:
            store.restore(target)
        except (BackupError, OSError) as exc:
            report.failed.append((rel, str(exc)))
            m.WriteAudit.create(job=ctx.job_id if ctx else None, photo=photo, path=rel, mode="restore",
                                target=str(target), result="failed", error=str(exc))  # fmt: skip
            if ctx:
                ctx.item_error(rel, f"restore failed: {exc}")
                ctx.advance()
            continue
        report.restored.append(rel)
        with m.database.atomic():
            if photo is not None:
                values: dict[str, Any] = {"written_signature": None, "write_error": None}
                if photo.path == rel:
                    values.update(file_identity(target))
                m.Photo.update(values).where(m.Photo.id == photo.id).execute()
            m.WriteAudit.create(job=ctx.job_id if ctx else None, photo=photo, path=rel, mode="restore",
                                target=str(target), hash_after=record.sha256 or None, result="restored",
                                backup_path=record.backup, note="removed the sidecar we created"
                                if record.absent else "original restored byte for byte")  # fmt: skip
        if ctx:
            ctx.advance()
    return report


def restore_batch(core: Core, batch_id: int, paths: list[str], ctx: StageContext) -> dict[str, Any]:
    """The files an automatic naming run's write changed, after its names were undone.

    Byte for byte from the backup where that write was the first one to the file and nothing
    changed it since (the file is as the write left it); any other file is rewritten with the
    names it should carry now (a write job follows), so no later edit is thrown away."""
    batch = m.AutoBatch.get_or_none(m.AutoBatch.id == batch_id)
    undone = {"batch": batch_id, "undone_batches": 1, "undone_faces": len(batch.face_ids or []) if batch else 0}
    if batch is None or batch.write_job is None or not paths:
        ctx.info(f"undid automatic naming run {batch_id}: no file had been written")
        return {"restored": 0, "failed": 0, "rewritten": 0, **undone}
    audits = m.WriteAudit.select().where(
        (m.WriteAudit.job == batch.write_job) & (m.WriteAudit.result == "ok") & m.WriteAudit.path.in_(paths)
    )
    store = backup_store(core.cfg)
    exact: list[BackupRecord] = []
    rewrite: list[str] = []
    for audit in audits:
        target = Path(audit.target or core.cfg.library / audit.path)
        record = store.get(target)
        now = sha256_file(target) if target.is_file() else ""
        first = record is not None and record.sha256 == (audit.hash_before or "")
        if record is not None and first and now == audit.hash_after:
            exact.append(record)
        else:
            rewrite.append(audit.path)
    ctx.set_total(len(exact))
    report = restore(core, exact, ctx).as_dict()
    note = f"{report['restored']} files put back byte for byte"
    if rewrite:
        note += f"; {len(rewrite)} changed since or written before: rewritten with their current names"
    if report["failed"]:
        note += f"; {report['failed']} could not be restored (see the job)"
    m.AutoBatch.update(undo_note=note).where(m.AutoBatch.id == batch_id).execute()
    ctx.info(note)
    follow = [{"type": "write", "params": {"paths": sorted(set(rewrite)), "trigger": "undo"}}] if rewrite else []
    return {**report, "rewritten": len(set(rewrite)), **undone, "follow": follow}


def stage_restore(core: Core, ctx: StageContext) -> dict[str, Any]:
    if ctx.params.get("batch") is not None:
        return restore_batch(core, int(ctx.params["batch"]), list(ctx.params.get("paths") or []), ctx)
    since = ctx.params.get("since")
    chosen = select_backups(
        core,
        paths=ctx.params.get("paths") or None,
        since=dt.datetime.fromisoformat(since) if since else None,
    )
    nothing = not chosen.records and not chosen.refused
    if nothing and not ctx.params.get("all") and not ctx.params.get("paths") and not since:
        return {"restored": 0, "failed": 0}
    ctx.set_total(len(chosen.records))
    return restore(core, chosen.records, ctx, chosen.refused).as_dict()


def audit_log(limit: int = 100, offset: int = 0, path: str | None = None, job_id: int | None = None,
              result: str | None = None, path_contains: str | None = None,
              ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """The write log, newest first; `path_contains` finds files by part of their path (Write page)."""
    query = m.WriteAudit.select()
    if path:
        query = query.where(m.WriteAudit.path == path)
    if path_contains:
        query = query.where(m.WriteAudit.path.contains(path_contains))  # ILIKE: any case, any database
    if job_id is not None:
        query = query.where(m.WriteAudit.job == job_id)
    if result:
        query = query.where(m.WriteAudit.result == result)
    total = query.count()
    rows = query.order_by(m.WriteAudit.id.desc()).limit(limit).offset(offset)
    return total, [_audit_dict(r) for r in rows]


def _audit_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "job_id": row.job_id, "photo_id": row.photo_id, "path": row.path, "mode": row.mode,
        "target": row.target, "hash_before": row.hash_before, "hash_after": row.hash_after, "tags": row.tags,
        "backup_path": row.backup_path, "result": row.result, "error": row.error, "note": row.note,
        "created_at": row.created_at.isoformat() + "Z",
    }  # fmt: skip


def _relative(library: Path, path: Path) -> str | None:
    """`path` relative to the library as written (links not followed: they are checked at the
    restore itself), or None when it is not under the library."""
    target = Path(os.path.abspath(path))
    for root in (Path(os.path.abspath(library)), library.resolve()):
        if target.is_relative_to(root):
            return target.relative_to(root).as_posix()
    return None


def _is_sidecar_of(rel: str, photo_rel: str) -> bool:
    return rel.lower() in (f"{photo_rel}.xmp".lower(), f"{photo_rel.rsplit('.', 1)[0]}.xmp".lower())


def _photo_for(rel: str) -> m.Photo | None:
    photo = m.Photo.get_or_none(m.Photo.path == rel)
    if photo is None:
        row = (
            m.WriteAudit.select()
            .where(m.WriteAudit.target.endswith(rel))
            .order_by(m.WriteAudit.id.desc())
            .first()
        )
        photo = m.Photo.get_or_none(m.Photo.id == row.photo_id) if row and row.photo_id else None
    return photo
