"""scripts/bench scan [--files N]: first scan, unchanged rescan, and a bare os.scandir walk.

Builds a synthetic library of N files (tiny real JPEGs, hard-linked into folders of 500) in a
temp dir, then measures in one run: the first scan (hash + header probe of every file), an
unchanged rescan (one stat per file, no read), and a bare recursive os.scandir walk of the
same tree as the baseline. Target: rescan < 5 s for 100k files and <= 3x the bare walk.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

from PIL import Image

from tagmyphotos.config import load_config
from tagmyphotos.core import Core
from tagmyphotos.library.scan import scan_library, walk_rules
from tagmyphotos_lab.benchlib import emit, print_table

DISTINCT = 256  # distinct tiny JPEGs; the rest are hard links to them
PER_FOLDER = 500


def build_library(root: Path, files: int) -> None:
    sources = []
    src_dir = root / "_src"
    src_dir.mkdir(parents=True)
    for i in range(DISTINCT):
        buf = io.BytesIO()
        Image.new("RGB", (16, 16), (i % 256, (i * 7) % 256, (i * 13) % 256)).save(buf, "JPEG")
        path = src_dir / f"s{i}.jpg"
        path.write_bytes(buf.getvalue())
        sources.append(path)
    lib = root / "library"
    for n in range(files):
        folder = lib / f"{n // PER_FOLDER:04d}"
        if n % PER_FOLDER == 0:
            folder.mkdir(parents=True)
        os.link(sources[n % DISTINCT], folder / f"IMG_{n:06d}.jpg")


def scandir_walk(root: str) -> int:
    count = 0
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    entry.stat()
                    count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tmp-bench-scan-"))
    try:
        t0 = time.perf_counter()
        build_library(tmp, args.files)
        build_s = time.perf_counter() - t0
        cfg = load_config(tmp / "none.yaml", {"TAGMYPHOTOS_LIBRARY": str(tmp / "library"),
                                               "TAGMYPHOTOS_DATA": str(tmp / "data")})  # fmt: skip
        core = Core(cfg)
        rules = walk_rules(cfg.scan.extensions, cfg.scan.raw_extensions, cfg.scan.exclude, cfg.data)
        t0, c0 = time.perf_counter(), time.process_time()  # CPU too: the wall clock moves with load
        first = scan_library(cfg.library, rules)
        first_s, first_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        again = scan_library(cfg.library, rules)
        rescan_s, rescan_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        walked = scandir_walk(str(cfg.library))
        scandir_s, scandir_cpu = time.perf_counter() - t0, time.process_time() - c0
        core.close()
        assert first.seen == args.files == walked and again.unchanged == args.files and again.files_read == 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = rescan_s / scandir_s
    print(f"synthetic library: {args.files} files in {args.files // PER_FOLDER + 1} folders "
          f"(built in {build_s:.1f} s)\n")  # fmt: skip
    print_table(
        ["measure", "seconds", "files/s", "vs bare walk", "CPU s", "CPU vs bare walk"],
        [
            ["bare os.scandir walk (baseline)", scandir_s, int(args.files / scandir_s), 1.0, scandir_cpu, 1.0],
            ["first scan (hash + probe)", first_s, int(args.files / first_s), first_s / scandir_s, first_cpu,
             first_cpu / scandir_cpu],
            ["unchanged rescan", rescan_s, int(args.files / rescan_s), ratio, rescan_cpu, rescan_cpu / scandir_cpu],
        ],
    )  # fmt: skip
    print(f"\ntarget: rescan < 5 s for 100k files and <= 3x the bare walk: "
          f"{'met' if ratio <= 3 and rescan_s * 100_000 / args.files < 5 else 'NOT met'}")  # fmt: skip
    emit({
        "files": args.files,
        "first_scan_s": round(first_s, 3),
        "rescan_s": round(rescan_s, 3),
        "scandir_s": round(scandir_s, 3),
        "rescan_vs_scandir": round(ratio, 3),
        "first_scan_files_per_s": round(args.files / first_s, 1),
        "first_scan_files_per_cpu_s": round(args.files / first_cpu, 1),
        "rescan_vs_scandir_cpu": round(rescan_cpu / scandir_cpu, 3),
        "load_avg_1m": round(os.getloadavg()[0], 2),  # 2-core machine: > 2 means contended CPU
    })  # fmt: skip


if __name__ == "__main__":
    main()
