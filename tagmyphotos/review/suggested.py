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

import peewee as pw

from tagmyphotos.review.people import get_person, person_id_of, person_view
from tagmyphotos.review.queries import BANDS, FaceFilter, count_faces, list_faces
from tagmyphotos.states import MatchBand
from tagmyphotos.store import models as m
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
    where = (m.Face.state == m.FaceState.SUGGESTED) & m.Face.suggested_person.is_null(False)
    if person is not None:
        where &= m.Face.suggested_person == person_id_of(person)
    if not include_hidden:
        where &= m.Face.suggested_person.not_in(m.Person.select(m.Person.id).where(m.Person.hidden))
    likely = pw.fn.SUM(pw.Case(None, [(m.Face.band == MatchBand.LIKELY, 1)], 0))
    rows = m.rows(
        m.Face.select(m.Face.suggested_person, likely, pw.fn.COUNT(m.Face.id)).where(where).group_by(
            m.Face.suggested_person
        )
    )
    counts = [SuggestionCount(int(p), int(n or 0), int(t) - int(n or 0)) for p, n, t in rows]
    if band is not None:
        counts = [c for c in counts if (c.likely if band == MatchBand.LIKELY else c.maybe) > 0]
    return sorted(counts, key=SuggestionCount.rank)


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
    groups = []
    for c in ranked:
        faces = list_faces(FaceFilter(suggested=c.person_id, band=band), order, 0, per_person)
        groups.append(SuggestionGroup(person_view(get_person(c.person_id)), faces, c.likely, c.maybe))
    return groups
