"""Plain, JSON-friendly views of people, faces, suggestions and review results.

Why separate from the models: the API, the UI and the CLI show the same things; they get
frozen dataclasses of ints, strings and lists (`to_dict()` is ready for json.dumps) and never
touch peewee rows, so a schema change stays inside the service layer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from tagmyphotos.store import models as m


class _View:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


@dataclass(frozen=True)
class FaceView(_View):
    id: int
    photo_id: int
    photo_path: str
    # Box in oriented (as displayed) full-resolution pixels.
    x: int
    y: int
    w: int
    h: int
    state: str  # unknown | suggested | confirmed | ignored
    person_id: int | None  # confirmed person
    person_name: str | None
    suggested_person_id: int | None
    suggested_person_name: str | None
    confidence: float | None
    band: str | None  # likely | maybe
    # How sure the suggestion is, in the user's words: sure (the product may name it by itself:
    # matching.sure), likely, check; None without a suggestion.
    certainty: str | None
    explanation: dict[str, Any] | None  # distance, agreeing/k, margin, conflict person (+ name)
    cluster: int | None
    auto_batch: int | None  # confirmed by the product itself in this automatic run (AutoBatch id)
    quality: float
    det_score: float
    source: str  # detected | imported | manual
    model: str | None
    thumb: str | None  # relative to the data folder


@dataclass(frozen=True)
class PhotoNameView(_View):
    """A person named on a photo and where the name came from."""

    person_id: int
    name: str
    # exiftool tags of the file that name the person (XMP-iptcExt:PersonInImage, XMP-mwg-rs:
    # RegionInfo, ...); immich / photoprism (name import); "review" for a name given here
    sources: list[str]
    face_id: int | None  # the face confirmed for the person, if any
    status: str  # face (on a confirmed face) | suggested (a face here is suggested) | photo (on no face)


@dataclass(frozen=True)
class PersonView(_View):
    id: int
    name: str
    hidden: bool
    ask_first: bool  # "always ask me": never named by the product itself
    face_count: int  # confirmed faces
    cover_face_id: int | None
    cover_thumb: str | None  # relative to the data folder
    aliases: list[str]
    likely: int  # faces suggested for this person, by band
    maybe: int
    created_at: str | None


@dataclass(frozen=True)
class SuggestionGroup(_View):
    """The suggested faces of one person (what the review page shows per person)."""

    person: PersonView
    faces: list[FaceView]
    likely: int
    maybe: int


@dataclass(frozen=True)
class ClusterView(_View):
    """Unknown faces that look alike: named in one action."""

    id: int
    size: int
    photos: int
    faces: list[FaceView]  # best-quality first, at most the requested sample


@dataclass(frozen=True)
class Skipped(_View):
    face_id: int
    reason: str


@dataclass(frozen=True)
class ReviewResult(_View):
    """What a review action did; `undo_id` undoes it (while it is the last action)."""

    action: str
    changed: list[int]  # face ids whose state or person changed
    skipped: list[Skipped] = field(default_factory=list)
    displaced: list[int] = field(default_factory=list)  # faces that lost the name to `changed`
    person: PersonView | None = None
    created_person: bool = False
    undo_id: int | None = None
    refreshed: int = 0  # suggestions recomputed after the change
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class UndoView(_View):
    id: int
    kind: str
    label: str
    created_at: str | None


@dataclass(frozen=True)
class RefreshReport(_View):
    """A suggestion refresh: how many faces were judged and where they ended up."""

    considered: int = 0
    likely: int = 0
    maybe: int = 0
    unknown: int = 0
    changed: int = 0  # faces whose suggested person or band changed
    sure: int = 0  # of the likely ones, "sure" (matching.sure): what auto-accept may name
    models: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class ClusterReport(_View):
    eligible: int = 0  # unknown faces good enough to cluster
    clustered: int = 0  # of those, in a cluster
    clusters: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class TeachReport(_View):
    """`teach FOLDER`: which people got faces and which photos did not count, and why."""

    people: dict[str, int]  # person name -> faces confirmed from the folder
    created: list[str]  # new people
    rejected: list[dict[str, str]]  # {"path", "reason"}: no face, several faces, unreadable
    skipped: int  # already taught, unchanged
    undo_id: int | None = None


def face_view(face: Any, names: dict[int, str] | None = None) -> FaceView:
    """A FaceView of a row (photo joined or fetched); `names` maps person id -> name."""
    names = names if names is not None else {}
    pid = face.person_id
    sid = face.suggested_person_id
    explanation = face.explanation
    if explanation and explanation.get("conflict_person") is not None:
        explanation = dict(explanation)
        explanation["conflict_person_name"] = names.get(explanation["conflict_person"])
    return FaceView(
        id=face.id,
        photo_id=face.photo_id,
        photo_path=face.photo.path,
        x=face.x,
        y=face.y,
        w=face.w,
        h=face.h,
        state=face.state,
        person_id=pid,
        person_name=names.get(pid) if pid is not None else None,
        suggested_person_id=sid,
        suggested_person_name=names.get(sid) if sid is not None else None,
        confidence=None if face.confidence is None else round(float(face.confidence), 4),
        band=face.band,
        certainty=face.certainty if face.state == m.FaceState.SUGGESTED else None,
        explanation=explanation,
        cluster=face.cluster,
        auto_batch=face.auto_batch if face.state == m.FaceState.CONFIRMED else None,
        quality=round(float(face.quality or 0.0), 4),
        det_score=round(float(face.det_score or 0.0), 4),
        source=face.source,
        model=face.model,
        thumb=face.thumb,
    )


def objs(query: Any) -> list[Any]:
    """Rows of a query, typed loosely: peewee's stubs do not know the `<fk>_id` accessors."""
    return list(query)


