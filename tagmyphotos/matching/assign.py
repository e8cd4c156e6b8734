"""One person at most once per photo: resolve faces of a photo that want the same person.

Why an assignment and not "highest confidence wins": with three faces and two look-alike people
a greedy choice can leave a face with a worse person than necessary. scipy's
linear_sum_assignment minimises the summed distance of faces to their persons, with a private
"unknown" column per face that costs the model threshold, so a person beyond the threshold is
never preferred to unknown. Each face is then re-judged with the persons taken by the other
faces of its photo excluded, so a runner-up gets its next-best person with an honest margin,
or stays unknown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from tagmyphotos.matching.match import Matcher, Suggestion

_FORBIDDEN = 1e6  # cost of an impossible pairing (no such candidate, another face's unknown)
NOTHING_TAKEN: Mapping[int, Collection[int]] = {}


def assign_per_photo(
    suggestions: Sequence[Suggestion],
    photo_of: Mapping[int, int],
    matcher: Matcher,
    taken: Mapping[int, Collection[int]] = NOTHING_TAKEN,
) -> list[Suggestion]:
    """Return the suggestions (same order) with no person twice in a photo.

    `photo_of` maps face id -> photo id; `taken` maps photo id -> persons already confirmed on
    another face of that photo (they are never suggested there again).
    """
    out = list(suggestions)
    by_photo: dict[int, list[int]] = defaultdict(list)
    for n, s in enumerate(suggestions):
        by_photo[photo_of[s.face_id]].append(n)
    for photo, rows in by_photo.items():
        blocked = set(taken.get(photo, ()))
        if blocked:
            for n in rows:
                if _mentions(out[n], blocked):
                    out[n] = matcher.judge(out[n].face_id, out[n].neighbours, excluded=blocked)
        wanted = [out[n].person_id for n in rows if out[n].person_id is not None]
        if len(wanted) == len(set(wanted)):
            continue
        contenders = [n for n in rows if out[n].person_id is not None]
        for n, solved in zip(contenders, _solve([out[n] for n in contenders], blocked, matcher), strict=True):
            out[n] = solved
    return out


def limit_to_names(
    suggestions: Sequence[Suggestion],
    photo_of: Mapping[int, int],
    names: Mapping[int, Collection[int]],
    matcher: Matcher,
    taken: Mapping[int, Collection[int]] = NOTHING_TAKEN,
) -> list[Suggestion]:
    """Faces of a photo whose own tags name people (not saying which face is whom) are judged
    among those people only; `names` maps photo id -> persons named, `taken` those already on a
    face there. With every named person taken, a face is judged as usual."""
    out = []
    for s in suggestions:
        photo = photo_of[s.face_id]
        allowed = set(names.get(photo, ())) - set(taken.get(photo, ()))
        if not allowed:
            out.append(s)
            continue
        out.append(matcher.judge(s.face_id, tuple(n for n in s.neighbours if n[0] in allowed)))
    return out


def _mentions(s: Suggestion, persons: set[int]) -> bool:
    return any(p in persons for p, _ in s.neighbours)


def _solve(faces: list[Suggestion], blocked: set[int], matcher: Matcher) -> list[Suggestion]:
    """Assign persons to the suggested faces of one photo, re-judge each against the others'."""
    threshold = matcher.settings.threshold
    cand: list[dict[int, float]] = []
    for s in faces:
        nearest: dict[int, float] = {}
        for p, d in s.neighbours:
            if p not in blocked and d <= threshold:
                nearest.setdefault(p, d)
        cand.append(nearest)
    persons = sorted({p for c in cand for p in c})
    col = {p: j for j, p in enumerate(persons)}
    n = len(faces)
    cost = np.full((n, len(persons) + n), _FORBIDDEN)
    for i, c in enumerate(cand):
        for p, d in c.items():
            cost[i, col[p]] = d
        cost[i, len(persons) + i] = threshold  # this face's own "unknown"
    rows, cols = linear_sum_assignment(cost)
    chosen: list[int | None] = [None] * n
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        if j < len(persons) and cost[i, j] < _FORBIDDEN:
            chosen[i] = persons[j]
    out = []
    for i, s in enumerate(faces):
        person = chosen[i]
        if person is None:
            out.append(_unknown(s))
            continue
        excluded = blocked | {p for m, p in enumerate(chosen) if m != i and p is not None}
        judged = matcher.judge(s.face_id, s.neighbours, excluded=excluded, person=person)
        out.append(judged if judged.band is not None else _unknown(judged))
    return out


def _unknown(s: Suggestion) -> Suggestion:
    return Suggestion(s.face_id, None, None, s.confidence, s.candidate_id, s.explanation, s.neighbours)
