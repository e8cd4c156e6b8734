""""Sure": the one level the product acts on alone, decided only on evidence a person gave.

Why a rule apart from the confidence: the confidence weighs every confirmed face, the product's
own automatic names included, and it was calibrated with one stranger at a time. In a real
library most people are unnamed (guests, classmates, strangers in the background), and a
look-alike of a named person among them got 99.7 % (issue 26). So "sure" asks for four things,
each measured on the open-set evaluation (scripts/evaluate --open-set; thresholds and their
figures in tuning.SURE_*):

1. close: the face lies within SURE_DISTANCE of a face a person confirmed as this person;
2. corroborated: at least SURE_SUPPORT distinct such faces (near-duplicates count once) lie
   within SURE_SUPPORT_DISTANCE;
3. alone: no other person's confirmed face comes within SURE_RIVAL_MARGIN of that distance;
4. not one of an unnamed group: no unnamed face of another photo (near-duplicates aside) is
   nearer to it than the person's nearest evidence while being far from the person itself -
   the sign of an unnamed look-alike whose own faces cluster apart.

Evidence is only what a person confirmed (named, taught, accepted by hand, imported): faces the
product named by itself (Face.auto_batch) never count, so one mistake cannot breed more.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from tagmyphotos import tuning
from tagmyphotos.matching.index import NeighbourIndex
from tagmyphotos.matching.knn import exact_knn
from tagmyphotos.matching.match import Matcher, MatchSettings, Suggestion
from tagmyphotos.states import Certainty, MatchBand


@dataclass(frozen=True)
class SureRule:
    """The thresholds of "sure" for one model (Dlib's calibration, scaled like MatchSettings)."""

    distance: float
    support: int
    support_distance: float
    rival_margin: float
    duplicate: float
    unnamed_k: int = tuning.SURE_UNNAMED_NEIGHBOURS

    @classmethod
    def for_settings(cls, settings: MatchSettings) -> SureRule:
        ratio = settings.threshold / tuning.SURE_REFERENCE_THRESHOLD
        return cls(
            distance=tuning.SURE_DISTANCE * ratio,
            support=tuning.SURE_SUPPORT,
            support_distance=tuning.SURE_SUPPORT_DISTANCE * ratio,
            rival_margin=tuning.SURE_RIVAL_MARGIN * ratio,
            duplicate=tuning.SURE_DUPLICATE_DISTANCE * ratio,
        )


@dataclass(frozen=True)
class Evidence:
    """What a suggestion's "sure" rests on (shown with the suggestion's explanation)."""

    distance: float  # to the nearest face a person confirmed as the suggested person
    support: int  # distinct such faces within the rule's support distance (counted up to the rule's need)
    rival_margin: float  # nearest other person's confirmed face minus `distance` (inf: none)
    unnamed: float  # an unnamed face nearer than the evidence and far from the person (inf: none)

    def meets(self, rule: SureRule) -> bool:
        return (
            self.distance <= rule.distance
            and self.support >= rule.support
            and self.rival_margin >= rule.rival_margin
            and math.isinf(self.unnamed)
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "sure_distance": round(self.distance, 4) if math.isfinite(self.distance) else None,
            "sure_support": self.support,
            "sure_rival_margin": round(self.rival_margin, 4) if math.isfinite(self.rival_margin) else None,
            "sure_unnamed": round(self.unnamed, 4) if math.isfinite(self.unnamed) else None,
        }


@dataclass(frozen=True)
class Unnamed:
    """The library's faces without a confirmed name (unknown or suggested), per model."""

    ids: np.ndarray  # int64 face ids
    vectors: np.ndarray  # float32, in the matcher's metric space
    photos: dict[int, int]  # face id -> photo id
    index: NeighbourIndex | None = None  # over the same faces (large libraries); None: exact search


def certainty(s: Suggestion, sure: bool) -> Certainty | None:
    """The level the user sees: "sure" (the rule above), "likely" (the rest of the likely
    band), "check" (the maybe band); None for a face without a suggestion."""
    if s.band is None or s.person_id is None:
        return None
    if s.band == MatchBand.LIKELY:
        return Certainty.SURE if sure else Certainty.LIKELY
    return Certainty.CHECK


def gather(
    matcher: Matcher,
    suggestions: Sequence[Suggestion],
    vectors: np.ndarray,
    photo_of: dict[int, int],
    unnamed: Unnamed,
    untrusted: Collection[int],
    rule: SureRule,
) -> list[Evidence | None]:
    """Evidence per suggestion (same order); None where "sure" is out of reach anyway (no
    likely band, or no face a person confirmed as the suggested person).

    Per person, one block of distances from their suggested faces to their trusted faces (a
    person with thousands of confirmed faces costs one matrix product, not one per face)."""
    out: list[Evidence | None] = [None] * len(suggestions)
    rows_of: dict[int, list[int]] = {}
    for row, s in enumerate(suggestions):
        if s.band == MatchBand.LIKELY and s.person_id is not None:
            rows_of.setdefault(s.person_id, []).append(row)
    space = _space(matcher, vectors)
    pending: list[tuple[int, np.ndarray]] = []  # (row, the person's trusted vectors)
    for person, rows in rows_of.items():
        trusted = [f for f in sorted(matcher.members.get(person, ())) if f not in untrusted]
        if not trusted:
            continue
        tv = _space(matcher, matcher.index.vectors(trusted))
        for row, dist in zip(rows, _distances(space[rows], tv), strict=True):
            nearest = float(dist.min())
            if nearest > rule.distance:
                out[row] = Evidence(nearest, 0, math.inf, math.inf)
                continue
            explanation = suggestions[row].explanation
            rival = explanation.conflict_distance if explanation is not None else None
            margin = math.inf if rival is None else float(rival) - nearest
            out[row] = Evidence(nearest, _support(tv, dist, rule), margin, math.inf)
            pending.append((row, tv))
    if pending and len(unnamed.ids):
        _check_unnamed(out, pending, space, suggestions, photo_of, unnamed, rule)
    return out


def _distances(q: np.ndarray, base: np.ndarray) -> list[np.ndarray]:
    """Euclidean distances of each query row to every base row, in blocks of bounded size."""
    b_sq = np.einsum("ij,ij->i", base, base)
    step = max(1, tuning.INDEX_EXACT_CHUNK_CELLS // max(1, len(base)))
    out: list[np.ndarray] = []
    for lo in range(0, len(q), step):
        qc = q[lo : lo + step]
        d2 = b_sq[None, :] - 2.0 * (qc @ base.T) + np.einsum("ij,ij->i", qc, qc)[:, None]
        out.extend(np.sqrt(np.maximum(d2, 0.0)))
    return out


def _support(evidence: np.ndarray, dist: np.ndarray, rule: SureRule) -> int:
    """Confirmed faces within the support distance, near-duplicates of a counted one skipped;
    counted up to what the rule asks for (a person with 5,000 faces needs no 5,000 checks)."""
    counted: list[np.ndarray] = []
    near = np.flatnonzero(dist <= rule.support_distance)
    for i in near[np.argsort(dist[near])]:
        if all(float(np.linalg.norm(evidence[i] - c)) >= rule.duplicate for c in counted):
            counted.append(evidence[i])
            if len(counted) >= rule.support:
                break
    return len(counted)


def _check_unnamed(
    out: list[Evidence | None],
    pending: list[tuple[int, np.ndarray]],
    space: np.ndarray,
    suggestions: Sequence[Suggestion],
    photo_of: dict[int, int],
    unnamed: Unnamed,
    rule: SureRule,
) -> None:
    """Rule 4, in one k-NN pass over the unnamed faces for all pending suggestions (their
    Annoy index when the caller built one: a large library, a full refresh)."""
    q = space[[row for row, _ in pending]]
    if unnamed.index is not None:
        ids, dist = unnamed.index.query(q, rule.unnamed_k)
    else:
        ids, dist = exact_knn(q, unnamed.vectors, unnamed.ids, rule.unnamed_k)
    position = {int(f): i for i, f in enumerate(unnamed.ids.tolist())}
    for (row, tv), nids, nd in zip(pending, ids.tolist(), dist.tolist(), strict=True):
        ev = out[row]
        assert ev is not None
        face = suggestions[row].face_id
        photo = photo_of.get(face)
        for other, d in zip(nids, nd, strict=True):
            if other < 0 or d >= ev.distance:
                break
            if other == face or d < rule.duplicate or unnamed.photos.get(other) == photo or other not in position:
                continue
            u = unnamed.vectors[position[other]]
            if float(np.linalg.norm(tv - u, axis=1).min()) > rule.support_distance:
                out[row] = Evidence(ev.distance, ev.support, ev.rival_margin, float(d))
                break


def _space(matcher: Matcher, vecs: np.ndarray) -> np.ndarray:
    """Angular models compare unit vectors (as the index does)."""
    vecs = np.asarray(vecs, np.float32)
    if matcher.settings.metric == "angular":
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    return vecs
