"""scripts/bench analyze [--naive-every 3] [--no-12mp]: face analysis vs the naive loop.

In one run, on the 61 labelled photos of ../shared/testdata/faces (and 12-MP upscaled copies):
- naive: `DeepFace.represent(path, model_name="Dlib", detector_backend="dlib")` per file, in its
  own process as a user would run it (onnx engine; on a subset: it takes seconds a photo);
- the pipeline (tagmyphotos.faces.analyze, default onnx engine) in one process, on 2 worker
  processes and on 2 threads, and on the 12-MP copies; the previous engine (dlib-bin) on the
  same subset as the naive loop, when this CPU can run it;
- the decode floor (PIL full decode), the detector options on the group photos, the chip
  fidelity of reduced decodes (distance to embeddings cut from full-resolution pixels);
- peak RSS of the whole process tree (sampled from /proc), CPU seconds per photo, and the
  same/different-person ROC AUC of both on the same photos.
The machine may be shared: the 1-minute load average is printed, and the CPU seconds per photo
(which other processes do not change) give the speed-up an idle 2-core box would see.
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
from PIL import Image

from tagmyphotos.faces import workers
from tagmyphotos.faces.analyze import AnalysisSettings, FaceAnalyzer
from tagmyphotos.faces.engine_dlib import EngineUnavailableError, require_dlib
from tagmyphotos.faces.engine_onnx import OnnxEngine
from tagmyphotos.faces.images import load_image, probe
from tagmyphotos.faces.weights import link_weights
from tagmyphotos_lab.benchlib import FACES_DIR, ROOT, emit, print_table

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
PSS_EVERY = 5  # samples (every 50 ms) per PSS reading

NAIVE_CODE = r"""
import json, sys, time
import numpy as np
from deepface import DeepFace
paths = json.loads(sys.argv[1])
DeepFace.represent(paths[0], model_name="Dlib", detector_backend="dlib")  # model load, not timed
print("READY", flush=True)
start = time.perf_counter()
out = []
for p in paths:
    faces = DeepFace.represent(p, model_name="Dlib", detector_backend="dlib")
    best = max(faces, key=lambda f: f["facial_area"]["w"] * f["facial_area"]["h"])
    out.append(best["embedding"])
secs = time.perf_counter() - start
print(json.dumps({"n": len(paths), "s": secs / len(paths), "vectors": out, "tf": "tensorflow" in sys.modules}))
"""


class TreeSampler:
    """Peak summed RSS/PSS and CPU seconds of a process and all its descendants, from /proc."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_mb = self.peak_pss_mb = 0.0
        self._n = 0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        """The root and its descendants, from each process's children list (reading the whole
        of /proc every 50 ms took ~8% of a core from the 2 cores the workers measured share);
        the scan of /proc where the kernel has no children lists."""
        out, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            out.append(pid)
            try:
                for tid in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{tid}/children") as fh:
                        todo.extend(int(c) for c in fh.read().split())
            except FileNotFoundError:
                if pid == self.root and not os.path.exists(f"/proc/{pid}/task/{pid}/children"):
                    return self._tree_by_scan()
            except OSError:
                continue
        return out

    def _tree_by_scan(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
        out, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, []))
        return out

    def sample(self) -> None:
        """RSS and CPU every call; PSS every PSS_EVERY-th (smaps_rollup walks every page table:
        3 ms a read of the tree, 6% of a core at 20 reads a second, taken from the workers)."""
        self._n += 1
        with_pss = self._n % PSS_EVERY == 1
        total = pss = 0
        for pid in self._tree():
            try:
                with open(f"/proc/{pid}/statm") as fh:
                    total += int(fh.read().split()[1]) * PAGE
                if with_pss:
                    with open(f"/proc/{pid}/smaps_rollup") as fh:
                        pss += next(int(line.split()[1]) * 1024 for line in fh if line.startswith("Pss:"))
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                self._cpu[pid] = (int(fields[11]) + int(fields[12])) / TICK
            except (OSError, IndexError, ValueError, StopIteration):
                continue
        self.peak_mb = max(self.peak_mb, total / 2**20)
        if with_pss:
            self.peak_pss_mb = max(self.peak_pss_mb, pss / 2**20)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.sample()

    def cpu_seconds(self) -> float:
        self.sample()
        return sum(self._cpu.values())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a child that prints READY after its warm-up, then one JSON line; sample its tree."""
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    tree = TreeSampler(proc.pid)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "READY":
        proc.wait()
        raise RuntimeError(f"{cmd[:3]} failed before its warm-up ended: {line!r}")
    cpu0 = tree.cpu_seconds()
    out = json.loads(proc.stdout.read().strip().splitlines()[-1])
    cpu1 = tree.cpu_seconds()
    if proc.wait() != 0:
        raise RuntimeError(f"{cmd[:3]} exited with {proc.returncode}")
    tree.stop()
    out |= {"rss": tree.peak_mb, "pss": tree.peak_pss_mb, "cpu": (cpu1 - cpu0) / out["n"]}
    return out


def pipeline(
    paths: list[Path], workers: int, kind: str = "process", detector: str = "auto", engine: str = "onnx"
) -> dict:
    """The product's analysis in a fresh interpreter (as the app runs it), measured from outside."""
    spec = {"paths": [str(p) for p in paths], "workers": workers, "kind": kind, "detector": detector, "engine": engine}
    # `-c`, not this file: spawned workers re-import the parent's __main__ file, and this one
    # imports the benchmark's tools; the app's entry point is a small module.
    code = "import sys; from tagmyphotos_lab.bench.analyze import child; child(sys.argv[1])"
    return run_measured([sys.executable, "-c", code, json.dumps(spec)])


