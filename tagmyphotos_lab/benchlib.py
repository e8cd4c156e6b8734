"""Shared output and measurement helpers for the benchmarks (tagmyphotos_lab.bench) and evaluations.

Every benchmark prints a readable table and then, as its very last line, one JSON object of
its figures, so scripts and CI can parse it (`tail -1`).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from tagmyphotos_lab.paths import FACES, ROOT, SHARED

FACES_DIR = FACES
__all__ = ["FACES_DIR", "ROOT", "SHARED", "best_of", "cpu_count", "emit", "peak_rss_mb", "print_table", "timer"]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows as an aligned plain-text table."""
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def emit(figures: dict[str, object]) -> None:
    """Print the figures as the final JSON line."""
    sys.stdout.flush()
    print(json.dumps(figures, sort_keys=True))


def peak_rss_mb(children: bool = True) -> float:
    """Peak resident set size of this process (and, by default, its reaped children)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if children else 0
    return round(max(own, kids) / 1024.0, 1)


@contextmanager
def timer() -> Iterator[dict[str, float]]:
    """`with timer() as t: ...` then `t["s"]` holds the elapsed seconds."""
    out: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield out
    finally:
        out["s"] = time.perf_counter() - start


def best_of(n: int, fn: Callable[[], object]) -> float:
    """The fastest of n runs of fn, in seconds (the least disturbed by other load)."""
    times = []
    for _ in range(n):
        with timer() as t:
            fn()
        times.append(t["s"])
    return min(times)


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 100 else f"{v:.1f}"
    return str(v)
