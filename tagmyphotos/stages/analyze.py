"""The analyze stage: photos waiting for analysis get their faces, thumbnails and embeddings.

The ML core (faces_analyze) knows nothing about the database; this module plans the work from
photo states, stores results one photo per transaction (a killed job loses at most the photo
in flight and a rerun never duplicates faces), and keeps the user's names when a changed file
is analysed again (a re-detected face that overlaps a named one keeps its name).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from tagmyphotos import tuning
from tagmyphotos.config import Config
from tagmyphotos.core import Core
from tagmyphotos.errors import TagMyPhotosError
from tagmyphotos.faces import workers
from tagmyphotos.faces.analyze import AnalysisResult, AnalyzedFace, FaceAnalyzer, on_original, settings_from_config
from tagmyphotos.faces.thumb import save_thumbnail, thumb_path
from tagmyphotos.geometry import iou
from tagmyphotos.metadata.raw import RawPreviewError
from tagmyphotos.stages.runner import StageContext
from tagmyphotos.stages.steps.embedded_names import take_embedded_names
from tagmyphotos.stages.steps.raw import RawSource, adopt_raw_twins, preview_folder, raw_source
from tagmyphotos.store import claims
from tagmyphotos.store import models as m


def analyzer(core: Core) -> FaceAnalyzer:
    """One analyzer per process, models loaded once; its worker pool is faces.workers'."""
    return core.tool("analyzer", lambda: FaceAnalyzer(settings_from_config(core.cfg)))  # type: ignore[no-any-return]


def analyze_condition(embedding_id: str, photo_ids: list[int] | None = None) -> Any:
    """Pending photos, and analysed ones whose embeddings come from another model."""
    cond = m.Photo.kind.in_(("image", "raw")) & (
        (m.Photo.state == m.PhotoState.PENDING)
        | ((m.Photo.state == m.PhotoState.DONE) & (m.Photo.analysis_model != embedding_id))
    )
    if photo_ids:
        cond &= m.Photo.id.in_(photo_ids)
    return cond


def stage_analyze(core: Core, ctx: StageContext) -> dict[str, Any]:
    """Claim photos in batches (so several workers share a library), analyse, store each."""
    tool = analyzer(core)
    embedding_id = tool.embedding_id
    cond = analyze_condition(embedding_id, ctx.params.get("photo_ids"))
    ctx.set_total(m.Photo.select().where(cond).count())
    counts = {"photos": 0, "faces": 0, "failed": 0, "imported": 0, "lost": 0, "raw_paired": 0, "raw_previews": 0,
              "raw_decoded": 0}  # fmt: skip
    claims.register_claimer()
    # the pool is shared with any other analysis in this process and ends with its last user
    with workers.lease(tool) as pool:
        try:
            _claim_and_analyze(core, ctx, pool, cond, counts)
        finally:
            claims.unregister_claimer()
    return {**counts, "model": embedding_id}


def _claim_and_analyze(core: Core, ctx: StageContext, pool: workers.Lease, cond: Any, counts: dict[str, int]) -> None:
    reaped = claims.reap_orphaned_claims()
    if reaped:
        ctx.info(f"{reaped} photos claimed by an analysis that was killed are pending again")
    ctx.total += reaped
    while True:
        ctx.check_cancel()
        claim = claims.claim_photos(core.cfg.analysis.batch_size, where=cond)
        if not claim.ids:
            break
        try:
            _analyze_claimed(core, ctx, pool, claim, counts)
        finally:
            claims.release_photos(claim)  # whatever is still held (cancel, crash) goes back


def _analyze_claimed(
    core: Core, ctx: StageContext, pool: workers.Lease, claim: claims.PhotoClaim, counts: dict[str, int]
) -> None:
    photos = list(m.Photo.select().where(m.Photo.id.in_(list(claim.ids))))
    ctx.total = max(ctx.total, ctx.done + len(photos))
    batch = {core.cfg.library / p.path: p for p in photos if p.kind != "raw"}
    raws: dict[Path, RawSource] = {}
    for photo in (p for p in photos if p.kind == "raw"):
        source = _raw_source(core, ctx, photo, claim, counts)
        if source is not None and source.preview is not None:
            batch[source.preview], raws[source.preview] = photo, source
    try:
        for item in pool.analyze_many(list(batch)):
            photo, result = batch[Path(item.path)], item.result
            source = raws.get(Path(item.path))
            if result is not None and source is not None:
                result = on_original(result, source.format, source.stored, source.orientation)
                counts["raw_decoded" if source.decoded else "raw_previews"] += 1
            _store_one(core, ctx, photo, result, item.error, claim, counts)
    finally:
        for source in raws.values():
            shutil.rmtree(preview_folder(core, source.photo_id), ignore_errors=True)


def _store_one(
    core: Core,
    ctx: StageContext,
    photo: m.Photo,
    result: AnalysisResult | None,
    error: str | None,
    claim: claims.PhotoClaim,
    counts: dict[str, int],
) -> None:
    counts["photos"] += 1
    if result is None:
        counts["failed"] += 1
        if record_failure(photo, error or "analysis failed", claim):
            ctx.item_error(photo.path, error or "analysis failed")
    elif store_result(core.cfg, photo, result, claim) is None:
        counts["lost"] += 1  # the file changed or another worker took it over meanwhile
    else:
        counts["faces"] += len(result.faces)
        if core.cfg.matching.import_existing:
            imported = take_embedded_names(core, photo.id)
            counts["imported"] += imported.confirmed
            if imported.warning:
                ctx.warning(photo.path, imported.warning)
        if photo.kind != "raw":
            counts["raw_paired"] += adopt_raw_twins(core, photo)
    claims.renew_photos(claim)
    ctx.advance()