def child(spec_json: str) -> None:
    spec = json.loads(spec_json)
    paths = [Path(p) for p in spec["paths"]]
    settings = AnalysisSettings(engine=spec["engine"], detector=spec["detector"], workers=spec["workers"])
    analyzer = FaceAnalyzer(settings)
    # Start the pool and load the models before the clock starts: once per run of the app.
    with workers.lease(analyzer, executor=spec["kind"]) as pool:
        list(pool.analyze_many(paths[:4]))
        print("READY", flush=True)
        faces: dict[str, list] = {}
        start = time.perf_counter()
        for item in pool.analyze_many(paths):
            r = item.result
            assert r is not None, item.error
            big = max(r.faces, key=lambda f: f.size_px).embedding.tolist() if r.faces else None
            faces[Path(item.path).name] = [len(r.faces), r.decodes, big]
        secs = time.perf_counter() - start
    print(json.dumps({"n": len(paths), "s": secs / len(paths), "faces": faces}))


def auc(vectors: list, ids: list[str]) -> float:
    from sklearn.metrics import roc_auc_score

    v, lab = np.asarray(vectors, dtype=np.float64), np.asarray(ids)
    dist = np.linalg.norm(v[:, None] - v[None], axis=-1)
    iu = np.triu_indices(len(v), 1)
    return float(roc_auc_score((lab[:, None] == lab[None])[iu], -dist[iu]))


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


