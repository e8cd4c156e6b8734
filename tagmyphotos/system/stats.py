"""Counts for `status`, the API's /stats and the metrics endpoint: one query per table."""

from __future__ import annotations

from typing import Any

import peewee as pw

from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m


def _by(model: type[m.IdModel], column: pw.Field) -> dict[str, int]:
    query = model.select(column, pw.fn.COUNT(model.id)).group_by(column)
    return {str(key): int(n) for key, n in m.rows(query)}


def library_stats(recent: int = 5) -> dict[str, Any]:
    photos = _by(m.Photo, m.Photo.state)
    faces = _by(m.Face, m.Face.state)
    return {
        "photos": {
            "total": sum(photos.values()),
            "by_state": {state: photos.get(state, 0) for state in m.PHOTO_STATES},
            "analysed": photos.get(m.PhotoState.DONE, 0),
            "pending": photos.get(m.PhotoState.PENDING, 0),
            "failed": photos.get(m.PhotoState.FAILED, 0) + photos.get(m.PhotoState.ERROR, 0),
        },
        "faces": {
            "total": sum(faces.values()),
            "by_state": {state: faces.get(state, 0) for state in m.FACE_STATES},
        },
        "people": {
            "total": m.Person.select().count(),
            "hidden": m.Person.select().where(m.Person.hidden).count(),
        },
        "jobs": {
            "by_state": _by(m.Job, m.Job.state),
            "recent": [job.__dict__ for job in jobs_store.recent_jobs(recent)],
        },
    }
