"""scripts/evaluate's certainty report: how often each level the review page shows ("sure",
"likely", "check": matching.sure) names the wrong person when one person at a time is a
stranger, and how honest the confidence is as a probability (the reliability table).

Why measured and not read off the confidence: the confidence is a probability built from a
logistic fitted to pairs of faces, not to suggestions; how often a suggestion at 0.95 is wrong
depends on strangers and look-alikes, which only a simulated review shows. The levels
themselves are calibrated where most people are unnamed: scripts/evaluate --open-set.

The simulated review: for each seed, the user labels k photos of every person (one draw) and,
in turn, of every person but one (13 more draws: that person is a stranger nobody labelled, as
most people in a real library are). Every other labelled face gets a suggestion; one for a
stranger is always wrong. Faces of the unlabelled group photos are left out (nobody knows who
they are).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

from tagmyphotos.matching.match import Matcher, MatchSettings
from tagmyphotos.matching.sure import SureRule, Unnamed, certainty, gather
from tagmyphotos.states import Certainty, MatchBand
from tagmyphotos_lab.benchlib import print_table
from tagmyphotos_lab.match_data import FaceSet, draws

# "sure" must stay below this many wrong names per 100 at 95% confidence (with no wrong name:
# >= 2,995 suggestions).
SURE_MAX_WRONG_PER_100 = 0.1
# Draws for the table (scripts/evaluate --level-seeds): wrong names are rare; 40 seeds x 14
# draws give ~18,000 suggestions.
LEVEL_SEEDS = 40
# Confidence bins of the reliability table (predicted vs observed wrong names).
BINS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 1.0)


@dataclass(frozen=True)
class Judged:
    """One suggestion the review page would show, and whether its name is right."""

    confidence: float
    band: str
    level: str
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
    rule = SureRule.for_settings(settings)
    photo_of = {i: i for i in range(len(ident))}
    out = []
    for seed in range(seeds):
        for stranger in [None, *people]:
            d = draws(faces, k, seed, frozenset({stranger}) if stranger else frozenset())
            matcher = Matcher.in_memory(settings, faces.vectors.shape[1])
            matcher.set_confirmed(d.confirmed, faces.vectors[d.confirmed], [number[ident[i]] for i in d.confirmed])
            sugg = matcher.suggest(d.test, faces.vectors[d.test])
            unnamed = Unnamed(np.asarray(d.test, np.int64), faces.vectors[d.test], photo_of)
            evidence = gather(matcher, sugg, faces.vectors[d.test], photo_of, unnamed, (), rule)
            for s, ev in zip(sugg, evidence, strict=True):
                level = certainty(s, ev is not None and ev.meets(rule))
                if s.band is not None and level is not None:
                    who = str(ident[s.face_id])
                    out.append(Judged(s.confidence, s.band, level, s.person_id == number[who], who == stranger))
    return out


def upper_bound(wrong: int, n: int) -> float:
    """One-sided 95% Clopper-Pearson upper bound of a rate of `wrong` in `n`."""
    return 1.0 if n == 0 or wrong >= n else float(beta.ppf(0.95, wrong + 1, n - wrong))


def levels(items: list[Judged]) -> list[Level]:
    """The per-level table."""
    out = []
    for name in Certainty:
        mine = [j for j in items if j.level == name]
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


def report(faces: FaceSet, k: int, seeds: int, settings: MatchSettings) -> dict[str, object]:
    """Print the level table and the reliability table; return figures."""
    items = judged(faces, k, seeds, settings)
    people = len(set(faces.identities))
    print(f"\ncertainty levels: {len(items)} suggestions over {seeds} seeds x {people + 1} draws (k={k}; "
          f"{sum(j.stranger for j in items)} of them for strangers)")  # fmt: skip
    table = levels(items)
    print_table(
        ["level", "suggestions", "share", "wrong", "of them strangers", "wrong /100", "95% bound /100"],
        [[lv.level, lv.n, lv.share, lv.wrong, lv.strangers, lv.wrong_per_100, lv.upper_per_100] for lv in table],
    )
    wrong_likely = [j.confidence for j in items if not j.right and j.band == MatchBand.LIKELY]
    right_likely = [j.confidence for j in items if j.right and j.band == MatchBand.LIKELY]
    print(f"likely band: highest confidence of a wrong name {max(wrong_likely, default=0):.4f}; right names' "
          f"5th/50th percentile {np.percentile(right_likely, 5):.4f} / {np.median(right_likely):.4f}")  # fmt: skip
    print("reliability: wrong names per 100, as the confidence predicts them and as observed")
    print_table(["confidence", "suggestions", "predicted", "observed"], reliability(items))
    return {
        "levels": {lv.level: [lv.n, lv.wrong, lv.wrong_per_100, lv.upper_per_100, lv.share] for lv in table},
    }
