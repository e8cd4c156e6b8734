"""Vectors with exact distances for the matcher's tests: people A, B, C, and `v(x0=..)` points."""

from __future__ import annotations

import numpy as np

DIM = 128
A, B, C = 1, 2, 3


def v(**axes: float) -> np.ndarray:
    """A vector with the given coordinates on axes named x0..x127 (distances are exact)."""
    out = np.zeros(DIM, np.float32)
    for name, value in axes.items():
        out[int(name[1:])] = value
    return out
