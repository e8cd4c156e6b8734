"""Import every compiled module of the installed packages, then build and query an Annoy index.

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
import sysconfig
import time
from pathlib import Path

import numpy as np

# Compiled modules that cannot be imported on their own (test helpers, optional back-ends whose
# Python side needs a missing package); everything else must import.
SKIP_PREFIXES = ("numpy._core._multiarray_tests", "numpy.core._multiarray_tests")
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
    report = {"modules": len(names), "import_errors": failed, "annoy_self_hits": hits,
              "seconds": round(time.monotonic() - start, 1)}  # fmt: skip
    print(json.dumps(report) if args.json else f"{len(names)} modules, annoy {hits}/100, errors: {failed}")
    return 0 if hits == 100 else 1


if __name__ == "__main__":
    raise SystemExit(main())
