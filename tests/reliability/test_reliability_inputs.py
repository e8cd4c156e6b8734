"""The hostile-input corpus (tests/support/badinputs.py) through the real scan and analyze stages.

Each case must get a clear recorded error or be handled (analysed, its face found); no case may
fail a job; the real photos beside them must all be processed; a rerun changes nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tests.support import badinputs as bi
from tests.support.base import FACES, ROOT, copy_tree, make_config, scan_and_analyze

GOOD = [FACES / "img2.jpg", FACES / "couple.jpg", FACES / "img5.jpg"]
GOOD_FACES = {"good/img2.jpg": 1, "good/couple.jpg": 2, "good/img5.jpg": 1}
# A recorded error must read as a sentence, not a dump.
MAX_MESSAGE_CHARS = 400


@dataclass
class CorpusRun:
    core: Core
    cases: list[bi.BadInput]
    photos: dict[str, m.Photo]
    faces: dict[str, int]
    events: dict[str, str]  # path -> error message logged by a job
    jobs: list[m.Job]


def face_count(photo_id: int) -> int:
    return int(m.Face.select().where(m.Face.photo == photo_id).count())


def _snapshot(core: Core, cases: list[bi.BadInput]) -> CorpusRun:
    photos = {p.path: p for p in m.Photo.select()}
    faces = {p.path: face_count(p.id) for p in photos.values()}
    events = {e.path: e.message for e in m.JobEvent.select().where(m.JobEvent.level == "error") if e.path}
    return CorpusRun(core, cases, photos, faces, events, list(m.Job.select().order_by(m.Job.id)))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusRun]:
    base = tmp_path_factory.mktemp("corpus")
    lib = base / "library"
    cases = bi.build_corpus(lib)
    bi.good_photos(lib, GOOD)
    core = Core(make_config(lib, base / "data"))
    try:
        scan_and_analyze(core)
        yield _snapshot(core, cases)
    finally:
        core.close()
        _unlink_deep(lib)


def _unlink_deep(lib: Path) -> None:
    """rmtree cannot remove folders nested past PATH_MAX; walk into them relatively."""
    if (lib / "toodeep").exists():
        subprocess.run(["rm", "-rf", "toodeep"], cwd=lib, check=False)


def _error_found(run: CorpusRun, case: bi.BadInput) -> str | None:
    """The error message recorded for a case: on its photo row, or as a job event."""
    photo = run.photos.get(case.rel)
    if photo is not None and photo.last_error:
        return str(photo.last_error)
    for path, message in run.events.items():
        if path == case.rel or path.startswith(case.rel + "/"):
            return message
    return None


def _check(run: CorpusRun, case: bi.BadInput) -> str | None:
    """None when the case ended as expected, else what went wrong."""
    photo = run.photos.get(case.rel)
    state = photo.state if photo is not None else None
    if case.expect == bi.DONE:
        if photo is None or state != m.PhotoState.DONE:
            return f"state {state}, error {photo.last_error if photo else None!r}"
        if run.faces[case.rel] < case.faces:
            return f"{run.faces[case.rel]} faces found, expected at least {case.faces}"
        if not 1 <= (photo.orientation or 0) <= 8:
            return f"orientation {photo.orientation} stored"
        return None
    if case.expect == bi.IGNORED:
        if photo is not None or _error_found(run, case):
            return f"expected to be skipped silently, got state {state} / {_error_found(run, case)!r}"
        return None
    message = _error_found(run, case)
    if case.expect == bi.DONE_OR_ERROR and state == m.PhotoState.DONE:
        return None
    if case.expect in (bi.ERROR, bi.DONE_OR_ERROR) and state not in (m.PhotoState.ERROR, m.PhotoState.FAILED):
        return f"expected an error state, got {state}"
    if case.expect == bi.WALK_ERROR and photo is not None:
        return f"expected no photo row, got state {state}"
    if not message:
        return "no error recorded"
    if case.hint and case.hint.lower() not in message.lower():
        return f"error {message!r} does not mention {case.hint!r}"
    if len(message) > MAX_MESSAGE_CHARS or "Traceback" in message or 'File "' in message:
        return f"error is not a readable sentence: {message[:200]!r}"
    return None


@pytest.mark.timeout(300)  # a hang on a hostile file (a FIFO) must fail, not stall the suite
def test_no_job_fails_and_every_real_photo_is_processed(corpus: CorpusRun) -> None:
    assert [(j.type, j.state) for j in corpus.jobs] == [("scan", m.JobState.DONE), ("analyze", m.JobState.DONE)], [
        (j.type, j.state, j.error) for j in corpus.jobs
    ]
    for rel, n in GOOD_FACES.items():
        assert corpus.photos[rel].state == m.PhotoState.DONE, rel
        assert corpus.faces[rel] == n, rel


def test_every_bad_input_is_handled_or_has_a_clear_error(corpus: CorpusRun) -> None:
    assert len(corpus.cases) >= 60
    wrong = {f"{c.rel[:70]} ({c.what})": problem for c in corpus.cases if (problem := _check(corpus, c))}
    assert not wrong, "\n".join(f"{k}: {v}" for k, v in wrong.items())
    analysed = sum(1 for c in corpus.cases if c.expect == bi.DONE)
    assert analysed >= 35  # most hostile files still hold a photo worth analysing


def test_rerun_changes_nothing(corpus: CorpusRun) -> None:
    """Bad files are not retried (or duplicated) while unchanged; good ones keep their faces."""
    before = {p: (row.state, row.last_error) for p, row in corpus.photos.items()}
    scan_and_analyze(corpus.core)
    after = _snapshot(corpus.core, corpus.cases)
    assert {p: (row.state, row.last_error) for p, row in after.photos.items()} == before
    assert after.faces == corpus.faces
    rerun = after.jobs[-2:]
    assert [j.state for j in rerun] == [m.JobState.DONE, m.JobState.DONE]
    assert rerun[1].result["photos"] == 0  # nothing was analysed twice


def test_orientation_out_of_range_is_stored_as_upright(corpus: CorpusRun) -> None:
    for name in ("0", "9", "65535", "negative", "text", "no-values"):
        photo = corpus.photos[f"exif/orientation-{name}.jpg"]
        assert photo.orientation == 1, (name, photo.orientation)


HEIC_CHILD = """
import sys
from pathlib import Path
from tests.support.base import make_config, scan_and_analyze
from tagmyphotos.core import Core
from tagmyphotos.store import models as m

