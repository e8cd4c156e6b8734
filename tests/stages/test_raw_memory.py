"""Analysis memory for a 50 MP RAW decoded by LibRaw stays within the bound docs/performance.md gives (issue 28).

A 52 MP DNG (8660x6032 Bayer mosaic, 8 bit, made from a test photo) with only a 160 px preview, so
LibRaw decodes it at half size. The real server analyses it; the process tree's RSS is sampled from
outside (/proc) while it runs, as tests/faces/test_image_memory.py does for the worst PNG.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tagmyphotos_lab.appserver import serve
from tests.faces.test_image_memory import MB, ONE_DECODE_BYTES, rss, tree
from tests.support.base import FACES
from tests.support.rawfiles import make_dng

pytestmark = pytest.mark.slow  # a real server, a 52 MP decode and the models: ~1 min


def test_a_50_mp_raw_decoded_by_libraw_costs_one_bounded_decode(tmp_path: Path) -> None:
    lib = tmp_path / "library"
    dng = make_dng(FACES / "couple.jpg", lib / "big.dng", preview_max=160, raw_side=8660)
    assert dng.raw_size[0] * dng.raw_size[1] > 50_000_000
    with serve(lib, tmp_path / "data") as app, app.client() as api:
        idle = sum(rss(p) for p in tree(app.proc.pid))
        peak, done = [idle], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak.append(sum(rss(p) for p in tree(app.proc.pid)))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        try:
            assert api.post("/api/v1/jobs", json={"type": "scan"}).status_code == 202
            deadline = time.monotonic() + 300
            while True:
                jobs = api.get("/api/v1/jobs").json()["items"]
                if any(j["type"] == "match" and j["state"] == "done" for j in jobs):
                    break
                assert time.monotonic() < deadline and app.alive(), jobs
                time.sleep(0.5)
        finally:
            done.set()
            sampler.join()
        seconds = time.monotonic() - started
        (analysis,) = [j for j in jobs if j["type"] == "analyze"]
        (photo,) = api.get("/api/v1/photos").json()["items"]
    figures = {"analysis_tree_peak_mb": round(max(peak) / MB), "analysis_tree_idle_mb": round(idle / MB),
               "seconds": round(seconds, 1), "raw_decoded": analysis["result"]["raw_decoded"]}  # fmt: skip
    print(figures)
    assert analysis["state"] == "done" and analysis["result"]["raw_decoded"] == 1, analysis
    assert (photo["width"], photo["height"], photo["faces"]) == (*dng.raw_size, 2), photo
    assert max(peak) - idle < 2 * ONE_DECODE_BYTES, figures  # docs/performance.md's bound: workers' models + one decode
