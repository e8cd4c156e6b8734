"""Read side of the review, suggestions: the suggested faces grouped per person, in ONE order.

Why one module: the Review page, GET /suggestions and `tagmyphotos suggestions` show the same
groups, and a reviewer who switches between them must find the same person first. The order is
the one a reviewer works through fastest: the people with the most "likely" faces first (then
the most suggestions, then the oldest person); in each group the likely faces before the maybe
ones, the most confident first (`queries.FACE_ORDERS["confidence"]`). Hidden people are left out
unless asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tagmyphotos.review.people import person_id_of, person_views
from tagmyphotos.review.queries import BANDS, FaceFilter, count_faces, list_faces
from tagmyphotos.states import MatchBand
from tagmyphotos.store import models as m
from tagmyphotos.store import tally
from tagmyphotos.store.views import SuggestionGroup


@dataclass(frozen=True)
class SuggestionCount:
    """How many faces are suggested for one person, per band."""

    person_id: int
    likely: int
    maybe: int

    @property
    def total(self) -> int:
        return self.likely + self.maybe

    def rank(self) -> tuple[int, int, int]:
        """The sort key of the one order: most likely, then most suggestions, then oldest person."""
        return (-self.likely, -self.total, self.person_id)


@dataclass(frozen=True)
class ReviewCounts:
    suggested: int
    likely: int
    people: int  # people with at least one suggestion
    unknown: int


@dataclass(frozen=True)
class ReviewSummary:
    """Counts and the order of the review page, from ONE grouped scan of the suggested faces."""

    counts: ReviewCounts
    order: list[SuggestionCount]


def suggestion_counts(
    person: int | str | None = None, band: str | None = None, include_hidden: bool = False
) -> list[SuggestionCount]:
    """Every person with suggested faces (in `band`, if given), in the one order."""
    if band is not None and band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}")
    wanted = person_id_of(person) if person is not None else None
    hidden = set() if include_hidden else _hidden_people()
    likely: dict[int, int] = {}
    total: dict[int, int] = {}
    for key, n in tally.counts().items():
        shown = key.person and key.person not in hidden and wanted in (None, key.person)
        if key.state == m.FaceState.SUGGESTED and shown:
            likely[key.person] = likely.get(key.person, 0) + (n if key.band == MatchBand.LIKELY else 0)
            total[key.person] = total.get(key.person, 0) + n
    counts = [SuggestionCount(p, likely[p], total[p] - likely[p]) for p in total]
    if band is not None:
        counts = [c for c in counts if (c.likely if band == MatchBand.LIKELY else c.maybe) > 0]
    return sorted(counts, key=SuggestionCount.rank)


def _hidden_people() -> set[int]:
    return {int(p) for (p,) in m.rows(m.Person.select(m.Person.id).where(m.Person.hidden))}


def review_summary() -> ReviewSummary:
    """The Review page's counts and its order of people."""
    order = suggestion_counts()
    counts = ReviewCounts(
        sum(c.total for c in order), sum(c.likely for c in order), len(order), count_faces(m.FaceState.UNKNOWN)
    )
    return ReviewSummary(counts, order)


def suggestion_groups(
    ranked: Sequence[SuggestionCount], per_person: int, band: str | None = None, order: str = "confidence"
) -> list[SuggestionGroup]:
    """The groups of `ranked` (a slice of `suggestion_counts()`), each with its first `per_person`
    faces in `order` (the review's "confidence" unless asked otherwise)."""
    views = person_views([c.person_id for c in ranked])
    return [
        SuggestionGroup(view, list_faces(FaceFilter(suggested=c.person_id, band=band), order, 0, per_person),
                        c.likely, c.maybe)
        for c, view in zip(ranked, views, strict=True)
    ]  # fmt: skip
