"""scripts/bench analyze [--naive-ids 4 --naive-per-id 3] [--no-12mp]: face analysis vs the naive loop.

In one run, on the 61 labelled photos of ../shared/testdata/faces (and 12-MP upscaled copies):
- naive: `DeepFace.represent(path, model_name="Dlib", detector_backend="dlib")` per file, in its
  own process as a user would run it (onnx engine; on a subset: it takes seconds a photo);
- the pipeline (tagmyphotos.faces_analyze) in one process, on 2 worker processes and on 2
  threads, and on the 12-MP copies;
- the decode floor (PIL full decode), the detector options on the group photos, the chip
  fidelity of reduced decodes (distance to embeddings cut from full-resolution pixels);
- peak RSS of the whole process tree (sampled from /proc), CPU seconds per photo, and the
  same/different-person ROC AUC of both on the same photos.
The machine may be shared: the 1-minute load average is printed; ratios are measured in one run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from benchlib import FACES_DIR, ROOT, emit, print_table
from PIL import Image
from sklearn.metrics import roc_auc_score

from tagmyphotos.faces_analyze import AnalysisSettings, FaceAnalyzer
from tagmyphotos.faces_detect import DETECTOR_MODES
from tagmyphotos.faces_embed import Aligner, DlibEmbedder
from tagmyphotos.images import load_image
from tagmyphotos.weights import link_weights

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")

NAIVE_CODE = r"""
import json, resource, sys, time
import numpy as np
from deepface import DeepFace
paths = json.loads(sys.argv[1])
DeepFace.represent(paths[0], model_name="Dlib", detector_backend="dlib")  # model load, not timed
start = time.perf_counter()
out = []
for p in paths:
    faces = DeepFace.represent(p, model_name="Dlib", detector_backend="dlib")
    best = max(faces, key=lambda f: f["facial_area"]["w"] * f["facial_area"]["h"])
    out.append(best["embedding"])
secs = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": secs, "rss_mb": rss, "vectors": out, "tf": "tensorflow" in sys.modules}))
"""


class TreeSampler:
    """Peak summed RSS and CPU seconds of this process and all its descendants, from /proc."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self.peak_pss_mb = 0.0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[int]:
        parent: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                parent.setdefault(ppid, []).append(int(entry))
        out, todo = [], [os.getpid()]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(parent.get(pid, []))
        return out

    def sample(self) -> None:
        total = pss = 0
        for pid in self._tree():
            try:
                with open(f"/proc/{pid}/statm") as fh:
                    total += int(fh.read().split()[1]) * PAGE
                with open(f"/proc/{pid}/smaps_rollup") as fh:
                    pss += next(int(line.split()[1]) * 1024 for line in fh if line.startswith("Pss:"))
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                self._cpu[pid] = (int(fields[11]) + int(fields[12])) / TICK
            except (OSError, IndexError, ValueError):
                continue
        self.peak_mb = max(self.peak_mb, total / 2**20)
        self.peak_pss_mb = max(self.peak_pss_mb, pss / 2**20)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.sample()

    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())

    def __enter__(self) -> TreeSampler:
        self.sample()
        self._start_cpu = self.cpu_seconds()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sample()
        self._stop.set()
        self._thread.join()
        self.cpu = self.cpu_seconds() - self._start_cpu


def auc(vectors: list[np.ndarray], ids: list[str]) -> float:
    v, lab = np.asarray(vectors, dtype=np.float64), np.asarray(ids)
    dist = np.linalg.norm(v[:, None] - v[None], axis=-1)
    iu = np.triu_indices(len(v), 1)
    return float(roc_auc_score((lab[:, None] == lab[None])[iu], -dist[iu]))


def largest(result) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    return max(result.faces, key=lambda f: f.size_px).embedding if result.faces else None


def run_pipeline(analyzer: FaceAnalyzer, paths: list[Path], workers: int, kind: str) -> dict:
    if workers > 1:  # start the pool and load the models outside the timing (done once per run)
        list(analyzer.analyze_many(paths[:4], workers=workers, executor=kind))
    results = {}
    with TreeSampler() as tree:
        start = time.perf_counter()
        for item in analyzer.analyze_many(paths, workers=workers, executor=kind):
            assert item.result is not None, item.error
            results[Path(item.path).name] = item.result
        secs = time.perf_counter() - start
    return {
        "results": results,
        "s": secs / len(paths),
        "cpu": tree.cpu / len(paths),
        "rss": tree.peak_mb,
        "pss": tree.peak_pss_mb,
    }


