"""The review page's certainty words (sure, likely, check) on the real testdata vectors.

Where most people are unnamed (scripts/evaluate --open-set, the calibration of tuning.SURE_*),
"sure" - what the product names by itself - holds no wrong name and still covers most right
names, and faces it named by itself never make another face "sure". With one stranger at a time
(tagmyphotos_lab/evaluate/certainty.py) each level is wrong more often than the one above it."""

from __future__ import annotations

import pytest

from tagmyphotos.matching.match import MatchSettings
from tagmyphotos.matching.sure import SureRule
from tagmyphotos.states import Certainty
from tagmyphotos_lab.evaluate import open_set
from tagmyphotos_lab.evaluate.certainty import SURE_MAX_WRONG_PER_100, Judged, judged, levels
from tagmyphotos_lab.match_data import load_testdata_faces

DLIB = MatchSettings.for_model("Dlib")


@pytest.fixture(scope="module")
def closed_set() -> list[Judged]:
    faces = load_testdata_faces()  # the product's own analysis, cached in .cache/
    return judged(faces, 2, 10, MatchSettings.for_model(faces.embedding_id.split("/", 1)[0]))


def test_each_level_is_wrong_more_often_than_the_one_above(closed_set: list[Judged]) -> None:
    table = levels(closed_set)
    assert [lv.level for lv in table] == list(Certainty)
    sure, likely, check = table
    assert all(lv.n > 0 for lv in table), table
    assert sum(lv.n for lv in table) == len(closed_set)
    assert sure.wrong == 0 and sure.upper_per_100 < 1.0, sure
    assert sure.wrong_per_100 < likely.wrong_per_100 < check.wrong_per_100, table
    assert sure.share > 0.5, "most suggestions should need no second look"


def test_sure_is_never_wrong_with_most_people_unnamed() -> None:
    """A quick open-set run (docs/calibration.md's figure is `scripts/evaluate --open-set --copies`)."""
    lib = open_set.library(copies=False)
    rule = SureRule.for_settings(DLIB)
    items = [j for seed in range(60) for j in open_set.draw(lib, seed, DLIB, rule)]
    table = {str(r["level"]): r for r in open_set.table(items)}
    sure = table["sure"]
    assert int(sure["suggestions"]) > 300 and sure["wrong"] == 0, table  # type: ignore[call-overload]
    assert float(sure["share_of_right"]) >= 0.6, table  # type: ignore[arg-type]
    assert float(table["likely"]["wrong_per_100"]) > 0, "the open set has strangers named likely"  # type: ignore[arg-type]
    # faces the product named itself never count as evidence: round two names nobody "sure"
    assert not [j for j in items if j.round == 2 and j.level == "sure"]
    assert SURE_MAX_WRONG_PER_100 > 0
