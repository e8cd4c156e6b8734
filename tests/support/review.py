"""Helpers for the people/review/suggest tests: face rows with synthetic embeddings.

Synthetic vectors are shaped like dlib's (identities ~1.4 apart, faces of one identity ~0.3
apart) and serve the bookkeeping tests; matching quality is tested on the real analysed
testdata (conftest's analysed_core).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tagmyphotos.store import models as m
from tagmyphotos.store import tally
from tests.support.base import FACES

MODEL = "Dlib/dlib5-chip150-p0.25/v1"
DIM = 128


_photo_counter = [0]


def add_photo(path: str | None = None) -> Any:
    _photo_counter[0] += 1
    name = path or f"synthetic/p{_photo_counter[0]:06d}.jpg"
    return m.Photo.create(path=name, size=1, mtime=0.0, state=m.PhotoState.DONE, width=4000, height=3000)


def add_face(
    photo: Any,
    vector: np.ndarray | None,
    *,
    box: tuple[int, int, int, int] = (100, 100, 300, 300),
    quality: float = 0.9,
    score: float = 1.0,
    model: str = MODEL,
    state: str = m.FaceState.UNKNOWN,
    person: Any = None,
) -> Any:
    x, y, w, h = box
    return m.Face.create(
        photo=photo,
        x=x,
        y=y,
        w=w,
        h=h,
        det_score=score,
        quality=quality,
        embedding=None if vector is None else np.asarray(vector, np.float32).tobytes(),
        model=model,
        state=state,
        person=person,
        thumb=f"thumbs/{photo.id}-{x}.jpg",
    )


def single(vector: np.ndarray, **kw: Any) -> Any:
    """A face alone in its own photo."""
    return add_face(add_photo(), vector, **kw)


class Synthetic:
    """Identity-shaped vectors: random unit centres ~1.4 apart, faces ~0.3 from each other."""

    def __init__(self, seed: int = 7, spread: float = 0.019) -> None:
        self.rng = np.random.default_rng(seed)
        self.spread = spread
        self.centres: dict[str, np.ndarray] = {}

    def centre(self, who: str) -> np.ndarray:
        if who not in self.centres:
            c = self.rng.normal(size=DIM)
            self.centres[who] = (c / np.linalg.norm(c)).astype(np.float32)
        return self.centres[who]

    def face(self, who: str) -> np.ndarray:
        return (self.centre(who) + self.rng.normal(scale=self.spread, size=DIM)).astype(np.float32)

    def between(self, a: str, b: str, t: float) -> np.ndarray:
        """A face on the line between two identities' centres (0 = a, 1 = b)."""
        return ((1 - t) * self.centre(a) + t * self.centre(b)).astype(np.float32)


def reload(face: Any) -> Any:
    return m.Face.get_by_id(face.id)


def person(name: str) -> Any:
    return m.Person.get(m.Person.name == name)


def labelled() -> dict[str, str]:
    """file -> identity of the 61 single-face photos of the testdata."""
    import csv

    with open(FACES / "identities.csv") as fh:
        return {row["file"]: row["identity"] for row in csv.DictReader(fh)}


def check_counts() -> None:
    """Every person's face_count and cover match their confirmed faces."""
    for p in m.Person.select():
        confirmed = m.Face.select().where((m.Face.person == p.id) & (m.Face.state == m.FaceState.CONFIRMED))
        assert p.face_count == confirmed.count(), p.name
        if p.face_count:
            assert confirmed.where(m.Face.id == p.cover_face_id).exists(), p.name
        else:
            assert p.cover_face_id is None
    # face.person is set exactly when the face is confirmed
    assert not m.Face.select().where(m.Face.person.is_null(False) & (m.Face.state != m.FaceState.CONFIRMED)).exists()
    assert not m.Face.select().where(m.Face.person.is_null() & (m.Face.state == m.FaceState.CONFIRMED)).exists()
    # the counts the pages read (store/tally.py, kept by triggers) equal a full count
    assert tally.differences() == {}
