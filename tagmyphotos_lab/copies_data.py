"""Faces of the testdata originals and of their harder copies, through the product's analysis.

Why a module of its own: scripts/evaluate --copies needs, for every copy, the labelled face
found again (or known missed) and every other face the detector returned; the analysis of
~700 photos takes minutes, so it is cached in .cache/ under a key made of the copies, the
analysis settings, the embedding id and the source of tagmyphotos/faces and tuning.py (any
change of the engine re-runs it). The labelled face of an original is its largest face (as
tagmyphotos_lab/match_data.py takes it); in a copy it is the face whose centre lies nearest the point
where that face's centre lands (hard_copies.Kind.point), within half the face's size.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagmyphotos.faces import workers
from tagmyphotos.faces.analyze import AnalysisSettings, FaceAnalyzer
from tagmyphotos.faces.images import probe
from tagmyphotos_lab.hard_copies import FACES_DIR, KINDS, Kind, copy_path, make_copies, originals
from tagmyphotos_lab.match_data import tuning_stamp
from tagmyphotos_lab.paths import CACHE_DIR, ROOT

ORIGINAL = "original"
# A face of a copy is the labelled face when its centre is this close (fraction of its size).
SAME_FACE_CENTRE = 0.5


@dataclass(frozen=True)
class Face:
    cx: float
    cy: float
    size: float  # shorter side of the box, full-resolution pixels
    quality: float
    sharpness: float
    vector: np.ndarray


@dataclass
class KindFaces:
    """One kind of photo (the originals or one kind of copy)."""

    kind: str
    truth: dict[str, Face] = field(default_factory=dict)  # labelled file -> its face, when found
    missed: list[str] = field(default_factory=list)  # labelled files whose face was not found
    extras: list[tuple[str, Face]] = field(default_factory=list)  # (file, face): any other face


@dataclass(frozen=True)
class CopySet:
    embedding_id: str
    identity: dict[str, str]  # labelled file -> person
    kinds: dict[str, KindFaces]  # ORIGINAL first, then every kind of copy
    seconds: float  # analysis time per photo (cached runs: the run that filled the cache)


def source_stamp() -> str:
    """Hash of the code and the detection settings the faces depend on (not all of tuning.py:
    a matching threshold calibrated on these faces must not make them analysed again)."""
    h = hashlib.sha256()
    for p in sorted((ROOT / "tagmyphotos" / "faces").glob("*.py")):
        h.update(p.name.encode() + p.read_bytes())
    h.update(json.dumps(tuning_stamp()).encode())
    return h.hexdigest()[:16]


def _analyze_all(paths: list[Path], settings: AnalysisSettings) -> tuple[dict[str, list[Face]], str, float]:
    analyzer = FaceAnalyzer(settings)
    out: dict[str, list[Face]] = {}
    emb_id = analyzer.embedding_id
    start = time.perf_counter()
    for item in workers.analyze_many(analyzer, paths):
        if item.result is None:
            raise RuntimeError(f"{item.path}: {item.error}")
        out[item.path] = [
            Face(f.x + f.w / 2, f.y + f.h / 2, f.size_px, f.quality, f.sharpness, f.embedding)
            for f in item.result.faces
        ]
    return out, emb_id, (time.perf_counter() - start) / max(1, len(paths))


def _face_from_cache(meta: np.ndarray, vector: np.ndarray) -> Face:
    """A face from its cached row: (cx, cy, size, quality, sharpness) and its vector."""
    cx, cy, size, quality, sharpness = (float(v) for v in meta)
    return Face(cx, cy, size, quality, sharpness, vector)


def _cached_faces(paths: list[Path], settings: AnalysisSettings, key: str) -> tuple[dict[str, list[Face]], str, float]:
    cache = CACHE_DIR / f"copies-faces-{key}.npz"
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        index, meta, vecs = json.loads(str(data["index"])), data["meta"], data["vectors"]
        faces = {p: [_face_from_cache(meta[i], vecs[i]) for i in range(s, s + n)] for p, (s, n) in index.items()}
        return faces, str(data["embedding_id"]), float(data["seconds"])
    faces, emb_id, secs = _analyze_all(paths, settings)
    index, meta, vecs, n = {}, [], [], 0
    for p, fs in faces.items():
        index[p] = [n, len(fs)]
        n += len(fs)
        meta += [(f.cx, f.cy, f.size, f.quality, f.sharpness) for f in fs]
        vecs += [f.vector for f in fs]
    tmp = cache.with_suffix(".tmp.npz")
    dim = len(vecs[0]) if vecs else 128
    np.savez(tmp, index=json.dumps(index), meta=np.asarray(meta, np.float64).reshape(-1, 5),
             vectors=np.asarray(vecs, np.float32).reshape(-1, dim), embedding_id=emb_id, seconds=secs)  # fmt: skip
    tmp.replace(cache)
    return faces, emb_id, secs


def _find(faces: list[Face], where: tuple[float, float], size: float) -> Face | None:
    best = min(faces, key=lambda f: np.hypot(f.cx - where[0], f.cy - where[1]), default=None)
    if best is None or np.hypot(best.cx - where[0], best.cy - where[1]) > SAME_FACE_CENTRE * size:
        return None
    return best


def _sort(kind: Kind | None, faces: dict[str, list[Face]], files: list[Path], truth: dict[str, Face],
          sizes: dict[str, tuple[int, int]], out_dir: Path) -> KindFaces:  # fmt: skip
    kf = KindFaces(kind.name if kind else ORIGINAL)
    for p in files:
        found = faces[str(copy_path(out_dir, kind, p) if kind else p)]
        mine = None
        if p.name in truth:
            t = truth[p.name]
            where = kind.point(t.cx, t.cy, sizes[p.name]) if kind else (t.cx, t.cy)
            mine = _find(found, where, t.size * (kind.scale if kind else 1.0))
            if mine is None:
                kf.missed.append(p.name)
            else:
                kf.truth[p.name] = mine
        kf.extras += [(p.name, f) for f in found if f is not mine]
    return kf


def load_copies(settings: AnalysisSettings | None = None, faces_dir: Path = FACES_DIR) -> CopySet:
    """The faces of the originals and of every kind of copy (analysed once, then cached)."""
    settings = settings or AnalysisSettings()
    out_dir = make_copies(faces_dir)
    with open(faces_dir / "identities.csv", encoding="utf-8") as fh:
        identity = {r["file"]: r["identity"] for r in csv.DictReader(fh)}
    files = originals(faces_dir)
    paths = files + [copy_path(out_dir, k, p) for k in KINDS for p in files]
    key_src = json.dumps([out_dir.name, repr(settings), source_stamp()])
    faces, emb_id, secs = _cached_faces(paths, settings, hashlib.sha256(key_src.encode()).hexdigest()[:16])
    sizes = {p.name: (probe(p).width, probe(p).height) for p in files}
    truth = {}
    for p in files:
        if p.name in identity and faces[str(p)]:
            truth[p.name] = max(faces[str(p)], key=lambda f: f.size)
    kinds = {ORIGINAL: _sort(None, faces, files, truth, sizes, out_dir)}
    for k in KINDS:
        kinds[k.name] = _sort(k, faces, files, truth, sizes, out_dir)
    return CopySet(emb_id, identity, kinds, secs)
