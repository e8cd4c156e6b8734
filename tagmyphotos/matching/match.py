"""k-NN vote over confirmed faces: who is this face, how sure, and why.

Why a weighted vote and not a count: with two confirmed faces per person most of the k nearest
neighbours belong to other people, so a count says little. Each neighbour at distance d is a
same-person probability P(d) (a logistic calibrated per model, tuning.MATCH_MODELS); a
person's support is the chance that at least one of their neighbours matches, turned into
odds. Confidence is the best person's odds against every rival's and against "nobody"
(equal priors), so close rivals lower it by themselves. Look-alike people, whose confirmed
faces come closer to each other than the model threshold, get a stricter P(d) centred on
that gap; a tiny margin or a distance beyond the threshold leaves a face unknown.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import cast

import numpy as np

from tagmyphotos import tuning
from tagmyphotos.matching.index import IndexSpec, NeighbourIndex
from tagmyphotos.matching.knn import Metric
from tagmyphotos.states import MatchBand

NO_REJECTIONS: Mapping[int, Collection[int]] = {}


@dataclass(frozen=True)
class MatchSettings:
    """Per-model thresholds; `for_model` fills the calibrated defaults, config overrides some."""

    model: str
    metric: str
    threshold: float
    scale: float
    min_margin: float
    likely: float = tuning.MATCH_LIKELY_CONFIDENCE
    maybe: float = tuning.MATCH_MAYBE_CONFIDENCE
    k: int = tuning.MATCH_K
    fetch: int = tuning.MATCH_K + tuning.MATCH_FETCH_EXTRA

    @classmethod
    def for_model(
        cls,
        model: str,
        *,
        threshold: float | None = None,
        likely: float | None = None,
        maybe: float | None = None,
        k: int | None = None,
    ) -> MatchSettings:
        try:
            metric, t, scale, margin = tuning.MATCH_MODELS[model]
        except KeyError:
            raise ValueError(f"no matching defaults for model {model!r}") from None
        if threshold is not None:  # a user threshold keeps the calibrated shape of P(d)
            scale, margin, t = scale * threshold / t, margin * threshold / t, threshold
        kk = k if k is not None else tuning.MATCH_K
        return cls(
            model=model,
            metric=metric,
            threshold=t,
            scale=scale,
            min_margin=margin,
            likely=likely if likely is not None else tuning.MATCH_LIKELY_CONFIDENCE,
            maybe=maybe if maybe is not None else tuning.MATCH_MAYBE_CONFIDENCE,
            k=kk,
            fetch=kk + tuning.MATCH_FETCH_EXTRA,
        )

    def p_same(self, distance: float, centre: float | None = None) -> float:
        """Probability that a face at `distance` from a confirmed face is the same person."""
        z = (distance - (self.threshold if centre is None else centre)) / self.scale
        return 0.0 if z > 50 else 1.0 / (1.0 + math.exp(z))


@dataclass(frozen=True)
class PersonStats:
    """Spread of a person's confirmed faces and how close another person comes."""

    person_id: int
    count: int
    spread: float  # median distance of the person's confirmed faces to their centroid
    nearest_person: int | None  # the person with the closest confirmed face (the look-alike)
    gap: float  # that closest face-to-face distance (inf: nobody within the neighbourhood)


@dataclass(frozen=True)
class Explanation:
    """Why a face got (or did not get) a person; shown by the UI and API."""

    distance: float  # to the nearest confirmed face of the candidate person
    agreeing: int  # how many of the k nearest confirmed faces are the candidate's
    k: int  # how many nearest confirmed faces voted
    margin: float | None  # conflict_distance - distance (None: no other person nearby)
    conflict_person: int | None  # nearest confirmed face of another person = the runner-up
    conflict_distance: float | None
    lookalike_person: int | None  # set when the candidate's stricter look-alike centre applied
    centre: float  # the distance where P(same person) = 0.5 for the candidate

    def as_dict(self) -> dict[str, object]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Suggestion:
    face_id: int
    person_id: int | None  # set only when band is likely or maybe
    band: MatchBand | None
    confidence: float
    candidate_id: int | None  # best person even when it stays unknown (for the explanation)
    explanation: Explanation | None
    # (person, distance) of the fetched nearest confirmed faces, rejected persons removed;
    # kept so the per-photo assignment can re-judge a face without another search.
    neighbours: tuple[tuple[int, float], ...] = field(default=(), repr=False)


