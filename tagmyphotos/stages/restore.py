"""Restore originals from their backups, and read the write audit log.

`tagmyphotos restore PATH|--all|--since DATE` (and the API) puts back the byte-identical
original of every file we wrote (a sidecar we created is removed), records it in the audit
log, and marks the photo as not written, so the Write page shows what a new write would do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tagmyphotos.core import Core
from tagmyphotos.library.paths import clean_relative
from tagmyphotos.metadata.backups import BackupError, BackupRecord
from tagmyphotos.stages.write import backup_store, file_identity
from tagmyphotos.store import models as m
from tagmyphotos.store.runner import StageContext


@dataclass
class RestoreReport:
    restored: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"restored": len(self.restored), "failed": len(self.failed),
                "files": self.restored[:1000], "errors": [list(f) for f in self.failed[:1000]]}  # fmt: skip


def usable_since(since: dt.datetime) -> dt.datetime:
    """A `since` the restore can compare with file times, else ValueError with a sentence
    (0001-01-01 was accepted, then the job crashed with "year 0 is out of range")."""
    try:
        stamp = since.timestamp()
    except (OverflowError, OSError, ValueError):
        stamp = -1.0
    if stamp < 0 or since.year > 9000:
        raise ValueError(f"since {since.isoformat()} is not a usable time: give a date from 1970 on, "
                         "e.g. 2026-11-26 or 2026-11-26T18:00")  # fmt: skip
    return since


def select_backups(
    core: Core, paths: list[str] | None = None, since: dt.datetime | None = None
) -> list[BackupRecord]:
    """Backups to restore: of the given library paths (a photo and its sidecar), or since a time."""
    library = core.cfg.library.resolve()
    wanted = {clean_relative(p) for p in paths or []}
    cutoff = since.timestamp() if since else None
    out = []
    for record in backup_store(core.cfg).records():
        rel = _relative(library, Path(record.original))
        if rel is None:
            continue
        if wanted and rel not in wanted and not any(_is_sidecar_of(rel, w) for w in wanted):
            continue
        if cutoff is not None and record.created_at < cutoff:
            continue
        out.append(record)
    return out


def restore(core: Core, records: list[BackupRecord], ctx: StageContext | None = None) -> RestoreReport:
    store = backup_store(core.cfg)
    library = core.cfg.library.resolve()
    report = RestoreReport()
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


def stage_restore(core: Core, ctx: StageContext) -> dict[str, Any]:
    since = ctx.params.get("since")
    records = select_backups(
        core,
        paths=ctx.params.get("paths") or None,
        since=dt.datetime.fromisoformat(since) if since else None,
    )
    if not records and not ctx.params.get("all") and not ctx.params.get("paths") and not since:
        return {"restored": 0, "failed": 0}
    ctx.set_total(len(records))
    return restore(core, records, ctx).as_dict()


def audit_log(limit: int = 100, offset: int = 0, path: str | None = None, job_id: int | None = None,
              result: str | None = None) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    query = m.WriteAudit.select()
    if path:
        query = query.where(m.WriteAudit.path == path)
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
    try:
        return path.resolve().relative_to(library).as_posix()
    except ValueError:
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
