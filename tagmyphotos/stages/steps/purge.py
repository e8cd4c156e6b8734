"""Purge: forget photos marked missing (their faces and names too), after a dry-run count.

Why a separate, explicit step: a photo that vanished may only be on an unmounted disk; the
scanner marks it missing and keeps its faces and names until the user purges. Purging keeps
the people's face counts and covers right and removes the deleted faces' thumbnails; the
files themselves are never touched (they are gone already). Reference photos of `teach`
(kind "reference") are never purged here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tagmyphotos.library.scan import REFERENCE_KIND
from tagmyphotos.review.people import recount
from tagmyphotos.store import models as m
from tagmyphotos.store.db import chunked, serialized
from tagmyphotos.suggest.state import forget_vectors

if TYPE_CHECKING:
    from tagmyphotos.core import Core


@dataclass(frozen=True)
class PurgeReport:
    missing: int  # photos marked missing
    purged: int  # photos forgotten (0 in a dry run)
    faces: int  # their faces (forgotten with them unless a dry run)
    named_faces: int  # of those, faces with a confirmed name
    dry_run: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _gone() -> Any:
    return (m.Photo.state == m.PhotoState.MISSING) & (m.Photo.kind != REFERENCE_KIND)


def purge_missing(core: Core, dry_run: bool = True) -> PurgeReport:
    """Count (dry run) or forget every photo marked missing, in one transaction."""
    with serialized(core.db):
        ids = [int(i) for (i,) in m.rows(m.Photo.select(m.Photo.id).where(_gone()))]
        faces: list[tuple[int, int | None, str | None, str | None]] = []
        for part in chunked(ids):
            query = m.Face.select(m.Face.id, m.Face.person, m.Face.thumb, m.Face.model).where(m.Face.photo.in_(part))
            faces += [(int(f), p, t, model) for f, p, t, model in m.rows(query)]
        named = sum(1 for _, p, _, _ in faces if p is not None)
        if not dry_run and ids:
            for part in chunked([f for f, _, _, _ in faces]):
                m.FaceRejection.delete().where(m.FaceRejection.face.in_(part)).execute()
                m.Face.delete().where(m.Face.id.in_(part)).execute()
            for part in chunked(ids):
                m.Photo.delete().where(m.Photo.id.in_(part) & _gone()).execute()
            recount({p for _, p, _, _ in faces if p is not None})  # counts, and covers that were purged
    if not dry_run:
        forget_vectors(core, [(f, model) for f, _, _, model in faces])
        _remove_thumbs(core, [t for _, _, t, _ in faces if t])
    return PurgeReport(len(ids), 0 if dry_run else len(ids), len(faces), named, dry_run)


def _remove_thumbs(core: Core, thumbs: list[str]) -> None:
    data = core.cfg.data.resolve()
    for rel in thumbs:
        path = (data / rel).resolve()
        if path.is_relative_to(data):
            path.unlink(missing_ok=True)
