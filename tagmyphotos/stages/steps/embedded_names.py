"""Embedded names: the people other tools already wrote into the files (digiKam, Lightroom, Picasa,
Immich exports), taken at analysis (matching.import_existing). Names given in another app and
read through its API are *imported* names instead (review/imported_names.py).

At analysis time the named face regions of a file (MWG, Microsoft) are matched to the detected
faces by overlap; a match confirms the face for that person (created when new), so a user's
past work is training data on day one. A region no detected face matches is kept as a manual
face (no embedding: it names the photo, it does not teach the matcher). A face the user already
decided about is never touched.

Names without a box (PersonInImage, `People|Name` keywords: metadata/names.py; the people of
a Google Takeout JSON beside the photo: metadata/takeout.py) are used too:
the one name left for the one face left confirms it; otherwise the names stay photo-level
(PhotoName rows), suggestions for the photo's faces are limited to them, and a write never
removes them. Every name is recorded with the tags it came from.

Bounds, because anyone who can drop a file in the library writes these tags (an outside test
made 1,000 people from one file): a photo with more than IMPORT_MAX_REGIONS_PER_PHOTO named
regions is not imported at all (a job warning says so), and a name new to the library is taken
only where a detected face is under its region, so a file creates at most as many people as it
shows faces (plus the keyword names, IMPORT_MAX_KEYWORD_NAMES at most, which become people on
the photo anyway, so their hand-drawn regions are kept too). Names already known keep today's
behaviour (also on hand-drawn regions). Why not
make new names suggestions: a digiKam user importing years of careful tagging expects those
people known and learnt from on day one, which is what the import is for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tagmyphotos import tuning
from tagmyphotos.core import Core
from tagmyphotos.faces.images import ImageError
from tagmyphotos.faces.thumb import box_thumbnail, save_thumbnail, thumb_path
from tagmyphotos.geometry import NormBox, oriented_size
from tagmyphotos.metadata.exiftool import ExifToolError, UnsafeArgument
from tagmyphotos.metadata.names import keyword_people
from tagmyphotos.metadata.read import MP_TAG, MWG_TAG, SUBJECT, PhotoMetadata, match_regions_to_faces, read_photo
from tagmyphotos.metadata.takeout import SOURCE as TAKEOUT
from tagmyphotos.metadata.takeout import TakeoutProblem, find_takeout
from tagmyphotos.review.people import find_person, recount, resolve_person
from tagmyphotos.stages.write import desired_tags, writer
from tagmyphotos.store import models as m

log = logging.getLogger("tagmyphotos.import")

_REGION_TAG = {"mwg": MWG_TAG, "mp": MP_TAG}


@dataclass
class EmbeddedNamesReport:
    confirmed: int = 0
    manual: int = 0
    people_created: int = 0
    photo_level: int = 0  # names kept on the photo, on no face
    new_without_face: int = 0  # regions with a new name and no detected face: not imported
    warning: str | None = None  # for the job's events: why the file's names were not imported


def take_embedded_names(core: Core, photo_id: int) -> EmbeddedNamesReport:
    """Turn the people named in one photo (or its sidecar) into confirmed faces and photo names."""
    report = EmbeddedNamesReport()
    photo = m.Photo.get_by_id(photo_id)
    try:
        meta = read_photo(writer(core).session, core.cfg.library / photo.path,
                          naming=core.cfg.write.sidecar_naming, with_hash=False)  # fmt: skip
    except (ExifToolError, UnsafeArgument, OSError) as exc:
        log.warning("could not read existing tags of %s: %s", photo.path, exc)
        return report
    regions = [r for r in meta.named_faces() if r.box is not None]
    keywords = _keyword_names(core, meta)
    report.warning = _takeout_names(core, photo.path, keywords)
    if not regions and not keywords:
        return report
    if len(regions) > tuning.IMPORT_MAX_REGIONS_PER_PHOTO:
        report.warning = (f"{len(regions):,} named face regions (more than {tuning.IMPORT_MAX_REGIONS_PER_PHOTO}): "
                          "none imported; a photo this crowded is more likely generated than tagged")  # fmt: skip
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
    on_faces: set[str] = set()  # the names taken from regions (a skipped name stays the file's alone)
    with m.database.atomic():
        for index, region in enumerate(regions):
            named_in_keywords = " ".join(str(region.name).split()) in keywords  # a photo-level person anyway
            if index not in matches and find_person(str(region.name)) is None and not named_in_keywords:
                report.new_without_face += 1  # a new name needs a face under it
                continue
            on_faces.add(str(region.name))
            person, created = resolve_person(str(region.name))
            report.people_created += int(created)
            touched.add(person.id)
            face_id = None
            if index in matches:
                face = faces[matches[index]]
                face_id = face.id
                if face.state in (m.FaceState.UNKNOWN, m.FaceState.SUGGESTED) and not _rejected(face.id, person.id):
                    _confirm(face.id, person.id)
                    report.confirmed += 1
            else:
                face_id = _manual_face(photo_id, person, region.box, width, height, report)
            record_name(photo_id, person.id, [_REGION_TAG[region.source]], face_id)
        taken = {faces[i].id for i in matches.values()}
        named = take_boxless_names(photo_id, faces, taken, keywords, report, touched)
        on_faces |= named
        recount(touched)
        # remembered, so that removing such a face later takes its name out of the file too
        m.WriteAudit.create(photo=photo_id, path=photo.path, mode="import", result="skipped",
                            tags={"people": sorted(on_faces)},
                            note="people read from the file's existing tags")  # fmt: skip
        _mark_already_written(core, photo_id, {str(r.name) for r in regions})
    thumbnail_embedded(core, photo_id)
    return report


def _keyword_names(core: Core, meta: PhotoMetadata) -> dict[str, list[str]]:
    tags = meta.effective
    known = {v for v in tags.keywords.get(SUBJECT, []) if find_person(v) is not None}
    prefixes = {core.cfg.write.keyword_prefix.strip() or "People", "People"}
    names = keyword_people(tags, prefixes, known)
    if len(names) > tuning.IMPORT_MAX_KEYWORD_NAMES:
        log.warning("%s names %d people in its keywords; the first %d are used", meta.path, len(names),
                    tuning.IMPORT_MAX_KEYWORD_NAMES)  # fmt: skip
        names = dict(list(names.items())[: tuning.IMPORT_MAX_KEYWORD_NAMES])
    return names


def _takeout_names(core: Core, rel: str, names: dict[str, list[str]]) -> str | None:
    """Add the names of the photo's Google Takeout JSON (if any) to `names`; returns why its
    JSON was skipped (for the job's events), or None."""
    found = find_takeout(core.cfg.library / rel, core.cfg.library)
    if isinstance(found, TakeoutProblem):
        return f"Google Takeout file {found.path.name}: {found.reason}"
    for name in found.names if found is not None else []:
        if len(names) >= tuning.IMPORT_MAX_KEYWORD_NAMES and name not in names:
            break
        if TAKEOUT not in names.setdefault(name, []):
            names[name].append(TAKEOUT)
    return None


def take_boxless_names(
    photo_id: int,
    faces: list[m.Face],
    taken: set[int],
    keywords: dict[str, list[str]],
    report: EmbeddedNamesReport,
    touched: set[int],
) -> set[str]:
    """Record the names without a box; the one name left for the one face left confirms it.
    Returns the names put on a face this way."""
    persons = []
    for name, sources in keywords.items():
        try:
            person, created = resolve_person(name)
        except ValueError:  # nothing left of the name once sanitised
            continue
        report.people_created += int(created)
        persons.append((person, sources))
    has_name = (m.Face.photo == photo_id) & (m.Face.state == m.FaceState.CONFIRMED) & m.Face.person.is_null(False)
    confirmed = {int(p) for (p,) in m.rows(m.Face.select(m.Face.person).where(has_name))}
    pending = [(p, s) for p, s in persons if p.id not in confirmed]
    undecided = [f for f in faces if f.id not in taken and f.source == "detected"
                 and f.state in (m.FaceState.UNKNOWN, m.FaceState.SUGGESTED)]  # fmt: skip
    named: set[str] = set()
    for person, sources in persons:
        face_id = None
        if len(pending) == 1 and len(undecided) == 1 and pending[0][0].id == person.id:
            face = undecided[0]
            if not _rejected(face.id, person.id):
                _confirm(face.id, person.id)
                face_id = face.id
                report.confirmed += 1
                touched.add(person.id)
                named.add(person.name)
        if face_id is None and person.id not in confirmed:
            report.photo_level += 1
        record_name(photo_id, person.id, sources, face_id)
    return named


def record_name(photo_id: int, person_id: int, sources: list[str], face_id: int | None) -> None:
    """Remember that the photo's tags name this person (sources merged; a face, once known, kept)."""
    row = m.PhotoName.get_or_none((m.PhotoName.photo == photo_id) & (m.PhotoName.person == person_id))
    if row is None:
        m.PhotoName.create(photo=photo_id, person=person_id, sources=list(sources), face=face_id)
        return
    merged = list(dict.fromkeys([*(row.sources or []), *sources]))
    face = face_id if face_id is not None else row.face_id  # type: ignore[attr-defined]
    m.PhotoName.update(sources=merged, face=face).where(m.PhotoName.id == row.id).execute()


def _confirm(face_id: int, person_id: int) -> None:
    values = {"state": m.FaceState.CONFIRMED, "person": person_id, "suggested_person": None,
              "confidence": None, "band": None, "explanation": None, "updated_at": m.utcnow()}  # fmt: skip
    m.Face.update(values).where(m.Face.id == face_id).execute()


def _manual_face(
    photo_id: int, person: m.Person, box: NormBox | None, width: int, height: int, report: EmbeddedNamesReport
) -> int | None:
    """A region no detected face matches: kept as an imported face (once)."""
    assert box is not None
    existing = m.Face.get_or_none(
        (m.Face.photo == photo_id) & (m.Face.source == "imported") & (m.Face.person == person.id)
    )
    if existing is not None:
        return int(existing.id)
    face = m.Face.create(photo=photo_id, source="imported", state=m.FaceState.CONFIRMED, person=person,
                         x=round(box.x * width), y=round(box.y * height), w=max(1, round(box.w * width)),
                         h=max(1, round(box.h * height)), det_score=0.0)  # fmt: skip
    report.manual += 1
    return int(face.id)


def thumbnail_embedded(core: Core, photo_id: int) -> int:
    """Thumbnails for the photo's imported faces that have none (no detection made one for them).

    Safe to rerun: a face that has its thumbnail is skipped. Returns how many were made."""
    faces = list(
        m.Face.select().where((m.Face.photo == photo_id) & (m.Face.source == "imported") & m.Face.thumb.is_null())
    )
    if not faces:
        return 0
    photo = m.Photo.get_by_id(photo_id)
    made = 0
    for face in faces:
        try:
            data = box_thumbnail(core.cfg.library / photo.path, (face.x, face.y, face.w, face.h),
                                 core.cfg.analysis.max_image_pixels)  # fmt: skip
        except (ImageError, OSError) as exc:
            log.warning("no thumbnail for the imported face %s in %s: %s", face.id, photo.path, exc)
            return made
        rel = thumb_path(photo_id, face.id)
        save_thumbnail(data, core.cfg.data / rel)
        m.Face.update(thumb=rel).where(m.Face.id == face.id).execute()
        made += 1
    return made


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
