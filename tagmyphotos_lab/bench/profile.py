"""scripts/bench profile [--no-12mp] [--rounds 2]: CPU milliseconds per photo of each analysis step.

Why: on a 2-core box the analysis floor is its CPU time per photo, so what to speed up is
decided from where that time goes (issue 31). The default engine runs in this process as a
worker runs it (OpenCV on one thread, freed buffers kept), over the 61 labelled photos of
../shared/testdata/faces and their 12-MP copies; each step is timed in CPU seconds of this
process (other load on a shared machine does not change them much, unlike wall time):
decode (first and, for small faces, second), the detection resize, MTCNN's PNet pyramid,
RNet + ONet, landmarks, chip, embedding (with sharpness and flip-averaging), thumbnail, and
the database (SQLite rows of one transaction per photo plus the thumbnail files, as the
analyze stage stores them). The best of `--rounds` passes per step is kept.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2

from tagmyphotos.config import Config
from tagmyphotos.faces import analyze as faces_analyze
from tagmyphotos.faces.analyze import AnalysisResult, AnalysisSettings, FaceAnalyzer
from tagmyphotos.faces.images import reuse_freed_blocks
from tagmyphotos.stages.analyze import store_result
from tagmyphotos.store import models as m
from tagmyphotos.store.db import close_database, open_database
from tagmyphotos_lab.bench.analyze import make_12mp
from tagmyphotos_lab.benchlib import FACES_DIR, emit, print_table

STEPS = (
    ("decode", "decode (JPEG draft, orientation, RGB array)"),
    ("detect", "detect (MTCNN on the photo bounded to 1024 px)"),
    ("pnet", "  PNet on each pyramid level (ONNX Runtime, NMS)"),
    ("refine", "  RNet + ONet (patches, NMS, ONNX Runtime)"),
    ("resize", "  cv2.resize: bound + pyramid levels (+ sharpness, thumbnail)"),
    ("landmarks", "landmarks (dlib 5 points x 3 box scales, numpy)"),
    ("chip", "chip (dlib get_face_chip, numpy)"),
    ("embed", "embed (sharpness, ResNet on ONNX Runtime, flips)"),
    ("thumbnail", "thumbnail (crop, resize, JPEG)"),
    ("database", "database (one transaction per photo, thumbnail files)"),
)


class StepClock:
    """CPU seconds spent inside wrapped functions, per step; nested steps are not subtracted."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self._undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, name: str, step: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.cpu[step] += time.process_time() - start

        self._undo.append((owner, name, original))
        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)


def instrument(analyzer: FaceAnalyzer, clock: StepClock) -> None:
    """Wrap each step where FaceAnalyzer calls it (module functions and the engine's methods)."""
    engine: Any = analyzer._engine
    mtcnn = engine._detector._mtcnn
    clock.wrap(faces_analyze, "load_image", "decode")
    clock.wrap(engine, "detect", "detect")
    clock.wrap(cv2, "resize", "resize")
    clock.wrap(mtcnn, "_pnet_level", "pnet")
    clock.wrap(mtcnn, "_refine", "refine")
    clock.wrap(faces_analyze, "landmarks", "landmarks")
    clock.wrap(engine, "chip", "chip")
    clock.wrap(faces_analyze, "embed_chips", "embed")
    clock.wrap(faces_analyze, "face_thumbnail", "thumbnail")


def store_all(results: list[AnalysisResult], work: Path) -> Callable[[], None]:
    """A function that stores every result the way the analyze stage does, in a fresh database."""

    def run() -> None:
        data = Path(tempfile.mkdtemp(prefix="data-", dir=work))
        cfg = Config(library=work, data=data)
        open_database(data / "db.sqlite")
        try:
            for r in results:
                photo = m.Photo.create(path=Path(r.path).name, size=1, mtime=0.0, hash="h")
                store_result(cfg, photo, r)
        finally:
            close_database()

    return run


def profile(analyzer: FaceAnalyzer, paths: list[Path], rounds: int, work: Path) -> dict[str, float]:
    """Best-of-`rounds` CPU ms per photo of each step, and of the whole analysis."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        clock = StepClock()
        instrument(analyzer, clock)
        try:
            start = time.process_time()
            results = [analyzer.analyze(p) for p in paths]
            clock.cpu["analysis"] = time.process_time() - start
        finally:
            clock.restore()
        store = store_all(results, work)
        start = time.process_time()
        store()
        clock.cpu["database"] = time.process_time() - start
        for step, cpu in clock.cpu.items():
            best[step] = min(best.get(step, float("inf")), cpu / len(paths) * 1000)
        best["faces_per_photo"] = sum(len(r.faces) for r in results) / len(paths)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-12mp", action="store_true", help="skip the 12-MP copies")
    ap.add_argument("--rounds", type=int, default=2, help="passes per set (the best of them is kept)")
    args = ap.parse_args()
    with open(FACES_DIR / "identities.csv", encoding="utf-8") as fh:
        paths = [FACES_DIR / r["file"] for r in csv.DictReader(fh)]
    cv2.setNumThreads(1)  # as faces.workers sets it in every worker process
    analyzer = FaceAnalyzer(AnalysisSettings(workers=1))
    analyzer.load()
    reuse_freed_blocks()  # as a worker process does after loading its models
    work = Path(tempfile.mkdtemp(prefix="bench-profile-"))
    for p in paths[:3]:
        analyzer.analyze(p)  # first-call costs (ONNX Runtime's allocations) are not a photo's
    sets = {"testdata": profile(analyzer, paths, args.rounds, work)}
    if not args.no_12mp:
        big_dir = work / "12mp"
        big_dir.mkdir()
        sets["12mp"] = profile(analyzer, make_12mp(paths, big_dir), args.rounds, work)
    rows: list[list[object]] = []
    for key, label in STEPS:
        rows.append([label, *(round(s.get(key, 0.0), 1) for s in sets.values())])
    rows.append(["analysis total (all steps above but database)", *(round(s["analysis"], 1) for s in sets.values())])
    rows.append(["faces per photo", *(round(s["faces_per_photo"], 2) for s in sets.values())])
    print_table(["CPU ms per photo (1 process)", *(f"{k} ({len(paths)} photos)" for k in sets)], rows)
    unit = {step: "" if step == "faces_per_photo" else "_ms" for s in sets.values() for step in s}
    emit({f"{k}_{step}{unit[step]}": round(v, 2) for k, s in sets.items() for step, v in s.items()})


if __name__ == "__main__":
    main()
