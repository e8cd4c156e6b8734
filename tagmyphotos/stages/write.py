"""The write stage: confirmed names go into the photos, backed up, verified, audited.

What a photo should carry is derived from the database (its confirmed faces and their
people); a signature of it is stored on the photo after a verified write, so a photo needs a
write exactly when the two differ. The writer itself (metadata_write) is idempotent, which
makes a rerun after a crash safe: a file already written is found unchanged, not written twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tagmyphotos.config import Config
from tagmyphotos.core import Core
from tagmyphotos.geometry import NormBox, oriented_size
from tagmyphotos.library.paths import clean_relative
from tagmyphotos.library.probe import FileProblem, probe_file
from tagmyphotos.metadata.backups import BackupStore
from tagmyphotos.metadata.bulk import write_in_lanes
from tagmyphotos.metadata.exiftool import ExifToolSession
from tagmyphotos.metadata.plan import PersonRegion, WriteOptions, sanitize_name
from tagmyphotos.metadata.write import MetadataWriter, WriteError, WriteItem, WriteResult
from tagmyphotos.stages.runner import JobCancelled, JobLost, StageContext
from tagmyphotos.store import models as m

# Decimals of a normalised box that count for "the same region" (1e-4 of the image ≈ 0.4 px at 4k).
SIGNATURE_DECIMALS = 4


def write_options(cfg: Config) -> WriteOptions:
    w = cfg.write
    return WriteOptions(
        mode=w.mode,
        sidecar_naming=w.sidecar_naming,
        person_in_image=w.person_in_image,
        subject_keywords=w.subject_keywords,
        hierarchical_keywords=w.hierarchical_keywords,
        digikam_tags=w.digikam_tags,
        keyword_prefix=w.keyword_prefix,
        microsoft_regions=w.microsoft_regions,
        preserve_mtime=w.preserve_mtime,
        min_free_bytes=w.min_free_mb * 1024 * 1024,
    )


def backup_store(cfg: Config) -> BackupStore:
    return BackupStore(cfg.backups_dir, cfg.library)


def new_writer(cfg: Config) -> MetadataWriter:
    """A writer with its own exiftool (started on first use; close its session when done)."""
    (cfg.data / "tmp").mkdir(parents=True, exist_ok=True)
    session = ExifToolSession(cfg.write.exiftool or None)
    return MetadataWriter(session, backup_store(cfg), write_options(cfg), tmp_dir=cfg.data / "tmp")


def writer(core: Core) -> MetadataWriter:
    """One writer (one persistent exiftool) per worker thread: exiftool serves one caller."""
    return core.tool(f"writer-{threading.get_ident()}", lambda: new_writer(core.cfg))  # type: ignore[no-any-return]


@dataclass
class PhotoTags:
    """What one photo should carry, and whether that differs from what we last wrote."""

    photo_id: int
    path: str
    regions: list[PersonRegion]
    signature: str
    written_signature: str | None
    size: tuple[int, int]  # displayed width, height

    @property
    def needs_write(self) -> bool:
        return self.signature != self.written_signature


def signature(regions: list[PersonRegion], options: WriteOptions) -> str:
    items = sorted(
        (r.name, *(round(v, SIGNATURE_DECIMALS) for v in (r.box.x, r.box.y, r.box.w, r.box.h)))
        for r in regions
    )
    opts = asdict(options)
    opts.pop("min_free_bytes", None)
    opts["in_file_types"] = sorted(opts["in_file_types"])
    blob = json.dumps([items, opts], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def desired_tags(
    cfg: Config, photo_ids: list[int] | None = None, paths: list[str] | None = None
) -> list[PhotoTags]:
    """Photos with confirmed faces or earlier writes, with the regions they should carry."""
    options = write_options(cfg)
    faces = (
        m.Face.select(m.Face, m.Person.name)
        .join(m.Person, on=(m.Face.person == m.Person.id))
        .where((m.Face.state == m.FaceState.CONFIRMED) & m.Face.person.is_null(False))
    )
    by_photo: dict[int, list[Any]] = defaultdict(list)
    for face in m.rows_as_objects(faces):
        by_photo[face.photo_id].append(face)
    with_faces = list(by_photo)
    query = m.Photo.select().where(
        (m.Photo.state == m.PhotoState.DONE)
        & (m.Photo.kind != "reference")  # taught from outside the library: never written
        & (
            m.Photo.id.in_(with_faces)
            | m.Photo.faces_from.in_(with_faces)  # the RAW of a RAW+JPEG pair: the JPEG's faces
            | m.Photo.written_signature.is_null(False)
        )
    )
    if photo_ids is not None:
        query = query.where(m.Photo.id.in_(photo_ids))
    if paths:
        query = query.where(m.Photo.path.in_(paths))
    photos = list(query.order_by(m.Photo.path))
    twins = {p.id: p for p in m.Photo.select().where(m.Photo.id.in_([p.faces_from for p in photos if p.faces_from]))}
    out = []
    for photo in photos:
        size = oriented_size(photo.width or 0, photo.height or 0, photo.orientation or 1)
        source = twins.get(photo.faces_from or 0, photo)  # boxes are relative to the photo they were found on
        regions = _regions(by_photo.get(source.id, []), oriented_size(source.width or 0, source.height or 0,
                                                                      source.orientation or 1))  # fmt: skip
        out.append(PhotoTags(photo.id, photo.path, regions, signature(regions, options),
                             photo.written_signature, size))  # fmt: skip
    return out


def _regions(faces: list[Any], size: tuple[int, int]) -> list[PersonRegion]:
    """Confirmed faces as named boxes normalised to the displayed photo."""
    if not size[0] or not size[1]:
        return []
    return [
        PersonRegion(
            sanitize_name(face.person.name),
            NormBox(face.x / size[0], face.y / size[1], face.w / size[0], face.h / size[1]).clamped(),
        )
        for face in faces
    ]


def managed_names(tags: PhotoTags) -> list[str]:
    """The names we may take out of this photo: those we wrote or imported there before, and
    those it should carry now. A name another tool wrote for someone we know stays untouched."""
    names = {r.name for r in tags.regions}
    audits = m.WriteAudit.select(m.WriteAudit.tags).where(
        (m.WriteAudit.photo == tags.photo_id) & ((m.WriteAudit.result == "ok") | (m.WriteAudit.mode == "import"))
    )
    for audit in audits:
        names.update((audit.tags or {}).get("people", []))
    # people the file itself names on no face stay as they are (embedded names: photo-level names)
    photo_level = m.PhotoName.select(m.Person.name).join(m.Person).where(
        (m.PhotoName.photo == tags.photo_id) & m.PhotoName.face.is_null()
    )
    keep = {sanitize_name(str(n)) for (n,) in m.rows(photo_level)} - {r.name for r in tags.regions}
    return sorted({sanitize_name(n) for n in names} - keep)


@dataclass
class FilePreview:
    path: str
    mode: str
    changes: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    error: str | None = None


def preview(core: Core, paths: list[str] | None = None, limit: int = 50) -> tuple[int, list[FilePreview]]:
    """How many files a write would change, and the before/after tags of the first `limit`."""
    pending = [t for t in desired_tags(core.cfg, paths=paths) if t.needs_write]
    out = []
    for tags in pending[:limit]:
        try:
            result = writer(core).write(core.cfg.library / tags.path, tags.regions, managed_names(tags), dry_run=True)
            out.append(FilePreview(tags.path, result.mode, [asdict(c) for c in result.changes], result.note))
        except WriteError as exc:
            out.append(FilePreview(tags.path, "", error=exc.reason))
    return len(pending), out


def has_pending_writes(cfg: Config) -> bool:
    """Whether any photo's names differ from what was last written (an automatic write is due)."""
    return any(t.needs_write for t in desired_tags(cfg))


