"""The notify stage: after a write job, one notification round to Immich, PhotoPrism, webhook.

It reads what the write job recorded (the audit log of that job), so it can be rerun on its
own, and a failed notification never undoes or blocks a write: it only shows on this job.
"""

from __future__ import annotations

from typing import Any

from integrations.batch import FaceBox, WriteBatch, WrittenFace, WrittenFile
from integrations.notify import enabled_targets, notify_all
from tagmyphotos.core import Core
from tagmyphotos.geometry import oriented_size
from tagmyphotos.stages.runner import StageContext
from tagmyphotos.store import models as m


def batch_for_job(core: Core, write_job_id: int) -> WriteBatch:
    """The files one write job changed, with their people and face boxes as written."""
    audits = m.WriteAudit.select().where(
        (m.WriteAudit.job == write_job_id) & (m.WriteAudit.result == "ok") & m.WriteAudit.photo.is_null(False)
    )
    files = []
    for audit in m.rows_as_objects(audits):
        photo = m.Photo.get_or_none(m.Photo.id == audit.photo_id)
        if photo is None:
            continue
        width, height = oriented_size(photo.width or 0, photo.height or 0, photo.orientation or 1)
        faces = []
        if width and height:
            query = (
                m.Face.select(m.Face, m.Person.name)
                .join(m.Person, on=(m.Face.person == m.Person.id))
                .where((m.Face.photo == photo.id) & (m.Face.state == m.FaceState.CONFIRMED))
            )
            for face in m.rows_as_objects(query):
                box = FaceBox(
                    max(0.0, face.x / width), max(0.0, face.y / height),
                    min(1.0, face.w / width), min(1.0, face.h / height),
                )  # fmt: skip
                faces.append(WrittenFace(face.person.name, box))
        created = audit.mode == "sidecar" and not audit.hash_before
        files.append(WrittenFile(photo.path, tuple((audit.tags or {}).get("people", [])), tuple(faces),
                                 width, height, sidecar_created=created))  # fmt: skip
    return WriteBatch(str(write_job_id), core.cfg.library, tuple(files))


def stage_notify(core: Core, ctx: StageContext) -> dict[str, Any]:
    integrations = core.cfg.integrations
    if not enabled_targets(integrations):
        return {"targets": [], "note": "no integration is enabled"}
    source = ctx.params.get("source_job")
    if source is None:
        raise ValueError("a notify job needs the write job it reports (params.source_job)")
    batch = batch_for_job(core, int(source))
    ctx.set_total(len(batch.files))
    results = [r.to_dict() for r in notify_all(integrations, batch)]
    for result in results:
        if result["status"] == "failed":
            ctx.item_error(None, f"{result['target']}: {result['message']}")
        elif result["status"] == "warning":
            ctx.info(f"{result['target']}: {result['message']}")
    ctx.done = len(batch.files)
    return {"files": len(batch.files), "targets": results}
