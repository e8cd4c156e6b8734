"""scripts/evaluate --copies: the simulated user on harder copies of the testdata (issue 20).

The user labels --k ORIGINAL photos per person (the same draws as scripts/evaluate); the
unseen photos are the copies (tagmyphotos_lab/hard_copies.py: quarter and half size, tilted by ±20°
and ±40°, blurred, grey, mirrored, JPEG quality 30) of the other labelled photos; copies of
the photos the user labelled are left out (they would be near duplicates of what was taught).
Per kind of copy and overall: how many labelled faces the analysis found, precision and recall
of "likely" (a face not found counts as not named) and of "likely"+"maybe", other faces named
(distractors: group photos, false detections), how far a copy's face lands from the same face in
the original (dlib distance; 0.6 is the match threshold), and strangers: each person in turn is nobody
the user labelled, and their faces in the copies should never be named "likely". The first
row is the originals (scripts/evaluate's figures). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from tagmyphotos.matching.match import Matcher, MatchSettings
from tagmyphotos.states import MatchBand
from tagmyphotos_lab.benchlib import emit, print_table
from tagmyphotos_lab.copies_data import ORIGINAL, CopySet, KindFaces, load_copies
from tagmyphotos_lab.evaluate.match import evaluate, figures, open_set, run_draw
from tagmyphotos_lab.match_data import Draw, FaceSet, draws


def original_set(cs: CopySet) -> FaceSet:
    o = cs.kinds[ORIGINAL]
    files = [f for f in cs.identity if f in o.truth]
    return _faceset(cs, files, [o.truth[f].vector for f in files], o)


def _faceset(cs: CopySet, files: list[str], vectors: list[np.ndarray], extras_of: KindFaces) -> FaceSet:
    dim = len(vectors[0])
    return FaceSet(
        cs.embedding_id,
        files,
        [cs.identity[f] for f in files],
        np.asarray(vectors, np.float32).reshape(-1, dim),
        [f"{extras_of.kind}/{name}" for name, _ in extras_of.extras],
        np.asarray([f.vector for _, f in extras_of.extras], np.float32).reshape(-1, dim),
        [0] * len(extras_of.extras),
    )


def kind_set(cs: CopySet, orig: FaceSet, kind: str) -> tuple[FaceSet, dict[int, int]]:
    """Originals' rows first (what the user labels from), then the copies' labelled faces.

    Returns the set and, for each copy row, the row of the original it was made from."""
    kf = cs.kinds[kind]
    files, vectors, source = list(orig.files), list(orig.vectors), {}
    for row, name in enumerate(orig.files):
        if name in kf.truth:
            source[len(files)] = row
            files.append(name)
            vectors.append(kf.truth[name].vector)
    return _faceset(cs, files, vectors, kf), source


def evaluate_kind(cs: CopySet, orig: FaceSet, kind: str, k: int, seeds: int, settings: MatchSettings) -> Counter[str]:
    faces, source = kind_set(cs, orig, kind)
    missed = cs.kinds[kind].missed
    total: Counter[str] = Counter()
    for seed in range(seeds):
        d = draws(orig, k, seed)
        taught = {orig.files[i] for i in d.confirmed}
        test = [row for row, src in source.items() if src not in d.confirmed]
        c = run_draw(faces, Draw(d.confirmed, test), settings, loop=True)
        lost = sum(1 for name in missed if name not in taught)
        c["test"] += lost
        c["test_known"] += lost
        c["missed"] += lost
        total += c
    return total


def strangers_kind(cs: CopySet, orig: FaceSet, kind: str, k: int, seeds: int, settings: MatchSettings) -> Counter[str]:
    """Each person in turn is a stranger: their faces in the copies should stay unknown."""
    faces, source = kind_set(cs, orig, kind)
    ident = np.asarray(orig.identities)
    number = {p: n for n, p in enumerate(sorted(set(orig.identities)))}
    c: Counter[str] = Counter()
    for seed in range(seeds):
        for stranger in sorted(set(orig.identities)):
            d = draws(orig, k, seed, frozenset({stranger}))
            matcher = Matcher.in_memory(settings, orig.vectors.shape[1])
            matcher.set_confirmed(d.confirmed, orig.vectors[d.confirmed], [number[ident[i]] for i in d.confirmed])
            rows = [row for row, src in source.items() if ident[src] == stranger]
            for s in matcher.suggest(rows, faces.vectors[rows]):
                c["faces"] += 1
                c[str(s.band)] += 1
    return c


def distances(cs: CopySet, kind: str) -> list[float]:
    """How far each labelled face of a copy is from the same face in the original."""
    o, k = cs.kinds[ORIGINAL].truth, cs.kinds[kind].truth
    return [float(np.linalg.norm(k[n].vector - o[n].vector)) for n in k if n in o]


def row_of(name: str, kf: KindFaces, n_labelled: int, c: Counter[str], s: Counter[str]) -> dict[str, object]:
    f = figures(c)
    return {
        "kind": name,
        "found": len(kf.truth),
        "labelled": n_labelled,
        "likely_precision": f["likely_precision"],
        "likely_recall": f["likely_recall"],
        "likely_right": c["likely_right"],
        "likely_n": c["likely_n"],
        "test_faces": c["test_known"],
        "all_recall": f["all_recall"],
        "missed_by_detection": c["missed"],
        "distractors_named": c["extra_named"],
        "stranger_faces": s["faces"],
        "stranger_likely": s[MatchBand.LIKELY],
        "stranger_maybe": s["maybe"],
    }


def table_row(r: dict[str, object]) -> list[object]:
    return [
        r["kind"],
        f"{r['found']}/{r['labelled']}",
        r["likely_precision"],
        f"{r['likely_recall']} ({r['likely_right']}/{r['test_faces']})",
        r["all_recall"],
        r["missed_by_detection"],
        r["distractors_named"],
        f"{r['stranger_likely']}/{r['stranger_faces']}",
        r["stranger_maybe"],
        f"{r['distance_median']} / {r['distance_max']}" if "distance_median" in r else "",
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=2, help="original photos the user labels per person")
    ap.add_argument("--seeds", type=int, default=10, help="random draws of the labelled photos")
    args = ap.parse_args()
    cs = load_copies()
    orig = original_set(cs)
    settings = MatchSettings.for_model(cs.embedding_id.split("/", 1)[0])
    n_lab = len(cs.identity)
    rows = [row_of(ORIGINAL, cs.kinds[ORIGINAL], n_lab, evaluate(orig, args.k, args.seeds, settings),
                   open_set(orig, args.k, args.seeds, settings))]  # fmt: skip
    all_c: Counter[str] = Counter()
    all_s: Counter[str] = Counter()
    for kind in [k for k in cs.kinds if k != ORIGINAL]:
        c = evaluate_kind(cs, orig, kind, args.k, args.seeds, settings)
        s = strangers_kind(cs, orig, kind, args.k, args.seeds, settings)
        all_c, all_s = all_c + c, all_s + s
        rows.append(row_of(kind, cs.kinds[kind], n_lab, c, s))
        d = distances(cs, kind)
        rows[-1] |= {"distance_median": round(float(np.median(d)), 3), "distance_max": round(max(d), 3)}
    found = sum(len(cs.kinds[k].truth) for k in cs.kinds if k != ORIGINAL)
    overall = row_of("all copies", KindFaces("all"), n_lab * (len(cs.kinds) - 1), all_c, all_s)
    overall["found"] = found
    rows.append(overall)
    print(f"{cs.embedding_id}: k={args.k}, {args.seeds} draws, analysis {cs.seconds:.3f} s/photo (2 workers)")
    heads = ["kind", "found", "likely P", "likely R", "likely+maybe R", "missed (detection)", "distractors named",
             "strangers likely", "strangers maybe", "distance to original (median / max)"]  # fmt: skip
    print_table(heads, [table_row(r) for r in rows])
    emit({"embedding_id": cs.embedding_id, "k": args.k, "seeds": args.seeds, "kinds": rows, "overall": overall})


if __name__ == "__main__":
    main()