def stage_write(core: Core, ctx: StageContext) -> dict[str, Any]:
    """Write every photo whose names changed (or the given paths); dry_run only previews.

    Job params: {"batch": id} marks the write that follows an automatic naming run (its undo
    restores the files this job changed)."""
    cfg = core.cfg
    dry_run = bool(ctx.params.get("dry_run"))
    if ctx.params.get("batch") is not None and not dry_run:
        m.AutoBatch.update(write_job=ctx.job_id).where(m.AutoBatch.id == int(ctx.params["batch"])).execute()
    paths = [clean_relative(p) for p in ctx.params.get("paths") or []]
    pending = [t for t in desired_tags(cfg, paths=paths or None) if t.needs_write]
    ctx.set_total(len(pending))
    if not dry_run:
        pruned = backup_store(cfg).prune(cfg.write.backup_retention_days)
        if pruned:
            ctx.info(f"pruned {len(pruned)} backups older than {cfg.write.backup_retention_days} days")
    counts = {"written": 0, "unchanged": 0, "dry-run": 0, "failed": 0}
    ctx.check_cancel()
    items = (WriteItem(cfg.library / t.path, t.regions, managed_names(t), t.size, key=t) for t in pending)
    # One lane (thread + exiftool) per configured writer: photos of a 2-core NAS get both cores.
    writers = [new_writer(cfg) for _ in range(max(1, min(cfg.write.workers, len(pending))))]
    stop, interrupted = threading.Event(), None
    try:
        with contextlib.closing(write_in_lanes(writers, items, dry_run, stop)) as outcomes:  # lanes end first
            for item, outcome in outcomes:
                counts[_record(core, ctx, item.key, outcome, dry_run)] += 1
                try:
                    ctx.advance()  # progress; raises on a cancel request or when the job was lost
                except (JobCancelled, JobLost) as exc:
                    stop.set()  # no further photo is written; those under way are still recorded
                    interrupted = interrupted or exc
    finally:
        for w in writers:
            w.session.close()
    if interrupted is not None:
        raise interrupted
    return {"files": len(pending), **counts, "dry_run": dry_run}


