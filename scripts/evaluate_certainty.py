"""scripts/evaluate's certainty report: how often each level the review page shows ("sure",
"likely", "check": matching.match.certainty) names the wrong person, and the "sure" threshold
chosen from those numbers (tuning.MATCH_SURE_CONFIDENCE).

Why measured and not read off the confidence: the confidence is a probability built from a
logistic fitted to pairs of faces, not to suggestions; how often a suggestion at 0.95 is wrong
depends on strangers and look-alikes, which only a simulated review shows.

The simulated review: for each seed, the user labels k photos of every person (one draw) and,
in turn, of every person but one (13 more draws: that person is a stranger nobody labelled, as
most people in a real library are). Every other labelled face gets a suggestion; one for a
stranger is always wrong. Faces of the unlabelled group photos are left out (nobody knows who
they are).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from benchlib import print_table
from match_data import FaceSet, draws
from scipy.stats import beta

from tagmyphotos import tuning
from tagmyphotos.matching.match import BAND_LIKELY, CERTAINTY_LEVELS, Matcher, MatchSettings, certainty

# Candidate "sure" thresholds: an expected 10, 5, 2, 1, 0.5 and 0.1 wrong names per 100 if the
# confidence were an honest probability (a fixed grid, not fitted to these faces).
SURE_GRID = (0.90, 0.95, 0.98, 0.99, 0.995, 0.999)
# The rule: "sure" = the lowest grid threshold whose level holds none of the wrong names seen
# and, at 95% confidence, fewer than this many per 100 (with no wrong name: >= 2,995 suggestions).
SURE_MAX_WRONG_PER_100 = 0.1
# Draws for the table (scripts/evaluate --level-seeds): the rule needs thousands of "sure"
# suggestions and wrong names are rare; 40 seeds x 14 draws give ~18,000 suggestions (10 gave
# 4,600, and the highest wrong confidence moved from 0.956 to 0.936 between 20 and 10 seeds).
LEVEL_SEEDS = 40
# Confidence bins of the reliability table (predicted vs observed wrong names).
BINS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 1.0)


@dataclass(frozen=True)
class Judged:
    """One suggestion the review page would show, and whether its name is right."""

    confidence: float
    band: str
    right: bool
    stranger: bool  # the face's person was labelled by nobody


@dataclass(frozen=True)
class Level:
    """One certainty level's measured figures."""

    level: str
    n: int
    wrong: int
    strangers: int  # of the wrong ones, names given to a stranger
    share: float  # of all suggestions shown
    wrong_per_100: float
    upper_per_100: float  # one-sided 95% (Clopper-Pearson) upper bound of wrong_per_100


def judged(faces: FaceSet, k: int, seeds: int, settings: MatchSettings) -> list[Judged]:
    """Every suggestion (likely or maybe band) of the simulated review, scored."""
    ident = np.asarray(faces.identities)
    people = sorted(set(faces.identities))
    number = {p: n for n, p in enumerate(people)}
    out = []
    for seed in range(seeds):
        for stranger in [None, *people]:
            d = draws(faces, k, seed, frozenset({stranger}) if stranger else frozenset())
            matcher = Matcher.in_memory(settings, faces.vectors.shape[1])
            matcher.set_confirmed(d.confirmed, faces.vectors[d.confirmed], [number[ident[i]] for i in d.confirmed])
            for s in matcher.suggest(d.test, faces.vectors[d.test]):
                if s.band is not None:
                    who = str(ident[s.face_id])
                    out.append(Judged(s.confidence, s.band, s.person_id == number[who], who == stranger))
    return out


def upper_bound(wrong: int, n: int) -> float:
    """One-sided 95% Clopper-Pearson upper bound of a rate of `wrong` in `n`."""
    return 1.0 if n == 0 or wrong >= n else float(beta.ppf(0.95, wrong + 1, n - wrong))