class Matcher:
    """Confirmed faces (index + labels + person statistics) and suggestions against them."""

    def __init__(self, index: NeighbourIndex, settings: MatchSettings) -> None:
        if index.spec.metric != settings.metric:
            raise ValueError(f"index metric {index.spec.metric} != model metric {settings.metric}")
        self.index = index
        self.settings = settings
        self.labels: dict[int, int] = {}  # confirmed face id -> person id
        self.members: dict[int, set[int]] = {}  # person id -> confirmed face ids
        self.stats: dict[int, PersonStats] = {}
        self._lookup: tuple[np.ndarray, np.ndarray] | None = None  # sorted labels, for suggest

    @classmethod
    def in_memory(cls, settings: MatchSettings, dim: int) -> Matcher:
        """A matcher without a persisted index (tests, evaluation, a first start)."""
        spec = IndexSpec(settings.model, dim, cast(Metric, settings.metric))
        return cls(NeighbourIndex(None, spec), settings)

    # --- the confirmed set ---------------------------------------------------------------------
    def set_confirmed(self, face_ids: Sequence[int], vectors: np.ndarray, person_ids: Sequence[int]) -> None:
        """Load every confirmed face of this model (start-up, the rebuild job).

        Builds the Annoy index first when the loaded one is missing or far off, because the
        person statistics query every confirmed face once.
        """
        self.index.set_items(np.asarray(face_ids, np.int64), vectors)
        if self.index.needs_build():
            self.index.build()
        self.labels = {int(f): int(p) for f, p in zip(face_ids, person_ids, strict=True)}
        self.members = {}
        for f, p in self.labels.items():
            self.members.setdefault(p, set()).add(f)
        self.stats = {}
        self._restat(set(self.members))

    def confirm(self, face_ids: Sequence[int], vectors: np.ndarray, person_ids: Sequence[int]) -> None:
        """Faces confirmed (or moved to another person): they count for the very next query."""
        touched = {int(p) for p in person_ids}
        for f in face_ids:
            old = self.labels.get(int(f))
            if old is not None:
                touched.add(old)
                self.members[old].discard(int(f))
        self.index.add(np.asarray(face_ids, np.int64), vectors)
        for f, p in zip(face_ids, person_ids, strict=True):
            self.labels[int(f)] = int(p)
            self.members.setdefault(int(p), set()).add(int(f))
        self._restat(touched)

    def unconfirm(self, face_ids: Iterable[int]) -> None:
        """Faces no longer confirmed (back to unknown, ignored, deleted, their person deleted)."""
        gone, touched = [], set()
        for f in face_ids:
            p = self.labels.pop(int(f), None)
            if p is not None:
                gone.append(int(f))
                touched.add(p)
                self.members[p].discard(int(f))
        self.index.remove(gone)
        self._restat(touched)

    def relabel(self, face_ids: Iterable[int], person_id: int) -> None:
        """Faces keep their vectors but belong to another person (merge, move)."""
        ids = [int(f) for f in face_ids if int(f) in self.labels]
        if ids:
            self.confirm(ids, self.index.vectors(ids), [person_id] * len(ids))

    # --- suggestions ----------------------------------------------------------------------------
    def suggest(
        self,
        face_ids: Sequence[int],
        vectors: np.ndarray,
        rejected: Mapping[int, Collection[int]] = NO_REJECTIONS,
    ) -> list[Suggestion]:
        """One suggestion per face; `rejected` maps face id -> persons it must never get.

        Person ids are non-negative integers (-1 marks "no person" internally).
        """
        if len(face_ids) == 0:
            return []
        nn_ids, nn_dist = self.index.query(vectors, self.settings.fetch)
        persons = self._persons_of(nn_ids).tolist()
        ids, dists = nn_ids.tolist(), nn_dist.tolist()
        out = []
        for row, face in enumerate(face_ids):
            face = int(face)
            banned = rejected.get(face, ())
            neighbours = tuple(
                (p, d)
                for p, d, i in zip(persons[row], dists[row], ids[row], strict=True)
                if p >= 0 and i != face and p not in banned
            )
            out.append(self.judge(face, neighbours))
        return out

    def _persons_of(self, face_ids: np.ndarray) -> np.ndarray:
        """Person of each confirmed face id (-1 for padding or a face no longer confirmed)."""
        if self._lookup is None:
            keys = np.fromiter(self.labels.keys(), np.int64, len(self.labels))
            vals = np.fromiter(self.labels.values(), np.int64, len(self.labels))
            order = np.argsort(keys)
            self._lookup = (keys[order], vals[order])
        keys, vals = self._lookup
        if len(keys) == 0:
            return np.full(face_ids.shape, -1, np.int64)
        pos = np.minimum(np.searchsorted(keys, face_ids), len(keys) - 1)
        return np.where(keys[pos] == face_ids, vals[pos], -1)

    def judge(
        self,
        face_id: int,
        neighbours: tuple[tuple[int, float], ...],
        excluded: Collection[int] = (),
        person: int | None = None,
    ) -> Suggestion:
        """Decide from (person, distance) neighbours; `person` forces the candidate (assignment)."""
        s = self.settings
        nbrs = tuple(n for n in neighbours if n[0] not in excluded) if excluded else neighbours
        top = nbrs[: s.k]
        nearest: dict[int, float] = {}
        miss: dict[int, float] = {}  # person -> probability that none of their k-NN matches
        for p, d in top:
            nearest.setdefault(p, d)
            w = 1.0 if p not in miss else tuning.MATCH_AGREE_WEIGHT
            miss[p] = miss.get(p, 1.0) * (1.0 - s.p_same(d)) ** w
        if person is None:
            if not miss:
                return Suggestion(face_id, None, None, 0.0, None, None, neighbours)
            person = min(miss, key=lambda p: (miss[p], nearest[p]))
        dist = nearest.get(person)
        if dist is None:
            dist = next((d for p, d in nbrs if p == person), math.inf)
        conflict = next(((p, d) for p, d in nbrs if p != person), None)
        # The candidate is judged with its (possibly stricter) look-alike centre, rivals with the
        # plain one, so look-alikes never make a rival look less likely.
        centre = self._centre(person)
        own = [d for p, d in top if p == person] or ([dist] if dist < math.inf else [])
        weights = [1.0] + [tuning.MATCH_AGREE_WEIGHT] * (len(own) - 1)
        own_miss = math.prod((1.0 - s.p_same(d, centre)) ** w for d, w in zip(own, weights, strict=True))
        odds = _odds(own_miss) if own else 0.0
        rivals = sum(_odds(m) for p, m in miss.items() if p != person)
        if conflict is not None and conflict[0] not in miss:
            rivals += _odds(1.0 - s.p_same(conflict[1]))
        confidence = odds / (1.0 + odds + rivals)  # equal priors: best vs any rival vs nobody
        margin = conflict[1] - dist if conflict is not None else None
        stats = self.stats.get(person)
        lookalike = stats.nearest_person if stats is not None and stats.gap < s.threshold else None
        explanation = Explanation(
            distance=dist,
            agreeing=sum(1 for p, _ in top if p == person),
            k=len(top),
            margin=margin,
            conflict_person=conflict[0] if conflict else None,
            conflict_distance=conflict[1] if conflict else None,
            lookalike_person=lookalike,
            centre=centre,
        )
        band = None
        if dist <= s.threshold and (margin is None or margin >= s.min_margin):
            if confidence >= s.likely:
                band = MatchBand.LIKELY
            elif confidence >= s.maybe:
                band = MatchBand.MAYBE
        return Suggestion(face_id, person if band else None, band, confidence, person, explanation, neighbours)

    # --- person statistics ----------------------------------------------------------------------
    def _centre(self, person: int) -> float:
        stats = self.stats.get(person)
        return min(self.settings.threshold, stats.gap) if stats is not None else self.settings.threshold

    def _restat(self, persons: set[int]) -> None:
        """Recompute spread and look-alike gap of `persons` and of those whose gap they set.

        One batched query for all their faces (a start-up with 100k confirmed faces is one
        parallel Annoy pass, not one call per person).
        """
        self._lookup = None  # every change of labels ends here
        persons = persons | {q for q, st in self.stats.items() if st.nearest_person in persons}
        for p in [p for p in persons if not self.members.get(p)]:
            self.members.pop(p, None)
            self.stats.pop(p, None)
        alive = sorted(p for p in persons if self.members.get(p))
        if not alive:
            return
        groups = [sorted(self.members[p]) for p in alive]
        sizes = np.array([len(g) for g in groups])
        owner = np.repeat(np.array(alive, np.int64), sizes)
        vecs = self.index.vectors([f for g in groups for f in g])
        ids, dist = self.index.query(vecs, tuning.MATCH_LOOKALIKE_NEIGHBOURS)
        nbr = self._persons_of(ids)
        other = np.where((nbr >= 0) & (nbr != owner[:, None]), dist, np.inf)
        best = other.argmin(axis=1)
        row_gap = other[np.arange(len(other)), best]
        row_rival = nbr[np.arange(len(nbr)), best]
        start = 0
        for p, n in zip(alive, sizes.tolist(), strict=True):
            sl = slice(start, start + n)
            start += n
            centroid = vecs[sl].mean(axis=0)
            spread = float(np.median(np.linalg.norm(vecs[sl] - centroid, axis=1)))
            r = int(np.argmin(row_gap[sl]))
            gap = float(row_gap[sl][r])
            rival = int(row_rival[sl][r]) if math.isfinite(gap) else None
            self.stats[p] = PersonStats(p, n, spread, rival, gap)
        for p in alive:  # k-NN is not symmetric: the rival keeps the pair's smaller gap
            st = self.stats[p]
            mate = self.stats.get(st.nearest_person) if st.nearest_person is not None else None
            if mate is not None and st.gap < mate.gap:
                self.stats[mate.person_id] = PersonStats(mate.person_id, mate.count, mate.spread, p, st.gap)


def _odds(miss: float) -> float:
    """Odds that a person matches, from the probability that none of their neighbours does."""
    miss = min(max(miss, 1e-12), 1.0)
    return (1.0 - miss) / miss