def decode_floor(paths: list[Path]) -> float:
    start = time.perf_counter()
    for p in paths:
        with Image.open(p) as im:
            im.convert("RGB").load()
    return (time.perf_counter() - start) / len(paths)


def make_12mp(paths: list[Path], dst: Path) -> list[Path]:
    out = []
    for p in paths:
        im = Image.open(p).convert("RGB")
        f = (12e6 / (im.width * im.height)) ** 0.5
        big = im.resize((round(im.width * f), round(im.height * f)), Image.Resampling.BICUBIC)
        big.save(dst / p.name, "JPEG", quality=92)
        out.append(dst / p.name)
    return out


def chip_fidelity(analyzer: FaceAnalyzer, results: dict, paths: list[Path]) -> tuple[float, float]:
    """Distance between each pipeline embedding and one whose chip is cut from full resolution."""
    aligner, embedder, dists = Aligner(), DlibEmbedder(), []
    for p in paths:
        res = results[p.name]
        full = load_image(p).pixels
        for f in res.faces:
            shape = aligner.landmarks(full, (f.x, f.y, f.w, f.h))
            ref = embedder.embed([aligner.chip(full, shape, 150, 0.25)])[0]
            dists.append(float(np.linalg.norm(ref - f.embedding)))
    return float(np.mean(dists)), float(np.max(dists))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--naive-ids", type=int, default=4, help="identities in the naive subset")
    ap.add_argument("--naive-per-id", type=int, default=3, help="photos per identity in the subset")
    ap.add_argument("--no-12mp", action="store_true", help="skip the 12-MP copies")
    args = ap.parse_args()
    with open(FACES_DIR / "identities.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ident = {r["file"]: r["identity"] for r in rows}
    paths = [FACES_DIR / r["file"] for r in rows]
    by_id: dict[str, list[Path]] = {}
    for p in sorted(paths, key=lambda p: (ident[p.name], p.name)):
        by_id.setdefault(ident[p.name], []).append(p)
    subset = [p for i in sorted(by_id)[: args.naive_ids] for p in by_id[i][: args.naive_per_id]]
    tmp = Path(tempfile.mkdtemp(prefix="bench-analyze-"))
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)

    # --- naive: its own process, deepface as shipped (weights linked: no download) --------------
    home = tmp / "deepface"
    link_weights(home)
    # onnx engine: with TensorFlow 2.21 installed deepface would otherwise demand tf-keras (a
    # second TensorFlow tree); its Dlib model never used TensorFlow anyway.
    env = {**os.environ, "DEEPFACE_HOME": str(home), "DEEPFACE_BACKEND_ENGINE": "onnx"}
    with TreeSampler() as naive_tree:
        proc = subprocess.run(
            [sys.executable, "-c", NAIVE_CODE, json.dumps([str(p) for p in subset])],
            env=env, capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
    naive = json.loads(proc.stdout.strip().splitlines()[-1])
    naive_s = naive["seconds"] / len(subset)
    naive_auc = auc(naive["vectors"], [ident[p.name] for p in subset])

    # --- pipeline ---------------------------------------------------------------------------
    floor = decode_floor(paths)
    # Pools first, from an analyzer that never loads the models in this (parent) process, as in
    # the product; the in-process run comes last.
    analyzer = FaceAnalyzer(AnalysisSettings(workers=2))
    procs = run_pipeline(analyzer, paths, 2, "process")
    analyzer.close()
    sub_s = run_pipeline(analyzer, subset, 2, "process")["s"]
    analyzer.close()
    threads = run_pipeline(analyzer, paths, 2, "thread")
    analyzer.close()
    res = procs["results"]
    pipe_auc = auc([largest(res[p.name]) for p in paths], [ident[p.name] for p in paths])
    pipe_auc_subset = auc([largest(res[p.name]) for p in subset], [ident[p.name] for p in subset])

    def row(name: str, n: int, r: dict, auc_value: object = "") -> list[object]:
        return [name, n, r["s"], 1 / r["s"], r.get("rss", ""), r.get("pss", ""), r.get("cpu", ""), auc_value]

    naive_r = {"s": naive_s, "rss": naive_tree.peak_mb, "pss": naive_tree.peak_pss_mb}
    naive_r["cpu"] = naive_tree.cpu / len(subset)
    rows_out = [
        row("naive deepface (subset, 1 process)", len(subset), naive_r, naive_auc),
        row("pipeline, same subset, 2 processes", len(subset), {"s": sub_s}, pipe_auc_subset),
        row("pipeline, 2 processes", len(paths), procs, pipe_auc),
        row("pipeline, 2 threads", len(paths), threads),
        row("PIL full decode (floor)", len(paths), {"s": floor}),
    ]
    figures: dict[str, object] = {}
    peak = max(procs["rss"], threads["rss"])
    if not args.no_12mp:
        big_dir = tmp / "12mp"
        big_dir.mkdir()
        big = make_12mp(paths, big_dir)
        floor12 = decode_floor(big)
        procs12 = run_pipeline(analyzer, big, 2, "process")
        analyzer.close()
        res12 = procs12["results"]
        auc12 = auc([largest(res12[p.name]) for p in big], [ident[p.name] for p in big])
        rows_out += [
            row("12-MP copies, 2 processes", len(big), procs12, auc12),
            row("12-MP PIL full decode (floor)", len(big), {"s": floor12}),
        ]
        peak = max(peak, procs12["rss"])
        figures |= {
            "photos_per_s_12mp": round(1 / procs12["s"], 2),
            "speedup_vs_naive_12mp": round(naive_s / procs12["s"], 1),
            "decode_floor_ms_12mp": round(floor12 * 1000, 1),
            "auc_12mp": round(auc12, 5),
            "second_decodes_12mp": sum(r.decodes > 1 for r in res12.values()),
        }
    single = run_pipeline(analyzer, paths, 1, "process")
    rows_out.insert(2, row("pipeline, 1 process", len(paths), single))
    if not args.no_12mp:
        fid_mean, fid_max = chip_fidelity(analyzer, res12, big[:20])
        figures |= {
            "chip_full_res_distance_mean": round(fid_mean, 4),
            "chip_full_res_distance_max": round(fid_max, 4),
        }
    print_table(["run", "photos", "s/photo", "photos/s", "RSS MB (tree)", "PSS MB", "CPU s/photo", "AUC"], rows_out)

    # --- detector options on the group photos and the labelled set ------------------------------
    det_rows = []
    for mode in DETECTOR_MODES:
        a = FaceAnalyzer(AnalysisSettings(detector=mode, workers=1))
        counts = [len(a.analyze(FACES_DIR / n).faces) for n in ("couple.jpg", "selfie-many-people.jpg")]
        start = time.perf_counter()
        found = sum(bool(a.analyze(p).faces) for p in paths)
        det_rows.append([mode, *counts, f"{found}/{len(paths)}", (time.perf_counter() - start) / len(paths)])
        figures[f"selfie_faces_{mode}"] = counts[1]
    print()
    print_table(["detector", "couple.jpg", "selfie-many-people.jpg", "labelled found", "s/photo (1 proc)"], det_rows)
    print(f"\nnaive imported TensorFlow: {naive['tf']}; its own peak RSS {naive['rss_mb']:.0f} MB")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    figures |= {
        "speedup_vs_naive": round(naive_s / procs["s"], 1),
        "speedup_same_subset": round(naive_s / sub_s, 1),
        "speedup_vs_naive_cpu": round((naive_tree.cpu / len(subset)) / procs["cpu"], 1),
        "naive_s_per_photo": round(naive_s, 3),
        "photos_per_s": round(1 / procs["s"], 2),
        "photos_per_s_threads": round(1 / threads["s"], 2),
        "process_vs_thread": round(threads["s"] / procs["s"], 2),
        "decode_floor_ms": round(floor * 1000, 1),
        "peak_rss_mb": round(peak, 1),
        "peak_pss_mb": round(max(procs["pss"], threads["pss"]), 1),
        "naive_peak_rss_mb": round(naive_tree.peak_mb, 1),
        "auc": round(pipe_auc, 5),
        "auc_same_subset": round(pipe_auc_subset, 5),
        "naive_auc": round(naive_auc, 5),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }
    emit(figures)


if __name__ == "__main__":
    main()
