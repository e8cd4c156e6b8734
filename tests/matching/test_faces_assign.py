"""One person at most once per photo (scipy linear_sum_assignment), runner-ups re-judged."""

from __future__ import annotations

import numpy as np
import pytest

from tagmyphotos.matching.assign import assign_per_photo
from tagmyphotos.matching.match import Matcher, MatchSettings
from tagmyphotos.states import MatchBand
from tests.support.vectors import DIM, A, B, C, v

DLIB = MatchSettings.for_model("Dlib")


def _matcher() -> Matcher:
    m = Matcher.in_memory(DLIB, DIM)
    faces = {1: (A, v()), 2: (B, v(x1=0.6)), 3: (C, v(x9=3.0))}
    m.set_confirmed(list(faces), np.stack([f[1] for f in faces.values()]), [f[0] for f in faces.values()])
    return m


def test_two_faces_wanting_one_person_get_the_best_split() -> None:
    m = _matcher()
    # Face 10 is 0.05 from A; face 11 is 0.34 from A and 0.54 from B: both want A.
    raw = m.suggest([10, 11], np.stack([v(x0=0.05), v(x1=0.15, x2=0.3)]))
    assert [(s.person_id, s.band) for s in raw] == [(A, MatchBand.LIKELY), (A, MatchBand.LIKELY)]
    out = assign_per_photo(raw, {10: 7, 11: 7}, m)
    assert (out[0].person_id, out[0].band) == (A, MatchBand.LIKELY)  # the clearly closer face keeps A
    assert out[1].person_id == B and out[1].band is not None  # the runner-up gets its next best
    e = out[1].explanation
    assert e is not None and e.conflict_person == C  # A is taken in this photo: not a rival
    assert e.distance == pytest.approx(np.hypot(0.45, 0.3), abs=1e-5)


def test_a_runner_up_without_another_candidate_stays_unknown() -> None:
    m = _matcher()
    raw = m.suggest([20, 21], np.stack([v(x5=0.1), v(x6=0.15)]))  # both only near A (B is 0.46+ away)
    assert [s.candidate_id for s in raw] == [A, A]
    out = assign_per_photo(raw, {20: 1, 21: 1}, m)
    assert out[0].person_id == A and out[0].band == MatchBand.LIKELY
    assert out[1].person_id is None and out[1].band is None


def test_faces_of_different_photos_do_not_compete() -> None:
    m = _matcher()
    raw = m.suggest([30, 31], np.stack([v(x5=0.1), v(x6=0.15)]))
    out = assign_per_photo(raw, {30: 1, 31: 2}, m)
    assert [s.person_id for s in out] == [A, A]
    assert out == raw  # untouched


def test_a_person_confirmed_on_another_face_of_the_photo_is_taken() -> None:
    m = _matcher()
    raw = m.suggest([40], v(x5=0.1)[None, :])
    assert raw[0].person_id == A
    out = assign_per_photo(raw, {40: 3}, m, taken={3: {A}})
    assert out[0].person_id != A  # A is already confirmed on another face of photo 3
    out_elsewhere = assign_per_photo(raw, {40: 4}, m, taken={3: {A}})
    assert out_elsewhere[0].person_id == A
