"""The review page's certainty words (sure, likely, check) on the real testdata vectors: each
level is wrong more often than the one above it, "sure" holds no wrong name, and the recorded
threshold is the one the calibration rule picks (scripts/evaluate_certainty.py)."""

from __future__ import annotations

import sys

import pytest

from tests.support.base import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from evaluate_certainty import (
    LEVEL_SEEDS,
    SURE_MAX_WRONG_PER_100,
    Judged,
    choose_sure,
    judged,
    levels,
)
from match_data import load_testdata_faces

from tagmyphotos import tuning
from tagmyphotos.matching.match import CERTAINTY_LEVELS, MatchSettings, certainty


@pytest.fixture(scope="module")
def suggestions() -> list[Judged]:
    faces = load_testdata_faces()  # the product's own analysis, cached in .cache/
    settings = MatchSettings.for_model(faces.embedding_id.split("/", 1)[0])
    return judged(faces, 2, LEVEL_SEEDS, settings)


def test_each_level_is_wrong_more_often_than_the_one_above(suggestions: list[Judged]) -> None:
    table = levels(suggestions, tuning.MATCH_SURE_CONFIDENCE)
    assert [lv.level for lv in table] == list(CERTAINTY_LEVELS)
    sure, likely, check = table
    assert all(lv.n > 0 for lv in table), table
    assert sum(lv.n for lv in table) == len(suggestions)
    assert sure.wrong == 0 and sure.upper_per_100 < SURE_MAX_WRONG_PER_100, sure
    assert sure.wrong_per_100 < likely.wrong_per_100 < check.wrong_per_100, table
    assert sure.share > 0.5, "most suggestions should need no second look"
    # the levels are what the review page shows: the same function rates every suggestion
    assert {certainty(j.confidence, j.band) for j in suggestions} == set(CERTAINTY_LEVELS)


def test_the_recorded_threshold_is_the_rules_pick(suggestions: list[Judged]) -> None:
    picked = choose_sure(suggestions)
    assert picked == tuning.MATCH_SURE_CONFIDENCE, (
        f"the calibration rule now picks {picked}: rerun scripts/evaluate on both engines and "
        "recalibrate tuning.MATCH_SURE_CONFIDENCE"
    )
