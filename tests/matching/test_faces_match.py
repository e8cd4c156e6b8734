"""Matcher: k-NN vote, bands, margins, rejection memory, look-alikes, the learning loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tagmyphotos import tuning
from tagmyphotos.matching.index import IndexSpec, NeighbourIndex
from tagmyphotos.matching.match import Matcher, MatchSettings
from tagmyphotos.states import MatchBand
from tests.support.vectors import DIM, A, B, C, v

DLIB = MatchSettings.for_model("Dlib")



def matcher(faces: dict[int, tuple[int, np.ndarray]], settings: MatchSettings = DLIB) -> Matcher:
    m = Matcher.in_memory(settings, DIM)
    ids = sorted(faces)
    m.set_confirmed(ids, np.stack([faces[i][1] for i in ids]), [faces[i][0] for i in ids])
    return m


def one(m: Matcher, vec: np.ndarray, face_id: int = 999, rejected: dict[int, set[int]] | None = None):
    return m.suggest([face_id], vec[None, :], rejected or {})[0]


def two_people() -> Matcher:
    return matcher({1: (A, v()), 2: (A, v(x1=0.3)), 3: (B, v(x2=1.2)), 4: (B, v(x2=1.2, x3=0.3))})


def test_a_close_face_is_likely_with_an_explanation() -> None:
    s = one(two_people(), v(x4=0.35))
    assert (s.person_id, s.band, s.candidate_id) == (A, MatchBand.LIKELY, A)
    e = s.explanation
    assert e is not None
    assert e.distance == pytest.approx(0.35, abs=1e-5)
    assert (e.agreeing, e.k) == (2, 4)  # both of A's faces among the 4 confirmed neighbours
    assert e.conflict_person == B and e.conflict_distance == pytest.approx(np.hypot(0.35, 1.2), abs=1e-5)
    assert e.margin == pytest.approx(e.conflict_distance - 0.35, abs=1e-5)
    assert e.lookalike_person is None and e.centre == DLIB.threshold
    assert 0.8 <= s.confidence <= 1.0
    assert set(e.as_dict()) >= {"distance", "agreeing", "k", "margin", "conflict_person", "centre"}


def test_bands_follow_distance_and_beyond_the_threshold_stays_unknown() -> None:
    m = two_people()
    near, mid, far = (one(m, v(x4=d)) for d in (0.35, 0.575, 0.65))
    assert near.band == MatchBand.LIKELY
    assert mid.band == MatchBand.MAYBE and mid.person_id == A and mid.confidence < near.confidence
    assert far.band is None and far.person_id is None and far.candidate_id == A  # 0.65 > 0.6
    assert far.explanation is not None and far.explanation.distance > DLIB.threshold


def test_without_a_clear_margin_a_face_stays_unknown() -> None:
    m = matcher({1: (A, v(x0=0.2)), 2: (B, v(x0=-0.2))})
    s = one(m, v(x1=0.3))  # equidistant from A and B
    assert s.band is None and s.person_id is None
    assert s.explanation is not None and s.explanation.margin == pytest.approx(0.0, abs=1e-6)
    slightly = one(m, v(x0=0.01, x1=0.3))  # margin 0.013 < the model's 0.04
    assert slightly.band is None


def test_a_face_is_never_suggested_for_a_person_it_was_rejected_for() -> None:
    m = matcher({1: (A, v()), 2: (B, v(x0=0.5))})
    face = v(x0=0.1, x1=0.2)  # 0.22 from A, 0.45 from B
    assert one(m, face).person_id == A
    s = one(m, face, rejected={999: {A}})
    assert s.person_id != A and s.candidate_id == B  # B is the only one left
    e = s.explanation
    assert e is not None and e.conflict_person is None  # the rejected person does not compete
    assert one(m, face, rejected={999: {A, B}}).candidate_id is None
    assert one(m, face, face_id=5, rejected={999: {A}}).person_id == A  # memory is per face


def test_a_confirmation_changes_the_next_suggestion_at_once(tmp_path: Path) -> None:
    """With a built Annoy index: the new confirmation is not in it, yet counts for the next query."""
    rng = np.random.default_rng(0)
    index = NeighbourIndex(tmp_path / "idx", IndexSpec("Dlib/test/v1", DIM), exact_below=100)
    m = Matcher(index, DLIB)
    crowd = (rng.standard_normal((600, DIM)) * 0.2 + 3.0).astype(np.float32)  # 600 faces far away
    m.set_confirmed(list(range(600)), crowd, [10 + i % 30 for i in range(600)])
    assert index.meta is not None and not index.stale  # set_confirmed built it (600 >= 100)
    probe = v(x5=0.1)
    assert one(m, probe).person_id is None

    m.confirm([1000], v(x5=0.1, x6=0.3)[None, :], [A])
    assert index.stale
    s = one(m, probe)
    assert (s.person_id, s.band) == (A, MatchBand.LIKELY)

    m.relabel([1000], B)  # moved to another person (merge, correction)
    assert one(m, probe).person_id == B and m.stats[B].count == 1 and A not in m.stats
    m.unconfirm([1000])
    assert one(m, probe).person_id is None and B not in m.stats and 1000 not in m.labels


def test_agreeing_neighbours_raise_confidence() -> None:
    lone = matcher({1: (A, v(x0=0.56)), 9: (B, v(x9=2.0))})
    crowd = {1: (A, v(x0=0.56)), 2: (A, v(x0=0.56, x1=0.05)), 3: (A, v(x0=0.56, x2=0.05)), 9: (B, v(x9=2.0))}
    many = matcher(crowd)
    s1, s3 = one(lone, v()), one(many, v())
    assert s3.explanation is not None and s3.explanation.agreeing == 3
    assert s3.confidence > s1.confidence
    assert s1.band == MatchBand.MAYBE and s3.band == MatchBand.LIKELY


def test_look_alike_people_get_a_stricter_centre() -> None:
    apart = {1: (A, v()), 2: (A, v(x1=0.3)), 3: (B, v(x2=0.9))}
    close = {**apart, 3: (B, v(x2=0.5))}  # B's face is 0.5 from A's: closer than the threshold 0.6
    m_apart, m_close = matcher(apart), matcher(close)
    assert m_close.stats[A].nearest_person == B and m_close.stats[A].gap == pytest.approx(0.5, abs=1e-5)
    assert m_close.stats[B].nearest_person == A
    face = v(x3=0.5)  # 0.5 from A's first face; 0.71 from B's face in both worlds
    s_apart, s_close = one(m_apart, face), one(m_close, face)
    assert s_apart.band == MatchBand.LIKELY
    assert s_close.band != MatchBand.LIKELY and s_close.confidence < s_apart.confidence
    e = s_close.explanation
    assert e is not None and e.lookalike_person == B and e.centre == pytest.approx(0.5, abs=1e-5)
    assert one(m_close, v(x3=0.2)).band == MatchBand.LIKELY  # clearly closer than the two are to each other


def test_person_statistics_follow_confirmations() -> None:
    m = two_people()
    assert m.stats[A].count == 2 and m.stats[A].spread == pytest.approx(0.15, abs=1e-5)
    assert m.stats[A].nearest_person == B and m.stats[A].gap == pytest.approx(1.2, abs=1e-5)
    m.confirm([50], v(x2=1.2, x7=0.1)[None, :], [C])
    assert m.stats[C].gap == pytest.approx(0.1, abs=1e-5) and m.stats[B].nearest_person == C
    m.unconfirm([50])
    assert C not in m.stats and m.stats[B].nearest_person == A


def test_settings_per_model_and_overrides() -> None:
    assert (DLIB.metric, DLIB.threshold, DLIB.k) == ("euclidean", 0.60, tuning.MATCH_K)
    strict = MatchSettings.for_model("Dlib", threshold=0.5, likely=0.9, maybe=0.6, k=5)
    assert strict.threshold == 0.5 and strict.scale == pytest.approx(DLIB.scale * 0.5 / 0.6)
    assert (strict.likely, strict.maybe, strict.k, strict.fetch) == (
        0.9,
        0.6,
        5,
        5 + tuning.MATCH_FETCH_EXTRA,
    )
    assert MatchSettings.for_model("ArcFace").metric == "angular"
    with pytest.raises(ValueError):
        MatchSettings.for_model("NoSuchModel")
    with pytest.raises(ValueError):  # an angular model on a euclidean index
        Matcher(NeighbourIndex(None, IndexSpec("x", DIM, "euclidean")), MatchSettings.for_model("ArcFace"))
    assert DLIB.p_same(0.6) == pytest.approx(0.5) and DLIB.p_same(0.3) > 0.99 and DLIB.p_same(0.9) < 0.01


def test_an_empty_matcher_suggests_nothing() -> None:
    m = Matcher.in_memory(DLIB, DIM)
    assert m.suggest([], np.zeros((0, DIM), np.float32)) == []
    s = one(m, v())
    assert s.person_id is None and s.candidate_id is None and s.confidence == 0.0