def person_names() -> dict[int, str]:
    return {int(pid): str(name) for pid, name in m.rows(m.Person.select(m.Person.id, m.Person.name))}


def faces_select() -> Any:
    """Faces joined with their photo path: add .where/.order_by, then pass to face_views.

    The embedding and landmark columns are left out: a list never shows them, and a page of
    512-d embeddings is most of the bytes the database would read."""
    columns = [f for f in m.Face._meta.sorted_fields if f.name not in UNLISTED_FACE_COLUMNS]
    # Photo.id too: selecting only the path would overwrite face.photo_id with None.
    return m.Face.select(*columns, m.Photo.id, m.Photo.path).join(m.Photo).switch(m.Face)


UNLISTED_FACE_COLUMNS = ("embedding", "landmarks")


def face_views(query: Any) -> list[FaceView]:
    """FaceViews of a `faces_select()` query, with person names in one extra query."""
    faces = list(query)
    names = person_names() if faces else {}
    return [face_view(f, names) for f in faces]


def photo_names(photo_id: int) -> list[PhotoNameView]:
    """Everyone named on a photo: by its own tags (with the tags), in Immich or PhotoPrism (name
    import), or in review; file names first."""
    names = person_names()
    faces = objs(m.Face.select(m.Face.id, m.Face.state, m.Face.person, m.Face.suggested_person)
                 .where(m.Face.photo == photo_id).order_by(m.Face.x, m.Face.id))  # fmt: skip
    on_face = {f.person_id: f.id for f in faces if f.state == m.FaceState.CONFIRMED and f.person_id is not None}
    suggested = {f.suggested_person_id for f in faces if f.state == m.FaceState.SUGGESTED}
    out, seen = [], set()
    for row in objs(m.PhotoName.select().where(m.PhotoName.photo == photo_id).order_by(m.PhotoName.id)):
        pid = row.person_id
        status = "face" if pid in on_face else "suggested" if pid in suggested else "photo"
        out.append(PhotoNameView(pid, names.get(pid, ""), list(row.sources or []), on_face.get(pid), status))
        seen.add(pid)
    imported = {int(f): str(s) for f, s in m.rows(m.ForeignFace.select(m.ForeignFace.face, m.ForeignFace.source)
                .where((m.ForeignFace.photo == photo_id) & m.ForeignFace.face.is_null(False)))}  # fmt: skip
    for pid, face_id in on_face.items():
        if pid not in seen:
            out.append(PhotoNameView(pid, names.get(pid, ""), [imported.get(face_id, "review")], face_id, "face"))
    return out
