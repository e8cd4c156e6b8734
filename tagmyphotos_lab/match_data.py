"""Embeddings for scripts/evaluate, tagmyphotos_lab/bench/match.py and the matching tests.

Real: every face of ../shared/testdata/faces through tagmyphotos.faces.analyze (the product's
own pipeline), cached in .cache/ keyed by the embedding id and the files' sizes and times, so
only the first run pays the ~10 s of analysis.

Synthetic: per-identity Gaussians shaped like the real testdata embeddings. Identity centres
are drawn around the real embeddings' mean with their covariance, faces around their centre
with the covariance of the real within-identity residuals (both shrunk towards isotropic, as
61 faces cannot fill 128 dimensions), scaled so the median same- and different-identity
distances equal the real ones (0.39 and 0.89 for dlib).
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagmyphotos_lab.paths import CACHE_DIR, FACES

FACES_DIR = FACES
# Isotropic share of the shrunk covariances: 0.3 matches the real 1st and 5th percentiles of
# different-identity distances within 0.02 (0.1 makes identities closer, 0.5 farther apart).
SHRINK = 0.3


@dataclass(frozen=True)
class FaceSet:
    embedding_id: str
    files: list[str]  # labelled single-face photos, identities.csv order
    identities: list[str]
    vectors: np.ndarray  # (len(files), dim): the largest face of each labelled photo
    extra_files: list[str]  # one entry per face of the other photos (group shots, strangers)
    extra_vectors: np.ndarray
    extra_photo_faces: list[int]  # index of the face within its photo


@dataclass
class Draw:
    """One simulated user's labels: k photos of each person (none of a stranger's)."""

    confirmed: list[int]  # face ids (= row in FaceSet.vectors) the user labelled
    test: list[int]  # the other labelled faces of the same people


def draws(faces: FaceSet, k: int, seed: int, strangers: frozenset[str] = frozenset()) -> Draw:
    rng = np.random.default_rng(seed)
    ident = np.asarray(faces.identities)
    conf, test = [], []
    for person in sorted(set(faces.identities)):
        rows = np.flatnonzero(ident == person)
        rng.shuffle(rows)
        if person in strangers:
            test += rows.tolist()
        else:
            conf += rows[:k].tolist()
            test += rows[k:].tolist()
    return Draw(sorted(conf), sorted(test))


def tuning_stamp() -> list[object]:
    """The detection settings the cached vectors depend on besides the pipeline id."""
    from tagmyphotos import tuning

    return [
        tuning.DETECT_MAX_SIDE,
        tuning.ENGINE_MTCNN_MIN_FACE_PX,
        list(tuning.MTCNN_THRESHOLDS),
        tuning.MIN_FACE_PX,
        tuning.MTCNN_BUDGET_ASPECT,
        tuning.ROLL_UPRIGHT_MIN_DEG,
        tuning.FLIP_AVERAGE_BELOW_SHARPNESS,
    ]


def load_testdata_faces(faces_dir: Path = FACES_DIR, cache_dir: Path = CACHE_DIR, engine: str = "onnx") -> FaceSet:
    from tagmyphotos.faces.analyze import AnalysisSettings, FaceAnalyzer

    with open(faces_dir / "identities.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    photos = sorted(p for p in faces_dir.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    analyzer = FaceAnalyzer(AnalysisSettings(engine=engine))
    stamp = [(p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in photos]
    key_src = json.dumps([analyzer.embedding_id, tuning_stamp(), stamp])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    cache = cache_dir / f"testdata-faces-{key}.npz"
    per_photo: dict[str, list[int]]  # photo file -> [its first row in vecs, its face count]
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        per_photo = json.loads(str(data["index"]))
        vecs = data["vectors"]
        emb_id = str(data["embedding_id"])
    else:
        per_photo = {}
        chunks: list[list[np.ndarray]] = []
        emb_id = ""
        for p in photos:
            res = analyzer.analyze(p)
            emb_id = res.embedding_id
            faces = sorted(res.faces, key=lambda f: -f.size_px)
            per_photo[p.name] = [sum(len(c) for c in chunks), len(faces)]
            chunks.append([f.embedding for f in faces])
        vecs = np.asarray([v for c in chunks for v in c], np.float32)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, index=json.dumps(per_photo), vectors=vecs, embedding_id=emb_id)
        tmp.replace(cache)
    labelled = {r["file"] for r in rows}
    files, idents, lab_vecs = [], [], []
    for r in rows:
        start, n = per_photo[r["file"]]
        if n:
            files.append(r["file"])
            idents.append(r["identity"])
            lab_vecs.append(vecs[start])
    ex_files, ex_vecs, ex_pos = [], [], []
    for name, (start, n) in per_photo.items():
        if name not in labelled:
            for j in range(n):
                ex_files.append(name)
                ex_vecs.append(vecs[start + j])
                ex_pos.append(j)
    dim = vecs.shape[1] if len(vecs) else 128
    return FaceSet(
        emb_id,
        files,
        idents,
        np.asarray(lab_vecs, np.float32).reshape(-1, dim),
        ex_files,
        np.asarray(ex_vecs, np.float32).reshape(-1, dim),
        ex_pos,
    )


def synthetic_faces(real: FaceSet, n_faces: int, n_identities: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(vectors float32 (n_faces, dim), identity labels int64) shaped like `real`."""
    rng = np.random.default_rng(seed)
    x, y = real.vectors, np.asarray(real.identities)
    names = sorted(set(y))
    within = np.concatenate([x[y == p] - x[y == p].mean(axis=0) for p in names])
    between = x - x.mean(axis=0)
    same_real, diff_real = _median_pair_distances(x, y)
    # Covariances from 61 faces have rank < 128: shrink them towards isotropic (full rank).
    cov_w = _shrunk_cov(within)
    cov_b = _shrunk_cov(between)
    # E|u - v|^2 = 2 tr(cov) for two draws; in 128 dimensions distances concentrate near it.
    b2 = same_real**2 / (2 * np.trace(cov_w))
    a2 = max(diff_real**2 - same_real**2, 1e-6) / (2 * np.trace(cov_b))
    mean = x.mean(axis=0)
    centres = rng.multivariate_normal(mean, a2 * cov_b, size=n_identities, method="cholesky")
    labels = rng.integers(n_identities, size=n_faces)
    noise = rng.multivariate_normal(np.zeros(x.shape[1]), b2 * cov_w, size=n_faces, method="cholesky")
    return (centres[labels] + noise).astype(np.float32), labels.astype(np.int64)


def _shrunk_cov(dev: np.ndarray) -> np.ndarray:
    cov = dev.T @ dev / max(1, len(dev) - 1)
    iso = np.eye(cov.shape[0]) * np.trace(cov) / cov.shape[0]
    return (1 - SHRINK) * cov + SHRINK * iso


def _median_pair_distances(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    d = np.sqrt(np.maximum(0, (x * x).sum(1)[:, None] - 2 * x @ x.T + (x * x).sum(1)[None, :]))
    iu = np.triu_indices(len(y), 1)
    same = (y[:, None] == y[None, :])[iu]
    dd = d[iu]
    return float(np.median(dd[same])), float(np.median(dd[~same]))
