"""dlib's chinese_whispers graph clustering, ported so that clustering needs no dlib.

`import dlib` kills the process with SIGILL on CPUs without AVX, and dlib-bin is now optional.
This is dlib/clustering/chinese_whispers.h line by line, with dlib::rand's generator (MT19937
seeded 5489, 10000 outputs discarded, 64-bit draws made of two 32-bit ones), so it returns
the very labels dlib.chinese_whispers returns for the same unweighted edge list (checked in
tests/matching/test_faces_cluster.py against dlib where dlib runs).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

ITERATIONS = 100  # dlib's default: 100 random node updates per node
_SEED = 5489
_DISCARD = 10_000
_CHUNK = 1 << 18


def _draws(n_nodes: int, count: int) -> Iterator[int]:
    """dlib::rand().get_random_64bit_number() % n_nodes, `count` times."""
    rng = np.random.RandomState(_SEED)  # legacy seeding = std::mt19937(5489)
    rng.randint(0, 1 << 32, size=_DISCARD, dtype=np.uint64)
    left = count
    while left > 0:
        k = min(left, _CHUNK)
        raw = rng.randint(0, 1 << 32, size=2 * k, dtype=np.uint64)
        picks = ((raw[0::2] << np.uint64(32)) | raw[1::2]) % np.uint64(n_nodes)
        yield from picks.tolist()
        left -= k


def chinese_whispers(edges: Sequence[tuple[int, int]], iterations: int = ITERATIONS) -> list[int]:
    """Labels 0..k-1 per node (nodes 0..max index), numbered in order of first appearance."""
    if not edges:
        return []
    n = max(max(i, j) for i, j in edges) + 1
    ordered = _ordered(edges)
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for i, j in ordered:
        neighbours[i].append(j)
    labels = list(range(n))
    for idx in _draws(n, n * iterations):
        counts: dict[int, int] = {}
        for j in neighbours[idx]:
            label = labels[j]
            counts[label] = counts.get(label, 0) + 1
        if counts:
            # std::map iterates labels in increasing order and keeps the first strict maximum
            labels[idx] = min(counts, key=lambda lab: (-counts[lab], lab))
    remap: dict[int, int] = {}
    for label in labels:
        remap.setdefault(label, len(remap))
    return [remap[label] for label in labels]


def _ordered(edges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """convert_unordered_to_ordered + sort: both directions of each edge, a self-loop once."""
    out = []
    for i, j in edges:
        a, b = min(i, j), max(i, j)
        out.append((a, b))
        if a != b:
            out.append((b, a))
    out.sort()
    return out
