"""Import people that other tools already wrote (digiKam, Lightroom, Picasa, Immich exports).

At analysis time the named face regions of a file (MWG, Microsoft) are matched to the detected
faces by overlap; a match confirms the face for that person (created when new), so a user's
past work is training data on day one. A region no detected face matches is kept as a manual
face (no embedding: it names the photo, it does not teach the matcher). A face the user already
decided about is never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tagmyphotos.core import Core
from tagmyphotos.geometry import NormBox, oriented_size
from tagmyphotos.metadata.exiftool import ExifToolError, UnsafeArgument
from tagmyphotos.metadata.read import match_regions_to_faces, read_photo
from tagmyphotos.review.people import recount, resolve_person
from tagmyphotos.stages.write import desired_tags, writer
from tagmyphotos.store import models as m

log = logging.getLogger("tagmyphotos.import")


@dataclass
class ImportReport:
    confirmed: int = 0
    manual: int = 0
    people_created: int = 0


def import_existing(core: Core, photo_id: int) -> ImportReport:
    """Turn the named face regions in one photo (or its sidecar) into confirmed faces."""
    report = ImportReport()
    photo = m.Photo.get_by_id(photo_id)
    try:
        meta = read_photo(writer(core).session, core.cfg.library / photo.path,
                          naming=core.cfg.write.sidecar_naming, with_hash=False)  # fmt: skip
    except (ExifToolError, UnsafeArgument, OSError) as exc:
        log.warning("could not read existing tags of %s: %s", photo.path, exc)
        return report
    regions = [r for r in meta.named_faces() if r.box is not None]
    if not regions:
        return report
    width, height = oriented_size(meta.width or photo.width or 0, meta.height or photo.height or 0,
                                  meta.orientation or photo.orientation or 1)  # fmt: skip
    if not width or not height:
        return report
    faces = list(m.Face.select().where(m.Face.photo == photo_id).order_by(m.Face.id))
    boxes = [NormBox(f.x / width, f.y / height, f.w / width, f.h / height) for f in faces]
    matches = {
        mt.region_index: mt.face_index for mt in match_regions_to_faces([r.box for r in regions], boxes)
    }
    touched: set[int] = set()
    with m.database.atomic():
        for index, region in enumerate(regions):
            person, created = resolve_person(str(region.name))
            report.people_created += int(created)
            touched.add(person.id)
            if index in matches:
                face = faces[matches[index]]
                if face.state in (m.FACE_UNKNOWN, m.FACE_SUGGESTED) and not _rejected(face.id, person.id):
                    values = {"state": m.FACE_CONFIRMED, "person": person, "suggested_person": None,
                              "confidence": None, "band": None, "explanation": None, "updated_at": m.utcnow()}
                    m.Face.update(values).where(m.Face.id == face.id).execute()
                    report.confirmed += 1
                continue
            box = region.box
            assert box is not None
            exists = (
                m.Face.select()
                .where(
                    (m.Face.photo == photo_id) & (m.Face.source == "imported") & (m.Face.person == person.id)
                )
                .exists()
            )
            if not exists:
                m.Face.create(photo=photo_id, source="imported", state=m.FACE_CONFIRMED, person=person,
                              x=round(box.x * width), y=round(box.y * height), w=max(1, round(box.w * width)),
                              h=max(1, round(box.h * height)), det_score=0.0)  # fmt: skip
                report.manual += 1
        recount(touched)
        # remembered, so that removing such a face later takes its name out of the file too
        m.WriteAudit.create(photo=photo_id, path=photo.path, mode="import", result="skipped",
                            tags={"people": sorted({str(r.name) for r in regions})},
                            note="people read from the file's existing tags")  # fmt: skip
        _mark_already_written(core, photo_id, {str(r.name) for r in regions})
    return report


def _rejected(face_id: int, person_id: int) -> bool:
    return (
        m.FaceRejection.select()
        .where((m.FaceRejection.face == face_id) & (m.FaceRejection.person == person_id))
        .exists()
    )


def _mark_already_written(core: Core, photo_id: int, names_in_file: set[str]) -> None:
    """A photo whose confirmed people all came from its own tags needs no write."""
    for tags in desired_tags(core.cfg, photo_ids=[photo_id]):
        if tags.regions and {r.name for r in tags.regions} <= names_in_file:
            m.Photo.update(written_signature=tags.signature).where(m.Photo.id == photo_id).execute()
