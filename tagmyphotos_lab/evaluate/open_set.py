"""scripts/evaluate --open-set: how often each certainty level names the wrong person when most
people in the library are named by nobody, and what share of the right names "sure" covers.

Why this and not scripts/evaluate's certainty table: that one leaves one person unnamed at a
time. A home library is the other way round: a few named people among many unnamed ones
(guests, classmates, strangers), look-alikes included, and "sure" is what the product names by
itself (review.auto_accept), so it must hold there.

Each draw (seed): 2 to 5 of the 13 people are named, from 2 to 4 of their photos each (the
owner named, taught or accepted them by hand); everyone else is unnamed. Every other face of the
library gets a suggestion through the product's own matcher, one-person-per-photo assignment and
"sure" rule (tagmyphotos.matching.sure). A suggestion for an unnamed person's face is wrong;
faces of the unlabelled group photos are in the library but not scored (nobody knows who they
are). With --copies the library also holds the harder copies of every photo (quarter size,
tilted, blurred, grey, ...: tagmyphotos_lab/hard_copies.py) as photos of their own; copies of the named
photos themselves are not scored (near-duplicates of the evidence).

Round two: the "sure" faces of round one are accepted by the product (as review.auto_accept
does; they are scored in round one), and the rest is suggested again and scored there. The
accepted faces vote like any confirmed face for "likely" and "check", but never count as
evidence for "sure": round two's wrong "sure" names show whether one automatic name can breed
another.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass

import numpy as np

from tagmyphotos.matching.assign import assign_per_photo
from tagmyphotos.matching.match import Matcher, MatchSettings
from tagmyphotos.matching.sure import SureRule, Unnamed, certainty, gather
from tagmyphotos.states import Certainty
from tagmyphotos_lab.benchlib import emit, print_table
from tagmyphotos_lab.evaluate.certainty import upper_bound
from tagmyphotos_lab.match_data import load_testdata_faces

NAMED_PEOPLE = (2, 5)  # people named per draw (of 13): most of the library stays unnamed
NAMED_PHOTOS = (2, 4)  # photos named per named person: few (--named-photos 1-3: fewer)


@dataclass(frozen=True)
class Library:
    """Every face of the evaluated library."""

    vectors: np.ndarray
    person: list[str | None]  # identity of a labelled face; None for the unlabelled group photos
    photo: list[int]  # photo id per face
    original: list[int]  # the labelled original a face is (a copy of); -1 for group photos
    scored: list[bool]  # False: a face nobody knows (group photos)


def library(copies: bool) -> Library:
    """The testdata's faces (and, with `copies`, those of every harder copy)."""
    if copies:
        return _copies_library()
    f = load_testdata_faces()
    n = len(f.vectors)
    extra_photo = {name: n + i for i, name in enumerate(sorted(set(f.extra_files)))}
    return Library(
        np.concatenate([f.vectors, f.extra_vectors]).astype(np.float32),
        [*f.identities, *[None] * len(f.extra_files)],
        [*range(n), *(extra_photo[x] for x in f.extra_files)],
        [*range(n), *[-1] * len(f.extra_files)],
        [True] * n + [False] * len(f.extra_files),
    )


def _copies_library() -> Library:
    from tagmyphotos_lab.copies_data import load_copies

    cs = load_copies()
    files = sorted(cs.identity)
    base = {name: i for i, name in enumerate(files)}
    vecs: list[np.ndarray] = []
    person: list[str | None] = []
    photo: list[int] = []
    original: list[int] = []
    scored: list[bool] = []
    photo_id: dict[tuple[str, str], int] = {}
    for kind, kf in cs.kinds.items():
        for name, face in kf.truth.items():
            vecs.append(face.vector)
            person.append(cs.identity[name])
            photo.append(photo_id.setdefault((kind, name), len(photo_id)))
            original.append(base[name])
            scored.append(True)
        for name, face in kf.extras:
            vecs.append(face.vector)
            person.append(None)
            photo.append(photo_id.setdefault((kind, name), len(photo_id)))
            original.append(-1)
            scored.append(False)
    return Library(np.asarray(vecs, np.float32), person, photo, original, scored)


@dataclass(frozen=True)
class Judged:
    level: str
    right: bool
    round: int