if __name__ == "__main__":
    core = Core(make_config(Path(sys.argv[1]), Path(sys.argv[2]), TAGMYPHOTOS_ANALYSIS__WORKERS="1"))
    scan_and_analyze(core)
    for job in m.Job.select():
        print("job", job.type, job.state)
    for p in m.Photo.select():
        print("photo", p.path, p.state, p.last_error)
    core.close()
"""


def _run_child(lib: Path, data: Path, blocked: Path | None, tmp: Path) -> dict[str, str]:
    script = tmp / "heic_child.py"
    script.write_text(HEIC_CHILD)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(blocked or ""), str(ROOT)) if p)
    out = subprocess.run([sys.executable, str(script), str(lib), str(data)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [line.split(" ", 3) for line in out.stdout.splitlines()]
    jobs = {f"job:{parts[1]}": parts[2] for parts in lines if parts[0] == "job"}
    photos = {parts[1]: f"{parts[2]} {parts[3] if len(parts) > 3 else ''}" for parts in lines if parts[0] == "photo"}
    return jobs | photos


def test_heic_without_its_plugin_is_a_clear_error_and_recovers(tmp_path: Path) -> None:
    """pillow-heif import blocked (in the worker processes too): the HEIC gets a readable error,
    the JPEG beside it is analysed, and once the plugin is back the next scan takes the HEIC."""
    if not bi.HEIC.exists():
        pytest.skip("no HEIC test file")
    lib = copy_tree(FACES, tmp_path / "library", "img2.jpg")
    shutil.copyfile(bi.HEIC, lib / "iphone.heic")
    blocked = bi.blocking_package(tmp_path / "blocked", "pillow_heif", "pillow_heif blocked by the test")
    first = _run_child(lib, tmp_path / "data", blocked, tmp_path)
    assert first["job:scan"] == m.JobState.DONE and first["job:analyze"] == m.JobState.DONE
    assert first["img2.jpg"].startswith("done")
    state, message = first["iphone.heic"].split(" ", 1)
    assert state == m.PhotoState.ERROR and "HEIF" in message, message
    assert "pillow-heif" in message, f"the error should say what is missing: {message!r}"
    second = _run_child(lib, tmp_path / "data", None, tmp_path)
    assert second["iphone.heic"].startswith("done"), second


def test_files_changed_between_scan_and_analysis(tmp_path: Path) -> None:
    """Replaced, truncated and deleted after the scan: each gets a true state, then recovers."""
    lib = tmp_path / "library"
    for n in range(1, 7):
        copy_tree(FACES, lib, f"img{n}.jpg")
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        _change_between_stages(core, lib)
    finally:
        core.close()


def _change_between_stages(core: Core, lib: Path) -> None:
    from jobs.pipeline import STAGES
    from tagmyphotos.stages.runner import run_stage
    from tagmyphotos.store import jobs as jobs_store

    run_stage(core, STAGES["scan"], jobs_store.create_job("scan", {"no_follow": True}))
    (lib / "img1.jpg").write_bytes((FACES / "couple.jpg").read_bytes())  # now two faces
    data = (lib / "img3.jpg").read_bytes()
    (lib / "img3.jpg").write_bytes(data[: len(data) // 3])
    (lib / "img4.jpg").unlink()
    run_stage(core, STAGES["analyze"], jobs_store.create_job("analyze", {"no_follow": True}))
    assert m.Job.select().order_by(m.Job.id.desc()).first().state == m.JobState.DONE
    truncated = m.Photo.get(m.Photo.path == "img3.jpg")
    gone = m.Photo.get(m.Photo.path == "img4.jpg")
    assert truncated.state == m.PhotoState.FAILED and truncated.last_error
    assert gone.state == m.PhotoState.FAILED and "not found" in str(gone.last_error).lower()
    scan_and_analyze(core)  # the next scan sees what changed
    swapped = m.Photo.get(m.Photo.path == "img1.jpg")
    assert swapped.state == m.PhotoState.DONE and face_count(swapped.id) == 2  # the new content, once
    assert m.Photo.get_by_id(gone.id).state == m.PhotoState.MISSING
    assert m.Photo.get_by_id(truncated.id).state == m.PhotoState.ERROR
    assert m.Photo.select().where(m.Photo.state == m.PhotoState.DONE).count() == 4  # img1, 2, 5, 6


class Churn:
    """Rewrites one file continuously (other photos, half files, gone) while a job reads it."""

    def __init__(self, path: Path, contents: list[bytes]) -> None:
        self.path, self.contents = path, contents
        self.stop = threading.Event()
        self.rounds = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            data = self.contents[self.rounds % len(self.contents)]
            step = self.rounds % 3
            if step == 0:
                self.path.unlink(missing_ok=True)
            with open(self.path, "wb") as fh:  # in place: readers see it shrink and grow
                fh.write(data[: len(data) // 2])
                fh.flush()
                time.sleep(0.002)
                if step != 2:
                    fh.write(data[len(data) // 2 :])
            self.rounds += 1
            time.sleep(0.003)

    def __enter__(self) -> Churn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def test_files_that_change_while_being_read(tmp_path: Path) -> None:
    lib = copy_tree(FACES, tmp_path / "library", "img1*.jpg")
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        contents = [(FACES / name).read_bytes() for name in ("couple.jpg", "img2.jpg", "img47.jpg")]
        with Churn(lib / "churning.jpg", contents) as churn:
            for _ in range(2):
                scan_and_analyze(core)
        assert churn.rounds > 20
        assert all(j.state == m.JobState.DONE for j in m.Job.select()), [(j.type, j.error) for j in m.Job.select()]
        others = m.Photo.select().where(m.Photo.path != "churning.jpg")
        assert {p.state for p in others} == {m.PhotoState.DONE}
        (lib / "churning.jpg").write_bytes(contents[0])  # it settles: the next run gets it right
        scan_and_analyze(core)
        settled = m.Photo.get(m.Photo.path == "churning.jpg")
        assert settled.state == m.PhotoState.DONE and face_count(settled.id) == 2
    finally:
        core.close()