def chip_fidelity(paths: list[Path], originals: Path) -> dict[str, float]:
    """How much the reduced decode moves embeddings, against how much a re-rendition does.

    For each face the pipeline finds in a 12-MP copy: distance to the embedding whose chip is
    cut from the full 12-MP pixels, and (baseline) distance between the full-resolution
    embeddings of the 12-MP copy and of the original photo.
    """
    analyzer = FaceAnalyzer(AnalysisSettings(workers=1))
    engine = OnnxEngine()

    def embedding(rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        return engine.embed([engine.chip(rgb, engine.landmarks(rgb, box))])[0]

    reduced, rendition = [], []
    for p in paths:
        full = load_image(p).pixels
        orig = load_image(originals / p.name).pixels
        k = orig.shape[1] / full.shape[1]
        for f in analyzer.analyze(p).faces:
            ref = embedding(full, (f.x, f.y, f.w, f.h))
            other = embedding(orig, (f.x * k, f.y * k, f.w * k, f.h * k))
            reduced.append(float(np.linalg.norm(ref - f.embedding)))
            rendition.append(float(np.linalg.norm(ref - other)))
    return {
        "chip_reduced_decode_distance_mean": round(float(np.mean(reduced)), 4),
        "chip_reduced_decode_distance_max": round(float(np.max(reduced)), 4),
        "rendition_distance_mean": round(float(np.mean(rendition)), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--naive-every", type=int, default=3, help="naive on every Nth photo by size")
    ap.add_argument("--no-12mp", action="store_true", help="skip the 12-MP copies")
    args = ap.parse_args()
    with open(FACES_DIR / "identities.csv", encoding="utf-8") as fh:
        ident = {r["file"]: r["identity"] for r in csv.DictReader(fh)}
    paths = [FACES_DIR / f for f in ident]
    # The naive loop's cost grows with the pixels (dlib upsamples the full image) while the
    # pipeline's hardly does: the subset is the middle photo of each group of N in order of size,
    # so it has the whole set's size distribution.
    pixels = {p: probe(p).width * probe(p).height for p in paths}
    by_size = sorted(paths, key=lambda p: (pixels[p], p.name))
    k = args.naive_every
    subset = by_size[k // 2 :: k]
    tmp = Path(tempfile.mkdtemp(prefix="bench-analyze-"))
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)

    def vectors(run: dict, names: list[Path]) -> list:
        return [run["faces"][p.name][2] for p in names]

    def row(name: str, n: int, r: dict, auc_value: object = "") -> list[object]:
        cores = round(r["cpu"] / r["s"], 2) if "cpu" in r else ""
        return [name, n, r["s"], 1 / r["s"], r.get("rss", ""), r.get("pss", ""), r.get("cpu", ""), cores, auc_value]

    # naive: its own process, deepface as shipped; onnx engine because with TensorFlow 2.21
    # installed deepface would demand tf-keras (a second TensorFlow tree); its Dlib model never
    # used TensorFlow anyway. Weights linked into a temp DEEPFACE_HOME: no download.
    home = tmp / "deepface"
    link_weights(home)
    env = {**os.environ, "DEEPFACE_HOME": str(home), "DEEPFACE_BACKEND_ENGINE": "onnx"}
    naive = run_measured([sys.executable, "-c", NAIVE_CODE, json.dumps([str(p) for p in subset])], env)
    naive_auc = auc(naive["vectors"], [ident[p.name] for p in subset])

    floor = decode_floor(paths)
    try:
        require_dlib()
        old = pipeline(subset, 2, engine="dlib")
    except EngineUnavailableError as exc:
        print(f"previous engine not measured: {exc}")
        old = None
    sub = pipeline(subset, 2)
    procs = pipeline(paths, 2)
    threads = pipeline(paths, 2, "thread")
    single = pipeline(paths, 1)
    ids = [ident[p.name] for p in paths]
    pipe_auc = auc(vectors(procs, paths), ids)
    sub_ids = [ident[p.name] for p in subset]
    sub_auc = auc(vectors(sub, subset), sub_ids)
    rows_out = [
        row("naive deepface (subset, 1 process)", len(subset), naive, naive_auc),
        row("pipeline, same subset, 2 processes", len(subset), sub, sub_auc),
        *(
            [row("previous engine (dlib), same subset, 2 proc.", len(subset), old, auc(vectors(old, subset), sub_ids))]
            if old
            else []
        ),
        row("pipeline, 1 process", len(paths), single, auc(vectors(single, paths), ids)),
        row("pipeline, 2 processes", len(paths), procs, pipe_auc),
        row("pipeline, 2 threads", len(paths), threads, auc(vectors(threads, paths), ids)),
        row("PIL full decode (floor)", len(paths), {"s": floor}),
    ]
    figures: dict[str, object] = {}
    peak = max(r["rss"] for r in (sub, procs, threads, single))
    peak_pss = max(r["pss"] for r in (sub, procs, threads, single))
    if not args.no_12mp:
        big_dir = tmp / "12mp"
        big_dir.mkdir()
        big = make_12mp(paths, big_dir)
        floor12 = decode_floor(big)
        procs12 = pipeline(big, 2)
        auc12 = auc(vectors(procs12, big), ids)
        rows_out += [
            row("12-MP copies, 2 processes", len(big), procs12, auc12),
            row("12-MP PIL full decode (floor)", len(big), {"s": floor12}),
        ]
        peak, peak_pss = max(peak, procs12["rss"]), max(peak_pss, procs12["pss"])
        figures |= {
            "photos_per_s_12mp": round(1 / procs12["s"], 2),
            "speedup_vs_naive_12mp": round(naive["s"] / procs12["s"], 1),
            "decode_floor_ms_12mp": round(floor12 * 1000, 1),
            "auc_12mp": round(auc12, 5),
            "second_decodes_12mp": sum(v[1] > 1 for v in procs12["faces"].values()),
        }
        figures |= chip_fidelity(big[::3], FACES_DIR)
    # cores used = CPU s / wall s: ~1 for the naive loop and ~2 for 2 workers on an idle box; on a
    # shared one, other sessions' load (each session an autogroup with an equal share, whatever
    # its process count) takes it from the workers first, and the wall-clock ratio with it.
    head = ["run", "photos", "s/photo", "photos/s", "RSS MB (tree)", "PSS MB", "CPU s/photo", "cores used", "AUC"]
    print_table(head, rows_out)

    # detector options: the group photos and the labelled set, one process each
    det_rows = []
    groups = [FACES_DIR / "couple.jpg", FACES_DIR / "selfie-many-people.jpg"]
    options = [("onnx", "mtcnn")] + ([("dlib", m) for m in ("hog", "hog+mtcnn", "hog|mtcnn", "mtcnn")] if old else [])
    for engine, mode in options:
        run = pipeline(paths + groups, 1, detector=mode, engine=engine)
        counts = [run["faces"][g.name][0] for g in groups]
        found = sum(run["faces"][p.name][0] > 0 for p in paths)
        det_rows.append([engine, mode, *counts, f"{found}/{len(paths)}", run["s"], run["rss"]])
        figures[f"selfie_faces_{engine}_{mode}"] = counts[1]
        figures[f"couple_faces_{engine}_{mode}"] = counts[0]
        figures[f"labelled_found_{engine}_{mode}"] = found
    print()
    head = ["engine", "detector", "couple.jpg", "selfie-many-people.jpg", "labelled found", "s/photo", "RSS MB"]
    print_table(head, det_rows)
    print(f"\nnaive imported TensorFlow: {naive['tf']}; load average at end: {os.getloadavg()[0]:.1f}")
    figures |= {
        "speedup_vs_naive": round(naive["s"] / sub["s"], 1),
        "speedup_vs_naive_previous_engine": round(naive["s"] / old["s"], 1) if old else None,
        "previous_engine_auc_same_subset": round(auc(vectors(old, subset), sub_ids), 5) if old else None,
        "previous_engine_peak_rss_mb": round(old["rss"], 1) if old else None,
        "speedup_vs_naive_61": round(naive["s"] / procs["s"], 1),
        "speedup_vs_naive_cpu_per_core": round(naive["cpu"] / sub["cpu"], 1),
        "naive_cores_used": round(naive["cpu"] / naive["s"], 2),
        "pipeline_cores_used": round(sub["cpu"] / sub["s"], 2),
        # What an idle 2-core box gives: the naive loop runs on one core, the workers on both.
        "speedup_vs_naive_2_cores_from_cpu": round(naive["cpu"] / sub["cpu"] * min(2, os.cpu_count() or 1), 1),
        "naive_s_per_photo": round(naive["s"], 3),
        "naive_subset_megapixels": round(float(np.mean([pixels[p] for p in subset])) / 1e6, 2),
        "all_megapixels": round(float(np.mean(list(pixels.values()))) / 1e6, 2),
        "photos_per_s": round(1 / procs["s"], 2),
        "photos_per_s_1_process": round(1 / single["s"], 2),
        "photos_per_s_threads": round(1 / threads["s"], 2),
        "decode_floor_ms": round(floor * 1000, 1),
        "peak_rss_mb": round(peak, 1),
        "peak_pss_mb": round(peak_pss, 1),
        "naive_peak_rss_mb": round(naive["rss"], 1),
        "auc": round(pipe_auc, 5),
        "auc_same_subset": round(sub_auc, 5),
        "naive_auc": round(naive_auc, 5),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }
    emit(figures)


if __name__ == "__main__":
    main()
