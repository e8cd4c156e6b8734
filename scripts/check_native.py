"""Import every compiled module of the installed packages, build and query an Annoy index, and
decode a small DNG with LibRaw (rawpy).

Why: wheels and locally compiled extensions can carry instructions the build machine had and a
NAS CPU lacks (annoy compiles with -march=native unless told otherwise; dlib-bin needs AVX). The
container suite runs this under `qemu-x86_64 -cpu Denverton-v2` (an Atom C3000: x86-64 with
SSE4.2, no AVX) and in the arm64 image; an illegal instruction kills the process, and the last
"import" line printed names the culprit.
    python scripts/check_native.py [--json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import struct
import sysconfig
import time
from pathlib import Path

import numpy as np

# Compiled modules that cannot be imported on their own (test helpers, optional back-ends whose
# Python side needs a missing package, rawpy's copy of the LibRaw library itself); everything
# else must import.
SKIP_PREFIXES = ("numpy._core._multiarray_tests", "numpy.core._multiarray_tests", "rawpy.libraw_r")
SKIP_PARTS = ("tests", "testing", "_test", "test")


def extension_modules(site: Path) -> list[str]:
    """Dotted names of the compiled modules under site-packages."""
    suffixes = (".so", ".pyd")
    names = set()
    for path in site.rglob("*"):
        if path.suffix not in suffixes or not path.is_file():
            continue
        rel = path.relative_to(site)
        if any(p.endswith((".libs", ".data", ".dist-info")) or p in SKIP_PARTS for p in rel.parts[:-1]):
            continue
        stem = rel.name.split(".", 1)[0]
        parts = [*rel.parts[:-1], stem]
        if not all(p.isidentifier() for p in parts):
            continue
        names.add(".".join(parts))
    return sorted(n for n in names if not n.startswith(SKIP_PREFIXES))


def import_all(names: list[str], verbose: bool) -> list[str]:
    failed = []
    for name in names:
        if verbose:
            print(f"import {name}", flush=True)
        try:
            importlib.import_module(name)
        except Exception as exc:  # a missing optional dependency or import order: not a CPU problem
            failed.append(f"{name}: {exc}")
    return failed


def annoy_round_trip() -> int:
    from annoy import AnnoyIndex

    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(2000, 128)).astype(np.float32)
    index = AnnoyIndex(128, "euclidean")
    for i, v in enumerate(vectors):
        index.add_item(i, v.tolist())
    index.build(10)
    hits = sum(index.get_nns_by_vector(vectors[i].tolist(), 1)[0] == i for i in range(100))
    return int(hits)


def tiny_dng(side: int = 64) -> bytes:
    """A DNG whose IFD0 is an 8-bit RGGB mosaic of a flat orange (R 200, G 120, B 40)."""
    mosaic = bytearray(side * side)
    for y in range(side):
        for x in range(side):
            mosaic[y * side + x] = (200, 120)[x % 2] if y % 2 == 0 else (120, 40)[x % 2]
    entries = [(254, 4, 1, 0), (256, 4, 1, side), (257, 4, 1, side), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 32803), (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, side), (279, 4, 1, side * side),
               (33421, 3, 2, 2 | 2 << 16), (33422, 1, 4, int.from_bytes(bytes([0, 1, 1, 2]), "little")),
               (50706, 1, 4, int.from_bytes(bytes([1, 4, 0, 0]), "little"))]  # fmt: skip
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, typ, count, value) if typ == 4 or count > 2 or typ == 1
        else struct.pack("<HHIHH", tag, typ, count, value & 0xFFFF, value >> 16)
        for tag, typ, count, value in entries
    )  # fmt: skip
    return b"II*\0" + struct.pack("<I", 8 + len(mosaic)) + bytes(mosaic) + ifd + b"\0\0\0\0"


def libraw_round_trip() -> dict[str, object]:
    """rawpy imports and LibRaw decodes a mosaic at half size (the analysis's decode)."""
    import io

    import rawpy

    with rawpy.imread(io.BytesIO(tiny_dng())) as raw:
        rgb = raw.postprocess(half_size=True, output_bps=8, no_auto_bright=True, user_wb=[1, 1, 1, 1])
    red, green, blue = (int(v) for v in rgb.reshape(-1, 3).mean(axis=0))
    return {"libraw": ".".join(map(str, rawpy.libraw_version)), "shape": list(rgb.shape),
            "orange": red > green > blue}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object as the last line")
    parser.add_argument("--skip", action="append", default=[], help="module prefix not to import (repeatable)")
    args = parser.parse_args()
    site = Path(sysconfig.get_paths()["purelib"])
    names = [n for n in extension_modules(site) if not n.startswith(tuple(args.skip) or ("\0",))]
    start = time.monotonic()
    failed = import_all(names, verbose=not args.json)
    hits = annoy_round_trip()
    libraw = libraw_round_trip()
    report = {"modules": len(names), "import_errors": failed, "annoy_self_hits": hits, "libraw": libraw,
              "seconds": round(time.monotonic() - start, 1)}  # fmt: skip
    print(json.dumps(report) if args.json else f"{len(names)} modules, annoy {hits}/100, LibRaw {libraw}, "
          f"errors: {failed}")  # fmt: skip
    return 0 if hits == 100 and libraw["orange"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