def levels(items: list[Judged], sure: float) -> list[Level]:
    """The per-level table with "sure" at `sure`."""
    out = []
    for name in CERTAINTY_LEVELS:
        mine = [j for j in items if certainty(j.confidence, j.band, sure) == name]
        wrong = [j for j in mine if not j.right]
        out.append(
            Level(
                level=name,
                n=len(mine),
                wrong=len(wrong),
                strangers=sum(j.stranger for j in wrong),
                share=round(len(mine) / max(1, len(items)), 4),
                wrong_per_100=round(100 * len(wrong) / max(1, len(mine)), 3),
                upper_per_100=round(100 * upper_bound(len(wrong), len(mine)), 3),
            )
        )
    return out


def choose_sure(items: list[Judged]) -> float | None:
    """The lowest SURE_GRID threshold that meets the rule (None: none does)."""
    for t in SURE_GRID:
        sure = levels(items, t)[0]
        if sure.n and sure.wrong == 0 and sure.upper_per_100 < SURE_MAX_WRONG_PER_100:
            return t
    return None


def reliability(items: list[Judged]) -> list[list[object]]:
    """Per confidence bin: suggestions, wrong names per 100 the confidence predicts, observed."""
    rows: list[list[object]] = []
    for lo, hi in zip(BINS, BINS[1:], strict=False):
        mine = [j for j in items if lo <= j.confidence < hi or (hi == 1.0 and j.confidence == 1.0)]
        if mine:
            predicted = 100 * float(np.mean([1 - j.confidence for j in mine]))
            observed = 100 * sum(not j.right for j in mine) / len(mine)
            rows.append([f"{lo}-{hi}", len(mine), round(predicted, 2), round(observed, 2)])
    return rows


def report(
    faces: FaceSet, k: int, seeds: int, settings: MatchSettings, current: float = tuning.MATCH_SURE_CONFIDENCE
) -> dict[str, object]:
    """Print the grid, the level table at `current` and the reliability table; return figures."""
    items = judged(faces, k, seeds, settings)
    people = len(set(faces.identities))
    print(f"\ncertainty levels: {len(items)} suggestions over {seeds} seeds x {people + 1} draws (k={k}; "
          f"{sum(j.stranger for j in items)} of them for strangers)")  # fmt: skip
    grid = []
    for t in SURE_GRID:
        sure, likely, _ = levels(items, t)
        grid.append([t, sure.n, sure.wrong, sure.upper_per_100, sure.share, likely.n, likely.wrong])
    print_table(["sure at", "sure n", "wrong", "95% bound /100", "share", "likely n", "wrong"], grid)
    chosen = choose_sure(items)
    print(f"rule (no wrong name, 95% bound < {SURE_MAX_WRONG_PER_100}/100) picks {chosen}; tuning has {current}")
    table = levels(items, current)
    print_table(
        ["level", "suggestions", "share", "wrong", "of them strangers", "wrong /100", "95% bound /100"],
        [[lv.level, lv.n, lv.share, lv.wrong, lv.strangers, lv.wrong_per_100, lv.upper_per_100] for lv in table],
    )
    wrong_likely = [j.confidence for j in items if not j.right and j.band == BAND_LIKELY]
    right_likely = [j.confidence for j in items if j.right and j.band == BAND_LIKELY]
    print(f"likely band: highest confidence of a wrong name {max(wrong_likely, default=0):.4f}; right names' "
          f"5th/50th percentile {np.percentile(right_likely, 5):.4f} / {np.median(right_likely):.4f}")  # fmt: skip
    print("reliability: wrong names per 100, as the confidence predicts them and as observed")
    print_table(["confidence", "suggestions", "predicted", "observed"], reliability(items))
    return {
        "sure_rule_pick": chosen,
        "sure_threshold": current,
        "levels": {lv.level: [lv.n, lv.wrong, lv.wrong_per_100, lv.upper_per_100, lv.share] for lv in table},
    }