def draw(lib: Library, seed: int, settings: MatchSettings, rule: SureRule) -> list[Judged]:
    """One simulated library: suggestions of both rounds, scored."""
    rng = np.random.default_rng(seed)
    people = sorted({p for p in lib.person if p is not None})
    named = set(rng.choice(people, int(rng.integers(NAMED_PEOPLE[0], NAMED_PEOPLE[1] + 1)), replace=False).tolist())
    number = {p: n for n, p in enumerate(people)}
    originals = sorted({o for o in lib.original if o >= 0})
    chosen: set[int] = set()
    for p in sorted(named):
        mine = [o for o in originals if lib.person[lib.original.index(o)] == p]
        rng.shuffle(mine)
        chosen.update(mine[: int(rng.integers(NAMED_PHOTOS[0], NAMED_PHOTOS[1] + 1))])
    confirmed = [i for i, o in enumerate(lib.original) if o in chosen and i == lib.original.index(o)]
    matcher = Matcher.in_memory(settings, lib.vectors.shape[1])
    matcher.set_confirmed(confirmed, lib.vectors[confirmed], [number[str(lib.person[i])] for i in confirmed])
    photo_of = dict(enumerate(lib.photo))
    auto: set[int] = set()
    out: list[Judged] = []
    for rnd in (1, 2):
        pending = [i for i in range(len(lib.vectors)) if i not in matcher.labels]
        sugg = assign_per_photo(matcher.suggest(pending, lib.vectors[pending]), photo_of, matcher, _taken(matcher, lib))
        unnamed = Unnamed(np.asarray(pending, np.int64), lib.vectors[pending], photo_of)
        evidence = gather(matcher, sugg, lib.vectors[pending], photo_of, unnamed, auto, rule)
        accepted = []
        for s, ev in zip(sugg, evidence, strict=True):
            level = certainty(s, ev is not None and ev.meets(rule))
            if level is None:
                continue
            if level == Certainty.SURE:
                accepted.append((s.face_id, s.person_id))
            elif rnd == 1:
                continue  # judged again in round two, scored there
            i = s.face_id
            if lib.scored[i] and lib.original[i] not in chosen:
                who = lib.person[i]
                out.append(Judged(level, who in named and number[str(who)] == s.person_id, rnd))
        if rnd == 1 and accepted:
            ids = [f for f, _ in accepted]
            matcher.confirm(ids, lib.vectors[ids], [int(p) for _, p in accepted if p is not None])
            auto.update(ids)
    return out


def _taken(matcher: Matcher, lib: Library) -> dict[int, set[int]]:
    taken: dict[int, set[int]] = {}
    for f, p in matcher.labels.items():
        taken.setdefault(lib.photo[f], set()).add(p)
    return taken


def table(items: list[Judged]) -> list[dict[str, object]]:
    right_total = sum(j.right for j in items)
    rows = []
    for level in Certainty:
        mine = [j for j in items if j.level == level]
        wrong = sum(not j.right for j in mine)
        rows.append(
            {
                "level": level,
                "suggestions": len(mine),
                "wrong": wrong,
                "wrong_per_100": round(100 * wrong / max(1, len(mine)), 3),
                "upper_per_100": round(100 * upper_bound(wrong, len(mine)), 3),
                "share_of_right": round(sum(j.right for j in mine) / max(1, right_total), 4),
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=120, help="random draws of named people and photos")
    ap.add_argument("--copies", action="store_true", help="the library also holds the harder copies")
    ap.add_argument("--named-photos", default="2-4", help="photos named per named person, a range (default 2-4)")
    args = ap.parse_args()
    lo, _, hi = args.named_photos.partition("-")
    global NAMED_PHOTOS
    NAMED_PHOTOS = (int(lo), int(hi or lo))
    lib = library(args.copies)
    settings = MatchSettings.for_model("Dlib")
    rule = SureRule.for_settings(settings)
    items = [j for seed in range(args.seeds) for j in draw(lib, seed, settings, rule)]
    per_round = Counter((j.round, j.level, j.right) for j in items)
    print(f"open set: {len(lib.vectors)} faces, {args.seeds} draws of {NAMED_PEOPLE[0]}-{NAMED_PEOPLE[1]} named "
          f"people (of 13) with {NAMED_PHOTOS[0]}-{NAMED_PHOTOS[1]} named photos each; {len(items)} suggestions; "
          f"rule {rule}")  # fmt: skip
    rows = table(items)
    print_table(
        ["level", "suggestions", "wrong", "wrong /100", "95% bound /100", "share of right names"],
        [[r["level"], r["suggestions"], r["wrong"], r["wrong_per_100"], r["upper_per_100"], r["share_of_right"]]
         for r in rows],
    )  # fmt: skip
    second = [j for j in items if j.round == 2 and j.level == Certainty.SURE]
    print(f"round two (after the product accepted round one's sure faces): {len(second)} sure, "
          f"{sum(not j.right for j in second)} wrong")  # fmt: skip
    emit(
        {
            "seeds": args.seeds,
            "copies": args.copies,
            "named_photos": list(NAMED_PHOTOS),
            "faces": len(lib.vectors),
            "suggestions": len(items),
            "levels": {str(r["level"]): r for r in rows},
            "round_two_sure": [len(second), sum(not j.right for j in second)],
            "by_round": {f"{r}/{lv}/{'right' if ok else 'wrong'}": n for (r, lv, ok), n in sorted(per_round.items())},
        }
    )


if __name__ == "__main__":
    main()