def _record(core: Core, ctx: StageContext, tags: PhotoTags, result: WriteResult | WriteError, dry_run: bool) -> str:
    """Store one photo's outcome: the audit entry, and the written signature or the error."""
    photo_path = core.cfg.library / tags.path
    if isinstance(result, WriteError):
        _audit(ctx.job_id, tags, None, "failed", error=result.reason, restored=result.restored)
        m.Photo.update(write_error=result.reason[:1000]).where(m.Photo.id == tags.photo_id).execute()
        ctx.item_error(tags.path, result.reason)
        return "failed"
    if result.warning:
        ctx.warning(tags.path, result.warning)
    if dry_run:
        _audit(ctx.job_id, tags, result, "skipped", mode="dry-run")
        return "dry-run"
    with m.database.atomic():
        values: dict[str, Any] = {"written_signature": tags.signature, "write_error": None}
        if result.status == "written" and result.mode == "in-file":
            values.update(file_identity(photo_path))  # our own write must not look like an edit
        m.Photo.update(values).where(m.Photo.id == tags.photo_id).execute()
        _audit(ctx.job_id, tags, result, "ok" if result.status == "written" else "skipped")
    return result.status


def file_identity(path: Path) -> dict[str, Any]:
    try:
        probe = probe_file(str(path), "image")
    except FileProblem:
        return {}
    st = path.stat()
    return {"size": st.st_size, "mtime": st.st_mtime, "hash": probe.hash, "analyzed_hash": probe.hash}


def _audit(
    job_id: int | None,
    tags: PhotoTags,
    result: WriteResult | None,
    outcome: str,
    mode: str | None = None,
    error: str | None = None,
    restored: bool | None = None,
) -> None:
    m.WriteAudit.create(
        job=job_id,
        photo=tags.photo_id,
        path=tags.path,
        mode=mode or (result.mode if result else "in-file"),
        target=str(result.target) if result else None,
        hash_before=result.file_sha256_before if result else None,
        hash_after=result.file_sha256_after if result else None,
        tags={
            "people": [r.name for r in tags.regions],
            "changes": [asdict(c) for c in result.changes] if result else [],
        },
        backup_path=result.backup if result else None,
        result=outcome,
        error=error,
        note=(result.note if result else None) or _restored_note(restored),
    )


def _restored_note(restored: bool | None) -> str | None:
    if restored is None:
        return None
    return "original restored from the backup" if restored else "RESTORE FAILED: see the backup"
