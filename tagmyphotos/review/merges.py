"""Merge suggestions: people who are probably one person named twice, with the evidence.

Why from the matcher's in-memory confirmed set (suggest.state): it already holds every
confirmed face's vector per model and follows each review change, so listing suggestions on
the People page costs the centroids and one matrix product, not a reload of 100k embeddings.
"Different people" answers are stored (DistinctPeople) so a pair is never suggested again;
the merge itself is people.merge_people (one transaction, undoable).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from tagmyphotos import tuning
from tagmyphotos.matching.merge import PersonPair, centroid, close_pairs, closest_faces, merge_distance
from tagmyphotos.review.people import Conflict, NotFound, get_person, merge_people, person_view
from tagmyphotos.store import models as m
from tagmyphotos.store.db import serialized
from tagmyphotos.store.views import FaceView, PersonView, ReviewResult, face_views, faces_select
from tagmyphotos.suggest.state import model_state

if TYPE_CHECKING:
    from tagmyphotos.core import Core
    from tagmyphotos.suggest.state import ModelState

# At most this many merge suggestions are listed (closest first).
MERGE_MAX_SUGGESTIONS = 50


@dataclass(frozen=True)
class MergeSuggestion:
    """Two people whose faces are close: a and b (the one with more faces first)."""

    a: PersonView
    b: PersonView
    distance: float  # between the centroids of their confirmed faces
    closest_distance: float  # between their two nearest faces
    threshold: float  # suggestions are made up to this distance (tuning.MERGE_DISTANCE_RATIO)
    model: str  # the embedding model the faces were compared in
    faces_a: list[FaceView]  # evidence: their nearest face first, then the best ones
    faces_b: list[FaceView]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Candidate:
    pair: PersonPair
    model: str
    threshold: float


def merge_suggestions(core: Core, offset: int = 0, limit: int = MERGE_MAX_SUGGESTIONS,
                      sample: int = tuning.MERGE_EVIDENCE_FACES) -> tuple[list[MergeSuggestion], int]:  # fmt: skip
    """(one page of suggestions, closest first; how many there are)."""
    found = _candidates(core)
    out = []
    for cand in found[offset : offset + limit]:
        view = _view(core, cand, sample)
        if view is not None:
            out.append(view)
    return out, len(found)


def _candidates(core: Core) -> list[_Candidate]:
    hidden = {int(i) for (i,) in m.rows(m.Person.select(m.Person.id).where(m.Person.hidden))}
    different = set(m.rows(m.DistinctPeople.select(m.DistinctPeople.person_a, m.DistinctPeople.person_b)))
    found: dict[tuple[int, int], _Candidate] = {}
    for model_id in _models():
        state = model_state(core, model_id)
        if state is None:
            continue
        for cand in _model_candidates(state, hidden):
            key = (cand.pair.a, cand.pair.b)
            if key not in different and (key not in found or cand.pair.distance < found[key].pair.distance):
                found[key] = cand
    return sorted(found.values(), key=lambda c: (c.pair.distance, c.pair.a, c.pair.b))


def _model_candidates(state: ModelState, hidden: set[int]) -> list[_Candidate]:
    metric, threshold = state.settings.metric, merge_distance(state.settings.threshold)
    with state.lock:
        state.sync(force=False)
        members = {p: sorted(ids) for p, ids in state.matcher.members.items() if ids and p not in hidden}
        vectors = {p: state.matcher.index.vectors(ids) for p, ids in members.items()}
    pairs = close_pairs({p: centroid(v, metric) for p, v in vectors.items()}, threshold)
    return [_Candidate(pair, state.model_id, round(threshold, 4)) for pair in pairs]


def _closest(core: Core, cand: _Candidate) -> tuple[int, int, float]:
    """(face of a, face of b, distance) of their two nearest faces, for the page shown only."""
    state = model_state(core, cand.model)
    if state is None:
        raise NotFound("no faces of that model any more")
    with state.lock:
        members = {p: sorted(state.matcher.members.get(p, ())) for p in (cand.pair.a, cand.pair.b)}
        if not all(members.values()):
            raise NotFound("one of them has no confirmed faces any more")
        vectors = {p: state.matcher.index.vectors(ids) for p, ids in members.items()}
    ra, rb, dist = closest_faces(vectors[cand.pair.a], vectors[cand.pair.b], state.settings.metric)
    return members[cand.pair.a][ra], members[cand.pair.b][rb], dist


def _models() -> list[str]:
    """Embedding models with faces (read from the model index alone; a model without confirmed
    faces has no people to compare and yields no pairs)."""
    query = m.Face.select(m.Face.model).where(m.Face.model.is_null(False)).distinct()
    return sorted(str(model) for (model,) in m.rows(query))


def _view(core: Core, cand: _Candidate, sample: int) -> MergeSuggestion | None:
    try:
        a, b = person_view(get_person(cand.pair.a)), person_view(get_person(cand.pair.b))
        near_a, near_b, closest = _closest(core, cand)
    except NotFound:  # merged or deleted since the matcher's last sync
        return None
    faces_a, faces_b = _evidence(a.id, near_a, sample), _evidence(b.id, near_b, sample)
    if (b.face_count, -b.id) > (a.face_count, -a.id):
        a, b, faces_a, faces_b = b, a, faces_b, faces_a
    return MergeSuggestion(a, b, cand.pair.distance, closest, cand.threshold, cand.model, faces_a, faces_b)


def _evidence(person_id: int, nearest: int, sample: int) -> list[FaceView]:
    """The face nearest to the other person, then their best-quality faces."""
    confirmed = (m.Face.person == person_id) & (m.Face.state == m.FaceState.CONFIRMED)
    best = faces_select().where(confirmed & (m.Face.id != nearest)).order_by(m.Face.quality.desc(), m.Face.id)
    first = face_views(faces_select().where(confirmed & (m.Face.id == nearest)))
    return (first + face_views(best.limit(sample)))[:sample]


# --- "different people" ------------------------------------------------------------------------
def _ordered(person_id: int, other_id: int) -> tuple[int, int]:
    if int(person_id) == int(other_id):
        raise Conflict("a person cannot be different from themselves")
    return (min(int(person_id), int(other_id)), max(int(person_id), int(other_id)))


def mark_different(core: Core, person_id: int, other_id: int) -> tuple[int, int]:
    """Remember that two people are different: their pair is never suggested again."""
    a, b = _ordered(person_id, other_id)
    with serialized(core.db):
        get_person(a), get_person(b)
        m.DistinctPeople.insert(person_a=a, person_b=b).on_conflict_ignore().execute()
    return a, b


def forget_different(core: Core, person_id: int, other_id: int) -> bool:
    """Undo `mark_different` (the pair may be suggested again); False when it was not stored."""
    a, b = _ordered(person_id, other_id)
    with serialized(core.db):
        gone = m.DistinctPeople.delete().where((m.DistinctPeople.person_a == a) & (m.DistinctPeople.person_b == b))
        return bool(gone.execute())


def different_pairs(offset: int = 0, limit: int = 100) -> tuple[list[tuple[PersonView, PersonView]], int]:
    query = m.DistinctPeople.select().order_by(m.DistinctPeople.id.desc())
    rows = m.rows_as_objects(query.offset(offset).limit(limit))
    out = [(person_view(get_person(r.person_a_id)), person_view(get_person(r.person_b_id))) for r in rows]
    return out, query.count()


def merge_pair(core: Core, person_id: int, other_id: int, into: int | None = None) -> ReviewResult:
    """Merge a suggested pair in one action: into `into`, else into the one with more faces."""
    a, b = get_person(person_id), get_person(other_id)
    if a.id == b.id:
        raise Conflict("a person cannot be merged with themselves")
    if into is None:
        target = max((a, b), key=lambda p: (p.face_count, -p.id))
    elif into in (a.id, b.id):
        target = a if into == a.id else b
    else:
        raise Conflict("`into` must be one of the two people")
    source = b if target is a else a
    return merge_people(core, [int(source.id)], int(target.id))
