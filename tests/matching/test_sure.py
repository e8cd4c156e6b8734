"""The "sure" rule (matching/sure.py) on vectors with exact distances: each of its four
conditions alone keeps a face from being "sure", and faces the product named itself are no
evidence. The calibrated figures are in tests/matching/test_certainty_levels.py."""

from __future__ import annotations

import numpy as np

from tagmyphotos.matching.match import Matcher, MatchSettings
from tagmyphotos.matching.sure import SureRule, Unnamed, certainty, gather
from tests.support.vectors import DIM, A, B, v

DLIB = MatchSettings.for_model("Dlib")
RULE = SureRule.for_settings(DLIB)


def matcher(faces: dict[int, tuple[int, np.ndarray]]) -> Matcher:
    m = Matcher.in_memory(DLIB, DIM)
    ids = sorted(faces)
    m.set_confirmed(ids, np.stack([faces[i][1] for i in ids]), [faces[i][0] for i in ids])
    return m


def level(
    m: Matcher, face: np.ndarray, untrusted: frozenset[int] = frozenset(), unnamed: dict[int, np.ndarray] | None = None
) -> str | None:
    others = unnamed or {}
    ids = [100, *others]
    vecs = np.stack([face, *others.values()])
    photos = {i: i for i in ids}
    sugg = m.suggest([100], vecs[:1])
    ev = gather(m, sugg, vecs[:1], photos, Unnamed(np.asarray(ids, np.int64), vecs, photos), untrusted, RULE)
    return certainty(sugg[0], ev[0] is not None and ev[0].meets(RULE))


def test_a_face_close_to_two_confirmed_photos_is_sure() -> None:
    m = matcher({1: (A, v(x0=1.0)), 2: (A, v(x0=1.0, x1=0.2))})
    assert level(m, v(x0=1.0, x2=0.3)) == "sure"


def test_one_confirmed_photo_is_not_enough() -> None:
    m = matcher({1: (A, v(x0=1.0))})
    assert level(m, v(x0=1.0, x2=0.3)) == "likely"


def test_a_near_duplicate_counts_once() -> None:
    m = matcher({1: (A, v(x0=1.0)), 2: (A, v(x0=1.0, x1=0.05))})  # one photo, twice
    assert level(m, v(x0=1.0, x2=0.3)) == "likely"


def test_farther_than_the_sure_distance_is_likely_at_most() -> None:
    m = matcher({1: (A, v(x0=1.0)), 2: (A, v(x0=1.0, x1=0.2))})
    assert level(m, v(x0=1.0, x2=0.45)) == "likely"  # 0.45 > SURE_DISTANCE, still within likely


def test_another_person_close_by_is_a_lookalike() -> None:
    m = matcher({1: (A, v(x0=1.0)), 2: (A, v(x0=1.0, x1=0.2)), 3: (B, v(x0=1.0, x2=0.72))})
    face = v(x0=1.0, x2=0.3)  # 0.30 from A, 0.42 from B: margin 0.12
    assert level(m, face) == "sure"
    m2 = matcher({1: (A, v(x0=1.0)), 2: (A, v(x0=1.0, x1=0.2)), 3: (B, v(x0=1.0, x2=0.68))})
    assert level(m2, face) != "sure"  # B 0.38 away: margin 0.08 < SURE_RIVAL_MARGIN


def test_faces_the_product_named_are_no_evidence() -> None:
    m = matcher({1: (A, v(x0=1.0)), 2: (A, v(x0=1.0, x1=0.2))})
    assert level(m, v(x0=1.0, x2=0.3), untrusted=frozenset({2})) == "likely"


def test_an_unnamed_group_nearer_than_the_evidence_is_not_sure() -> None:
    """A stranger's own other photo lies nearer than the named person's faces, and far from them."""
    m = matcher({1: (A, v(x0=1.0)), 2: (A, v(x0=1.0, x1=0.2))})
    face = v(x0=1.0, x2=0.4)
    stranger_too = v(x0=1.0, x2=0.4, x3=0.25, x4=-0.3)  # 0.39 from the face, > 0.5 from A's faces
    assert np.linalg.norm(stranger_too - face) < 0.4
    assert min(np.linalg.norm(stranger_too - v(x0=1.0)), np.linalg.norm(stranger_too - v(x0=1.0, x1=0.2))) > 0.5
    assert level(m, face, unnamed={200: stranger_too}) == "likely"
    # the person's own unnamed photo nearby changes nothing
    assert level(m, face, unnamed={201: v(x0=1.0, x2=0.2)}) == "sure"
