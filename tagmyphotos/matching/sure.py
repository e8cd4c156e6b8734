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
from tagmyphotos.matching.index import exact_knn
from tagmyphotos.matching.match import BAND_LIKELY, Matcher, MatchSettings, Suggestion

SURE, LIKELY, CHECK = "sure", "likely", "check"
CERTAINTY_LEVELS = (SURE, LIKELY, CHECK)


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
    support: int  # distinct such faces within the rule's support distance
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


def certainty(s: Suggestion, sure: bool) -> str | None:
    """The level the user sees: "sure" (the rule above), "likely" (the rest of the likely
    band), "check" (the maybe band); None for a face without a suggestion."""
    if s.band is None or s.person_id is None:
        return None
    if s.band == BAND_LIKELY:
        return SURE if sure else LIKELY
    return CHECK


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
    likely band, or the face is not close to any face a person confirmed)."""
    out: list[Evidence | None] = []
    pending: list[tuple[int, np.ndarray, np.ndarray]] = []  # (row, face vector, person's evidence)
    evidence: dict[int, np.ndarray] = {}  # person -> their trusted faces' vectors (once per call)
    for row, s in enumerate(suggestions):
        out.append(None)
        if s.band != BAND_LIKELY or s.person_id is None:
            continue
        if s.person_id not in evidence:
            trusted = [f for f in sorted(matcher.members.get(s.person_id, ())) if f not in untrusted]
            evidence[s.person_id] = _space(matcher, matcher.index.vectors(trusted)) if trusted else np.zeros((0, 0))
        tv = evidence[s.person_id]
        if len(tv) == 0:
            continue
        v = _space(matcher, vectors[row : row + 1])[0]
        dist = np.linalg.norm(tv - v, axis=1)
        nearest = float(dist.min())
        if nearest > rule.distance:
            out[row] = Evidence(nearest, 0, math.inf, math.inf)
            continue
        rival = s.explanation.conflict_distance if s.explanation is not None else None
        margin = math.inf if rival is None else float(rival) - nearest
        out[row] = Evidence(nearest, _support(tv, dist, rule), margin, math.inf)
        pending.append((row, v, tv))
    if pending and len(unnamed.ids):
        _check_unnamed(out, pending, suggestions, photo_of, unnamed, rule)
    return out


def _support(evidence: np.ndarray, dist: np.ndarray, rule: SureRule) -> int:
    """Confirmed faces within the support distance, near-duplicates of a counted one skipped."""
    counted: list[np.ndarray] = []
    for i in np.argsort(dist):
        if dist[i] > rule.support_distance:
            break
        if all(float(np.linalg.norm(evidence[i] - c)) >= rule.duplicate for c in counted):
            counted.append(evidence[i])
    return len(counted)


def _check_unnamed(
    out: list[Evidence | None],
    pending: list[tuple[int, np.ndarray, np.ndarray]],
    suggestions: Sequence[Suggestion],
    photo_of: dict[int, int],
    unnamed: Unnamed,
    rule: SureRule,
) -> None:
    """Rule 4, in one exact k-NN pass over the unnamed faces for all pending suggestions."""
    q = np.stack([v for _, v, _ in pending]).astype(np.float32)
    ids, dist = exact_knn(q, unnamed.vectors, unnamed.ids, rule.unnamed_k)
    position = {int(f): i for i, f in enumerate(unnamed.ids.tolist())}
    for (row, _, tv), nids, nd in zip(pending, ids.tolist(), dist.tolist(), strict=True):
        ev = out[row]
        assert ev is not None
        face = suggestions[row].face_id
        photo = photo_of.get(face)
        for other, d in zip(nids, nd, strict=True):
            if other < 0 or d >= ev.distance:
                break
            if other == face or d < rule.duplicate or unnamed.photos.get(other) == photo:
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
