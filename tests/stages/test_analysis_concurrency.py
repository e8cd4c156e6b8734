"""Two analyses at once in one server (issue 14, items 2 and 3).

The attack: two `POST /api/v1/jobs {"type": "scan"}` 3 s apart. The first scan's analysis is
still running when the second scan ends and starts its own, so two analyze jobs run on the
server's two queue threads. With `analysis.workers: 1` both called the same dlib models from
two threads (a segfault, no log line, and again after the restart requeued both); with the
default two worker processes, the first to finish closed the pool under the other ("cannot
schedule new futures after shutdown" as the job's error, photos left pending).

Here against the real server with real photos: it stays up, every photo is analysed, no job
fails, and the worker pool is gone once the analyses are over.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tagmyphotos_lab.appserver import serve
from tests.support.base import FACES, copy_tree

# The 64 test photos in three folders: an analysis long enough (192 photos) that the second
# scan's analysis starts while the first still runs, on an idle machine too.
COPIES = ("a", "b", "c")


@pytest.mark.slow  # two real servers analysing 192 photos each: minutes
@pytest.mark.parametrize("workers", ["1", "2"])
def test_two_scans_three_seconds_apart(tmp_path: Path, workers: str) -> None:
    lib = tmp_path / "library"
    for folder in COPIES:
        copy_tree(FACES, lib / folder, "*.jpg")
    count = sum(1 for _ in lib.rglob("*.jpg"))
    with serve(lib, tmp_path / "data", TAGMYPHOTOS_ANALYSIS__WORKERS=workers) as app, app.client() as api:
        first = api.post("/api/v1/jobs", json={"type": "scan"})
        assert first.status_code == 202
        deadline = time.monotonic() + 60  # the first scan's analysis under way
        while not api.get("/api/v1/jobs", params={"type": "analyze", "state": "running"}).json()["items"]:
            assert app.alive() and time.monotonic() < deadline, app.log.read_text()[-2000:]
            time.sleep(0.2)
        time.sleep(3)
        assert api.post("/api/v1/jobs", json={"type": "scan"}).status_code == 202
        deadline = time.monotonic() + 300
        while True:
            assert app.alive(), "the server died:\n" + app.log.read_text()[-3000:]
            jobs = api.get("/api/v1/jobs", params={"per_page": 50}).json()["items"]
            if (
                jobs
                and all(j["state"] in ("done", "failed", "cancelled") for j in jobs)
                and any(j["type"] == "match" for j in jobs)
            ):
                break
            assert time.monotonic() < deadline, jobs
            time.sleep(0.5)
        assert [j for j in jobs if j["state"] != "done"] == []
        assert sum(j["type"] == "scan" for j in jobs) == 2
        analyses = sorted((j["started_at"], j["finished_at"]) for j in jobs if j["type"] == "analyze")
        assert len(analyses) == 2 and analyses[1][0] < analyses[0][1]  # they did run at the same time
    with sqlite3.connect(tmp_path / "data" / "tagmyphotos.db") as db:
        states = dict(db.execute("SELECT state, COUNT(*) FROM photo GROUP BY state").fetchall())
    assert states == {"done": count}


def test_a_job_error_is_a_sentence_not_a_libraries_text() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tagmyphotos.stages.runner import failure_sentence

    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    try:
        pool.submit(print)
    except RuntimeError as exc:
        text = failure_sentence("analyze", exc)
    assert text.startswith("The analyze job stopped on an unexpected error (RuntimeError)")
    assert "futures" not in text
    try:
        raise FileNotFoundError("library folder /x does not exist or is not a folder")  # ours: kept
    except FileNotFoundError as exc:
        assert failure_sentence("scan", exc) == "library folder /x does not exist or is not a folder"
