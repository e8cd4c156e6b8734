"""scripts/evaluate: a simulated user names people on ../shared/testdata/faces.

For each of --seeds random draws the user labels --k photos per person (13 people in
identities.csv), the matcher suggests the rest (with the other photos' faces as distractors and
one person per photo), and the user reviews: accepts right suggestions, rejects wrong ones, and
the suggestions are refreshed until nothing new comes (the learning loop). Reported, summed
over draws: precision and recall of "likely" and of "likely"+"maybe" in the first pass, faces
still unnamed after the loop, an open-set check (each person in turn is a stranger nobody
labelled: how often are their faces named anyway), a precision/recall curve over the
distance threshold, and how often each certainty level the review page shows names the wrong
person (tagmyphotos_lab/evaluate/certainty.py). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from tagmyphotos.matching.assign import assign_per_photo
from tagmyphotos.matching.match import Matcher, MatchSettings
from tagmyphotos.states import MatchBand
from tagmyphotos_lab.benchlib import emit, print_table
from tagmyphotos_lab.evaluate.certainty import LEVEL_SEEDS
from tagmyphotos_lab.evaluate.certainty import report as certainty_report
from tagmyphotos_lab.match_data import Draw, FaceSet, draws, load_testdata_faces

MAX_ROUNDS = 10


def run_draw(faces: FaceSet, draw: Draw, settings: MatchSettings, loop: bool) -> Counter[str]:
    """Suggest, score the first pass, then (if loop) review until nothing changes."""
    ident = np.asarray(faces.identities)
    person_of = {p: n + 1 for n, p in enumerate(sorted(set(faces.identities)))}
    truth = {i: person_of[ident[i]] for i in range(len(ident))}
    n_lab = len(faces.vectors)
    vecs = np.concatenate([faces.vectors, faces.extra_vectors])
    photo = {i: i for i in range(n_lab)}
    photo.update({n_lab + j: n_lab + faces.extra_files.index(f) for j, f in enumerate(faces.extra_files)})
    matcher = Matcher.in_memory(settings, vecs.shape[1])
    matcher.set_confirmed(draw.confirmed, vecs[draw.confirmed], [truth[i] for i in draw.confirmed])
    known = set(matcher.stats)
    pending = draw.test + list(range(n_lab, len(vecs)))
    rejected: dict[int, set[int]] = {}
    c: Counter[str] = Counter(test=len(draw.test))
    c["test_known"] = sum(truth[i] in known for i in draw.test)
    for rnd in range(MAX_ROUNDS if loop else 1):
        sugg = matcher.suggest(pending, vecs[pending], rejected)
        taken: dict[int, set[int]] = {}
        for f in matcher.labels:
            taken.setdefault(photo[f], set()).add(matcher.labels[f])
        sugg = assign_per_photo(sugg, photo, matcher, taken)
        accept: list[tuple[int, int]] = []
        for s in sugg:
            if s.band is None or s.person_id is None:
                continue
            if s.face_id >= n_lab:  # distractor: ground truth unknown, reviewed as a stranger
                c["extra_named" if rnd == 0 else "extra_named_later"] += 1
                rejected.setdefault(s.face_id, set()).add(s.person_id)
                continue
            right = s.person_id == truth[s.face_id]
            if rnd == 0:
                c[f"{s.band}_n"] += 1
                c[f"{s.band}_right"] += right
            if right:
                accept.append((s.face_id, s.person_id))
            else:
                c["rejections"] += 1
                rejected.setdefault(s.face_id, set()).add(s.person_id)
        if not accept and rnd > 0:
            break
        c["rounds"] = rnd + 1
        if accept:
            ids = [f for f, _ in accept]
            matcher.confirm(ids, vecs[ids], [p for _, p in accept])
            pending = [f for f in pending if f not in set(ids)]
    c["unknown_left"] = sum(1 for f in draw.test if f not in matcher.labels)
    return c


def evaluate(faces: FaceSet, k: int, seeds: int, settings: MatchSettings, loop: bool = True) -> Counter[str]:
    total: Counter[str] = Counter()
    for seed in range(seeds):
        total += run_draw(faces, draws(faces, k, seed), settings, loop)
    return total


def open_set(faces: FaceSet, k: int, seeds: int, settings: MatchSettings) -> Counter[str]:
    """Each person in turn is a stranger: their faces should all stay unknown."""
    c: Counter[str] = Counter()
    ident = np.asarray(faces.identities)
    number = {p: n for n, p in enumerate(sorted(set(faces.identities)))}
    for seed in range(seeds):
        for stranger in sorted(set(faces.identities)):
            d = draws(faces, k, seed, frozenset({stranger}))
            matcher = Matcher.in_memory(settings, faces.vectors.shape[1])
            matcher.set_confirmed(d.confirmed, faces.vectors[d.confirmed], [number[ident[i]] for i in d.confirmed])
            rows = np.flatnonzero(ident == stranger).tolist()
            for s in matcher.suggest(rows, faces.vectors[rows]):
                c["faces"] += 1
                c[str(s.band)] += 1
    return c


def figures(c: Counter[str]) -> dict[str, float]:
    known = max(1, c["test_known"])
    named = c["likely_n"] + c["maybe_n"]
    right = c["likely_right"] + c["maybe_right"]
    return {
        "likely_precision": round(c["likely_right"] / max(1, c["likely_n"]), 4),
        "likely_recall": round(c["likely_right"] / known, 4),
        "all_precision": round(right / max(1, named), 4),
        "all_recall": round(right / known, 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=2, help="photos the user labels per person")
    ap.add_argument("--seeds", type=int, default=10, help="random draws of the labelled photos")
    ap.add_argument("--threshold", type=float, default=None, help="distance threshold (model default)")
    ap.add_argument(
        "--level-seeds", type=int, default=LEVEL_SEEDS, help="draws for the certainty levels (wrong names are rare)"
    )
    ap.add_argument("--engine", default="onnx", help="face engine that embeds the testdata: onnx | dlib")
    args = ap.parse_args()
    faces = load_testdata_faces(engine=args.engine)
    model = faces.embedding_id.split("/", 1)[0]
    settings = MatchSettings.for_model(model, threshold=args.threshold)
    c = evaluate(faces, args.k, args.seeds, settings)
    f = figures(c)
    runs = args.seeds
    unknown_left = round(c["unknown_left"] / runs, 2)
    strangers = open_set(faces, args.k, args.seeds, settings)
    s_likely = round(strangers[MatchBand.LIKELY] / max(1, strangers["faces"]), 4)
    s_maybe = round(strangers["maybe"] / max(1, strangers["faces"]), 4)
    print(
        f"{faces.embedding_id}: {len(faces.vectors)} labelled faces, {len(set(faces.identities))} people, "
        f"k={args.k}, {runs} draws, threshold {settings.threshold}"
    )
    print_table(
        ["figure", "value", "note"],
        [
            ("likely precision", f["likely_precision"], f"{c['likely_right']}/{c['likely_n']}"),
            ("likely recall", f["likely_recall"], f"of {c['test_known']} faces of labelled people"),
            ("likely+maybe precision", f["all_precision"], ""),
            ("likely+maybe recall", f["all_recall"], ""),
            ("unknown left after review (per draw)", unknown_left, f"of {c['test'] / runs:.0f} faces"),
            ("review rounds (all draws)", c["rounds"], f"{c['rejections']} rejections"),
            ("distractor faces named (all draws)", c["extra_named"], "group photos, unlabelled"),
            ("stranger faces named likely", s_likely, f"{strangers['faces']} stranger faces"),
            ("stranger faces named maybe", s_maybe, ""),
        ],
    )
    curve = []
    for t in np.round(np.arange(0.40, 0.701, 0.025), 3).tolist():
        ct = evaluate(faces, args.k, args.seeds, MatchSettings.for_model(model, threshold=t), loop=False)
        ft = figures(ct)
        curve.append([t, ft["likely_precision"], ft["likely_recall"], ft["all_precision"], ft["all_recall"]])
    print("\nprecision/recall over the distance threshold (first pass)")
    print_table(["threshold", "likely P", "likely R", "all P", "all R"], curve)
    levels = certainty_report(faces, args.k, args.level_seeds, settings)
    emit(
        {
            **f,
            "unknown_left": unknown_left,
            "k": args.k,
            "seeds": runs,
            "threshold": settings.threshold,
            "stranger_likely_rate": s_likely,
            "stranger_maybe_rate": s_maybe,
            "rejections": c["rejections"],
            "embedding_id": faces.embedding_id,
            "curve": curve,
            "certainty": levels,
        }
    )


if __name__ == "__main__":
    main()
