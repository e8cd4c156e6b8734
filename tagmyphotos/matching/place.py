"""Place names without boxes on faces, across the library: which face on each photo is whose.

Why across the library and not photo by photo: a group photo that names Susan and Justin says
nothing about which face is Susan, but every other photo that names Susan does: her face is
the one they share. So each name's cost on a face is its distance to the person's exemplars
(confirmed faces, and faces placed surely in an earlier round) or, for a person with none yet,
the median over the other photos naming them of the nearest face there ("the face those photos
share"); per photo, scipy's linear_sum_assignment gives one face per name and one name per face
(a private "nobody" column per face costs the model threshold, so a name is never forced onto a
face farther than that: it stays a photo-level name). Sure placements become exemplars and the
rounds repeat until nothing changes.

How sure: the margin of a placement is what the photo's best assignment would cost more
without it (another face for this name, or another name for this face); the confidence is
P(same person) at its distance (the matcher's calibrated logistic) times a logistic of that
margin. A placement is sure (it may be confirmed) only with a distance and a margin the
calibration says never erred (tuning.PLACE_*), stable over the last two rounds; the rest get the
matcher's bands (likely, maybe) as suggestions, or nothing. Pure: vectors in, decisions out.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from tagmyphotos import tuning
from tagmyphotos.matching.match import MatchSettings
from tagmyphotos.states import MatchBand

# Placing rounds stop when two in a row agree, or after this many.
PLACE_MAX_ROUNDS = 6

# A person without exemplars is placed from at most this many other photos naming them.
PLACE_SHARED_PHOTOS = 50

_FORBIDDEN = 1e6


@dataclass(frozen=True)
class NamedPhoto:
    """A photo whose tags name people that are on none of its faces yet."""

    photo_id: int
    faces: tuple[int, ...]  # its open faces (unknown or suggested, with an embedding)
    names: tuple[int, ...]  # the persons named and not yet on a face of it


@dataclass(frozen=True)
class Placement:
    """One name put on one face, and how sure that is."""

    photo_id: int
    face_id: int
    person_id: int
    distance: float  # the name's cost on the face (to exemplars, or shared with other photos)
    margin: float  # what the photo's best assignment would cost more without this pair
    confidence: float
    band: MatchBand | None  # likely / maybe (a suggestion), None: too unsure to suggest
    sure: bool  # may be confirmed
    basis: str  # "exemplars" (confirmed or surely placed faces) or "shared" (other photos' faces)


@dataclass
class PlaceResult:
    placements: list[Placement] = field(default_factory=list)
    rounds: int = 0


@dataclass(frozen=True)
class PlaceSettings:
    match: MatchSettings
    sure_distance: float  # a sure placement is at most this far (fraction of the threshold)
    sure_margin: float  # ... and its margin at least this (fraction of the threshold)
    rounds: int = PLACE_MAX_ROUNDS
    shared_photos: int = PLACE_SHARED_PHOTOS

    @classmethod
    def for_match(cls, match: MatchSettings) -> PlaceSettings:
        t = match.threshold
        return cls(match, tuning.PLACE_SURE_DISTANCE * t, tuning.PLACE_SURE_MARGIN * t)


def place_names(
    photos: Sequence[NamedPhoto],
    vectors: Mapping[int, np.ndarray],
    exemplars: Mapping[int, np.ndarray],
    settings: PlaceSettings,
    rejected: Mapping[int, Collection[int]] | None = None,
    nearest: Mapping[int, Sequence[tuple[int, float]]] | None = None,
) -> PlaceResult:
    """Placements for the named photos. `vectors`: face id -> embedding of every open face of
    `photos`; `exemplars`: person id -> (n, dim) confirmed embeddings; `rejected`: face id ->
    persons it must never get; `nearest`: face id -> (person, distance) of its nearest confirmed
    faces of anyone (the matcher's neighbours): a face that looks more like someone the photo
    does not name than like the name is no sure placement (the name's margin is at most the
    difference)."""
    angular = settings.match.metric == "angular"
    vecs = {f: _unit(v) if angular else np.asarray(v, np.float64) for f, v in vectors.items()}
    given = {p: _Exemplars(np.stack([_unit(x) if angular else x for x in np.asarray(e, np.float64)]),
                           np.full(len(e), -1, np.int64)) for p, e in exemplars.items() if len(e)}  # fmt: skip
    base = given
    photos = [p for p in photos if p.faces and p.names and all(f in vecs for f in p.faces)]
    banned = rejected or {}
    previous: dict[tuple[int, int], Placement] = {}
    result = PlaceResult()
    for round_no in range(1, settings.rounds + 1):
        result.rounds = round_no
        shared = _SharedCost(photos, vecs, settings.shared_photos)
        current: dict[tuple[int, int], Placement] = {}
        for photo in photos:
            for pl in _solve(photo, vecs, base, shared, banned, settings, nearest or {}):
                current[(pl.face_id, pl.person_id)] = pl
        stable = {k: _with_sure(pl, k in previous, settings) for k, pl in current.items()}
        learnt = _exemplars(given, stable.values(), vecs)
        done = stable.keys() == previous.keys()
        previous = stable
        result.placements = sorted(stable.values(), key=lambda pl: (pl.photo_id, pl.face_id))
        if done:
            break
        base = learnt
    return result


@dataclass(frozen=True)
class _Exemplars:
    """A person's exemplar vectors and the photo each came from (-1: a confirmed face), so a
    face placed in one round is never its own evidence in the next."""

    vectors: np.ndarray
    photos: np.ndarray

    def nearest(self, vec: np.ndarray, photo_id: int) -> float | None:
        keep = self.photos != photo_id
        if not keep.any():
            return None
        return float(np.min(np.linalg.norm(self.vectors[keep] - vec, axis=1)))


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64)
    return v / max(float(np.linalg.norm(v)), 1e-12)


class _SharedCost:
    """Cost of a name on a face from the other photos naming it (no exemplar needed)."""

    def __init__(self, photos: Sequence[NamedPhoto], vecs: Mapping[int, np.ndarray], limit: int) -> None:
        self.vecs, self.limit = vecs, limit
        self.by_person: dict[int, list[NamedPhoto]] = {}
        for photo in photos:
            for p in photo.names:
                self.by_person.setdefault(p, []).append(photo)

    def cost(self, face: int, photo_id: int, person: int) -> float | None:
        others = [ph for ph in self.by_person.get(person, []) if ph.photo_id != photo_id][: self.limit]
        if not others:
            return None
        mat = np.stack([self.vecs[f] for ph in others for f in ph.faces])
        dist = np.linalg.norm(mat - self.vecs[face], axis=1)
        starts = np.cumsum([0] + [len(ph.faces) for ph in others[:-1]])
        return float(np.median(np.minimum.reduceat(dist, starts)))


def _costs(
    photo: NamedPhoto,
    vecs: Mapping[int, np.ndarray],
    base: Mapping[int, _Exemplars],
    shared: _SharedCost,
    banned: Mapping[int, Collection[int]],
) -> tuple[np.ndarray, list[str]]:
    """Face x name costs (FORBIDDEN where unknown or rejected) and each name's basis."""
    cost = np.full((len(photo.faces), len(photo.names)), _FORBIDDEN)
    basis = []
    for j, person in enumerate(photo.names):
        ex = base.get(person)
        has = ex is not None and bool((ex.photos != photo.photo_id).any())
        basis.append("exemplars" if has else "shared")
        for i, face in enumerate(photo.faces):
            if person in banned.get(face, ()):
                continue
            c = ex.nearest(vecs[face], photo.photo_id) if has and ex is not None else None
            if c is None:
                c = shared.cost(face, photo.photo_id, person)
            cost[i, j] = _FORBIDDEN if c is None else c
    return cost, basis


def _assign(cost: np.ndarray, threshold: float) -> tuple[float, dict[int, int]]:
    """Best total and face row -> name column, each face with its own "nobody" at threshold."""
    n, k = cost.shape
    full = np.full((n, k + n), _FORBIDDEN)
    full[:, :k] = np.where(cost <= threshold, cost, _FORBIDDEN)
    full[np.arange(n), k + np.arange(n)] = threshold
    rows, cols = linear_sum_assignment(full)
    total = float(full[rows, cols].sum())
    return total, {int(r): int(c) for r, c in zip(rows, cols, strict=True) if c < k and full[r, c] < _FORBIDDEN}


def _solve(
    photo: NamedPhoto,
    vecs: Mapping[int, np.ndarray],
    base: Mapping[int, _Exemplars],
    shared: _SharedCost,
    banned: Mapping[int, Collection[int]],
    settings: PlaceSettings,
    nearest: Mapping[int, Sequence[tuple[int, float]]],
) -> list[Placement]:
    threshold = settings.match.threshold
    cost, basis = _costs(photo, vecs, base, shared, banned)
    total, chosen = _assign(cost, threshold)
    out = []
    for i, j in chosen.items():
        without = cost.copy()
        without[i, j] = _FORBIDDEN
        d = float(cost[i, j])
        rival = min((x for q, x in nearest.get(photo.faces[i], ()) if q != photo.names[j]), default=math.inf)
        margin = min(_assign(without, threshold)[0] - total, threshold, rival - d)
        confidence = settings.match.p_same(d) * _logistic((margin - settings.match.min_margin) / settings.match.scale)
        band = _band(confidence, settings.match)
        out.append(Placement(photo.photo_id, photo.faces[i], photo.names[j], round(d, 4), round(margin, 4),
                             round(confidence, 4), band, False, basis[j]))  # fmt: skip
    return out


def _band(confidence: float, s: MatchSettings) -> MatchBand | None:
    return MatchBand.LIKELY if confidence >= s.likely else MatchBand.MAYBE if confidence >= s.maybe else None


def _logistic(z: float) -> float:
    return 0.0 if z < -50 else 1.0 / (1.0 + math.exp(-z))


def _with_sure(pl: Placement, held: bool, settings: PlaceSettings) -> Placement:
    sure = held and pl.distance <= settings.sure_distance and pl.margin >= settings.sure_margin
    return Placement(pl.photo_id, pl.face_id, pl.person_id, pl.distance, pl.margin, pl.confidence,
                     pl.band, sure, pl.basis)  # fmt: skip


def _exemplars(
    given: Mapping[int, _Exemplars], placements: Collection[Placement], vecs: Mapping[int, np.ndarray]
) -> dict[int, _Exemplars]:
    """The given exemplars plus the faces placed in the likely band this round (the next round
    decides again whether they hold; a face never counts for its own photo)."""
    extra: dict[int, list[tuple[np.ndarray, int]]] = {}
    for pl in placements:
        if pl.band == MatchBand.LIKELY:
            extra.setdefault(pl.person_id, []).append((vecs[pl.face_id], pl.photo_id))
    out = dict(given)
    for p, rows in extra.items():
        add = _Exemplars(np.stack([v for v, _ in rows]), np.array([ph for _, ph in rows], np.int64))
        old = out.get(p)
        out[p] = add if old is None else _Exemplars(np.vstack([old.vectors, add.vectors]),
                                                    np.concatenate([old.photos, add.photos]))  # fmt: skip
    return out
