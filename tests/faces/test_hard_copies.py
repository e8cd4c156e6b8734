"""tagmyphotos_lab/hard_copies.py: every kind of copy puts a point of the original where Kind.point says
(scripts/evaluate --copies finds the labelled face of a copy by that position)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tagmyphotos_lab.hard_copies import KINDS, Kind


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_a_marked_point_lands_where_the_kind_says(kind: Kind) -> None:
    size, spot = (900, 600), (630.0, 180.0)
    im = Image.new("RGB", size, (0, 0, 0))
    r = 24
    ImageDraw.Draw(im).ellipse((spot[0] - r, spot[1] - r, spot[0] + r, spot[1] + r), fill=(255, 255, 255))
    copy = np.asarray(kind.make(im).convert("L"), dtype=np.float64)
    ys, xs = np.nonzero(copy > 128)
    found = (xs.mean() + 0.5, ys.mean() + 0.5)  # pixel centres
    want = kind.point(*spot, size)
    assert np.hypot(found[0] - want[0], found[1] - want[1]) < 2.0, (kind.name, found, want)