def _raw_source(
    core: Core, ctx: StageContext, photo: m.Photo, claim: claims.PhotoClaim, counts: dict[str, int]
) -> RawSource | None:
    """A RAW with a JPEG twin is done here (it shares the twin's faces); one without gets its
    preview to analyse; one with neither fails with the reason."""
    try:
        source = raw_source(core, photo)
    except RawPreviewError as exc:
        _store_one(core, ctx, photo, None, str(exc), claim, counts)
        return None
    if source.sibling_id is None:
        return source
    try:
        with m.database.atomic():
            _finish(photo.id, claim, m.PhotoState.DONE, last_error=None, analyzed_hash=photo.hash,
                    analysis_model=analyzer(core).embedding_id, format=source.format, width=source.stored[0],
                    height=source.stored[1], orientation=source.orientation, faces_from=source.sibling_id)  # fmt: skip
        counts["raw_paired"] += 1
    except _ClaimLost:
        counts["lost"] += 1
    counts["photos"] += 1
    claims.renew_photos(claim)
    ctx.advance()
    return None


class _ClaimLost(TagMyPhotosError):
    """This worker no longer holds the photo it was analysing (another took it over)."""


def _finish(photo_id: int, claim: claims.PhotoClaim | None, state: str, **values: Any) -> None:
    """The photo's final state; with a claim only if this worker still holds the photo."""
    if claim is None:
        m.Photo.update(state=state, updated_at=m.utcnow(), **values).where(m.Photo.id == photo_id).execute()
    elif not claims.finish_photo(claim, photo_id, state, **values):
        raise _ClaimLost


def record_failure(photo: m.Photo, message: str, claim: claims.PhotoClaim | None = None) -> bool:
    """A failed photo is retried only when the file changes (the scanner resets its state)."""
    try:
        with m.database.atomic():
            _finish(photo.id, claim, m.PhotoState.FAILED, last_error=message[:1000], analyzed_hash=photo.hash)
    except _ClaimLost:
        return False
    return True


def store_result(
    cfg: Config, photo: m.Photo, result: AnalysisResult, claim: claims.PhotoClaim | None = None
) -> list[int] | None:
    """Replace the photo's detected faces with the new ones, in one transaction.

    Returns the face ids, or None when the claim on the photo was lost (nothing stored)."""
    try:
        with m.database.atomic():
            _finish(
                photo.id, claim, m.PhotoState.DONE,
                last_error=None, analyzed_hash=photo.hash, analysis_model=result.embedding_id,
                format=result.format, width=result.stored_width, height=result.stored_height,
                orientation=result.orientation, faces_from=None,
            )  # fmt: skip
            return _replace_faces(cfg, photo.id, result)
    except _ClaimLost:
        return None


def _replace_faces(cfg: Config, photo_id: int, result: AnalysisResult) -> list[int]:
    old = list(m.Face.select().where(m.Face.photo == photo_id))
    keep_ids: set[int] = set()
    new_ids = []
    for face in result.faces:
        heir = _best_overlap(face, old, keep_ids)
        row = _save_face(cfg, photo_id, face, heir)
        keep_ids.add(row.id)
        new_ids.append(row.id)
    for stale in old:
        if stale.id in keep_ids:
            continue
        if stale.source == "detected" and stale.state != m.FaceState.CONFIRMED:
            _remove_thumb(cfg, stale)
            stale.delete_instance()
        # confirmed or imported/manual faces the detector did not find again stay: a
        # user's name is never dropped silently
    return new_ids


def _best_overlap(face: AnalyzedFace, old: list[m.Face], taken: set[int]) -> m.Face | None:
    best, best_iou = None, tuning.KEEP_LABEL_IOU
    for row in old:
        if row.id in taken:
            continue
        overlap = iou((face.x, face.y, face.w, face.h), (row.x, row.y, row.w, row.h))
        if overlap >= best_iou:
            best, best_iou = row, overlap
    return best


def _save_face(cfg: Config, photo_id: int, face: AnalyzedFace, heir: m.Face | None) -> m.Face:
    values = {
        "x": face.x,
        "y": face.y,
        "w": face.w,
        "h": face.h,
        "det_score": float(face.score),
        "quality": float(face.quality),
        "landmarks": np.asarray(face.landmarks, dtype=float).round(2).tolist(),
        "embedding": np.asarray(face.embedding, dtype=np.float32).tobytes(),
        "model": face.embedding_id,
        "updated_at": m.utcnow(),
    }
    if heir is not None:
        m.Face.update(values).where(m.Face.id == heir.id).execute()
        row = m.Face.get_by_id(heir.id)
    else:
        row = m.Face.create(photo=photo_id, source="detected", state=m.FaceState.UNKNOWN, **values)
    rel = thumb_path(photo_id, row.id)
    save_thumbnail(face.thumbnail, cfg.data / rel)
    if row.thumb != rel:
        m.Face.update(thumb=rel).where(m.Face.id == row.id).execute()
        row.thumb = rel
    return row


def _remove_thumb(cfg: Config, face: m.Face) -> None:
    if face.thumb:
        (cfg.data / face.thumb).unlink(missing_ok=True)


def face_embedding(face: m.Face) -> np.ndarray:
    return np.frombuffer(bytes(face.embedding or b""), dtype=np.float32)
