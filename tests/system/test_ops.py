"""/metrics, /healthz and /readyz on a real Core (SQLite, real scan and analysis, real exiftool).

Every expected value is read back from the database or the job rows independently of the
collector, then compared with what Prometheus' own text parser finds in the exposition.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tagmyphotos import VERSION
from tagmyphotos.core import Core
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos.system import metrics
from tests.support import dbtarget
from tests.support.base import FACES, make_config


def app_for(core: Core) -> TestClient:
    from ui.api.ops import router

    app = FastAPI()
    app.state.core = core
    app.include_router(router)
    return TestClient(app)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient) -> tuple[Samples, dict[str, str]]:
    """{(sample name, sorted labels): value} and {family name: type}, via the official parser."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(response.text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, types


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def _run(core: Core, job_type: str) -> m.Job:
    from jobs.pipeline import STAGES
    from tagmyphotos.stages.runner import run_stage

    if job_type not in STAGES:
        pytest.skip(f"the {job_type} stage is not in the pipeline yet")
    job_id = jobs_store.create_job(job_type, {"no_follow": True})
    run_stage(core, STAGES[job_type], job_id)
    job = m.Job.get_by_id(job_id)
    assert job.state == m.JobState.DONE, job.error
    return job


def _seconds(job: m.Job) -> float:
    return (job.finished_at - job.started_at).total_seconds()


@pytest.fixture
def analysed(analysed_core: Core) -> tuple[Core, TestClient, m.Job, m.Job]:
    """The shared, really scanned and analysed test library (conftest), and its two jobs."""
    scan = m.Job.get(m.Job.type == "scan")
    analyze = m.Job.get(m.Job.type == "analyze")
    assert scan.state == analyze.state == m.JobState.DONE, (scan.error, analyze.error)
    return analysed_core, app_for(analysed_core), scan, analyze


def test_metrics_after_a_real_pipeline_run(analysed: tuple[Core, TestClient, m.Job, m.Job]) -> None:
    core, client, scan, analyze = analysed
    samples, types = scrape(client)
    photos = {s: m.Photo.select().where(m.Photo.state == s).count() for s in m.PHOTO_STATES}
    faces = {s: m.Face.select().where(m.Face.state == s).count() for s in m.FACE_STATES}
    assert sum(photos.values()) == len(list(FACES.glob("*.jpg")))
    assert faces[m.FaceState.UNKNOWN] > 0, "the analysis found faces in the test photos"
    for state, n in photos.items():
        assert value(samples, "tagmyphotos_photos", state=state) == n
    for state, n in faces.items():
        assert value(samples, "tagmyphotos_faces", state=state) == n
    assert value(samples, "tagmyphotos_unknown_faces") == faces[m.FaceState.UNKNOWN] + faces[m.FaceState.SUGGESTED]
    assert value(samples, "tagmyphotos_jobs", type="scan", state="done") == 1
    assert value(samples, "tagmyphotos_jobs", type="analyze", state="done") == 1
    # job durations: one observation per finished job, its exact run time
    for job in (scan, analyze):
        labels = {"type": job.type, "state": "done"}
        assert value(samples, "tagmyphotos_job_duration_seconds_count", **labels) == 1
        # the database keeps microseconds; a scan of six photos takes ~0.07 s, so the tolerance is absolute
        assert value(samples, "tagmyphotos_job_duration_seconds_sum", **labels) == pytest.approx(
            _seconds(job), abs=1e-5
        )
        first_bucket = next(b for b in metrics.JOB_DURATION_BUCKETS if b >= _seconds(job))
        assert value(samples, "tagmyphotos_job_duration_seconds_bucket", le=str(first_bucket), **labels) == 1
    assert types["tagmyphotos_job_duration_seconds"] == "histogram"
    # analysis throughput: photos of the analyze job over its run time
    assert analyze.progress_done == analyze.result["photos"] > 0
    assert value(samples, "tagmyphotos_analysis_photos_total") == analyze.progress_done
    assert types["tagmyphotos_analysis_photos"] == "counter"
    assert value(samples, "tagmyphotos_analysis_photos_per_second") == pytest.approx(
        analyze.progress_done / _seconds(analyze), rel=1e-6
    )
    # per worker process (this one ran the analysis): an operator sees what each worker adds
    me = f"{socket.gethostname()}:{os.getpid()}"
    assert analyze.worker_host == socket.gethostname() and analyze.worker_pid == os.getpid()
    assert value(samples, "tagmyphotos_worker_analysis_photos_total", worker=me) == analyze.progress_done
    assert value(samples, "tagmyphotos_worker_analysis_photos_per_second", worker=me) == pytest.approx(
        analyze.progress_done / _seconds(analyze), rel=1e-6
    )
    assert value(samples, "tagmyphotos_workers") == 0, "no queue consumer runs in this test"
    assert value(samples, "tagmyphotos_job_last_success_timestamp_seconds", type="analyze") == pytest.approx(
        analyze.finished_at.replace(tzinfo=dt.UTC).timestamp()
    )
    assert value(samples, "tagmyphotos_database_up") == 1
    assert value(samples, "tagmyphotos_queue_up") == 1
    assert value(samples, "tagmyphotos_queue_depth") == 0
    assert value(samples, "tagmyphotos_oldest_queued_job_age_seconds") == 0
    for result in ("ok", "failed", "restored"):
        assert value(samples, "tagmyphotos_writes_total", result=result, mode="") == 0
    info = value(samples, "tagmyphotos_build_info", version=VERSION, python=_py())
    assert info == 1


def _py() -> str:
    import platform

    return platform.python_version()


def test_metric_names_follow_prometheus_conventions(analysed: tuple[Core, TestClient, m.Job, m.Job]) -> None:
    _, client, _, _ = analysed
    samples, types = scrape(client)
    ours = {name for name in types if name.startswith("tagmyphotos_")}
    assert len(ours) >= 15
    for name, kind in types.items():
        assert name.startswith(("tagmyphotos_", "process_", "python_")), name
        if kind == "counter":
            assert any(s == f"{name}_total" for s, _ in samples), f"counter {name} exposes _total"
    assert all(not s.endswith("_created") for s, _ in samples), "no _created noise"
    assert "tagmyphotos_job_duration_seconds" in ours and "tagmyphotos_model_load_seconds" in types


def test_people_writes_and_new_jobs_show_on_the_next_scrape(core: Core) -> None:
    client = app_for(core)
    _run(core, "scan")
    samples, _ = scrape(client)
    assert value(samples, "tagmyphotos_people", hidden="false") == 0
    m.Person.create(name="Ada")
    m.Person.create(name="Bob", hidden=True)
    photo = m.Photo.select().first()
    for result, mode in (("ok", "in-file"), ("ok", "in-file"), ("ok", "sidecar"), ("failed", "in-file"),
                         ("restored", "restore")):  # fmt: skip
        m.WriteAudit.create(photo=photo, path=photo.path, mode=mode, result=result)
    queued = jobs_store.create_job("match")  # unfinished: pins the cache's watermark
    m.Job.update(created_at=m.utcnow() - dt.timedelta(seconds=30)).where(m.Job.id == queued).execute()
    second_scan = _run(core, "scan")  # finished after an unfinished job: counted, not cached
    samples, _ = scrape(client)
    assert value(samples, "tagmyphotos_people", hidden="false") == 1
    assert value(samples, "tagmyphotos_people", hidden="true") == 1
    assert value(samples, "tagmyphotos_writes_total", result="ok", mode="in-file") == 2
    assert value(samples, "tagmyphotos_writes_total", result="ok", mode="sidecar") == 1
    assert value(samples, "tagmyphotos_writes_total", result="failed", mode="in-file") == 1
    assert value(samples, "tagmyphotos_writes_total", result="restored", mode="restore") == 1
    assert value(samples, "tagmyphotos_jobs", type="match", state="queued") == 1
    assert value(samples, "tagmyphotos_oldest_queued_job_age_seconds") >= 30
    assert value(samples, "tagmyphotos_job_duration_seconds_count", type="scan", state="done") == 2
    # the queued job fails later: it joins the histogram once, the scans stay counted once
    started = m.utcnow() - dt.timedelta(seconds=3)
    m.Job.update(state=m.JobState.FAILED, started_at=started, finished_at=started + dt.timedelta(seconds=2)).where(
        m.Job.id == queued
    ).execute()
    for _ in range(2):
        samples, _ = scrape(client)
        assert value(samples, "tagmyphotos_job_duration_seconds_count", type="scan", state="done") == 2
        assert value(samples, "tagmyphotos_job_duration_seconds_count", type="match", state="failed") == 1
        assert value(samples, "tagmyphotos_job_duration_seconds_sum", type="match", state="failed") == 2
    assert value(samples, "tagmyphotos_job_duration_seconds_sum", type="scan", state="done") > _seconds(second_scan)


def test_process_instruments(core: Core) -> None:
    client = app_for(core)
    before, _ = scrape(client)
    metrics.count_integration_call("webhook", "ok")
    with metrics.integration_call("immich"):
        pass
    with pytest.raises(ConnectionError), metrics.integration_call("immich"):
        raise ConnectionError("Immich is down")
    with metrics.model_load("Dlib"):
        sum(range(10_000))
    after, _ = scrape(client)

    def grew(**labels: str) -> float:
        return value(after, "tagmyphotos_integration_calls_total", **labels) - value(
            before, "tagmyphotos_integration_calls_total", **labels
        )

    assert grew(target="immich", result="ok") == 1
    assert grew(target="immich", result="error") == 1
    assert grew(target="webhook", result="ok") == 1
    assert grew(target="photoprism", result="ok") == 0
    assert 0 < value(after, "tagmyphotos_model_load_seconds", model="Dlib") < 5


# --- health and readiness -------------------------------------------------------------------


def _ready(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    return response.status_code, response.json()


def test_ready_when_everything_is_there(core: Core) -> None:
    client = app_for(core)
    assert client.get("/healthz").json() == {"status": "ok", "version": VERSION}
    status, body = _ready(client)
    assert status == 200, body
    assert body["ready"] is True and body["reasons"] == []
    assert set(body["checks"]) == {"database", "queue", "exiftool", "weights"}
    assert "13." in body["checks"]["exiftool"]["detail"] or "12." in body["checks"]["exiftool"]["detail"]


def test_unready_without_exiftool(library: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such" / "exiftool"
    core = Core(make_config(library, tmp_path / "data", TAGMYPHOTOS_WRITE__EXIFTOOL=str(missing)))
    try:
        status, body = _ready(app_for(core))
    finally:
        core.close()
    assert status == 503
    assert body["ready"] is False
    assert [r.split(":")[0] for r in body["reasons"]] == ["exiftool"]
    assert str(missing) in body["reasons"][0]
    assert body["checks"]["database"]["ok"] is True


def test_unready_when_exiftool_is_broken(library: Path, tmp_path: Path) -> None:
    broken = tmp_path / "exiftool"
    broken.write_text("#!/bin/sh\necho 'Can not locate Image/ExifTool.pm' >&2\nexit 2\n")
    broken.chmod(0o755)
    core = Core(make_config(library, tmp_path / "data", TAGMYPHOTOS_WRITE__EXIFTOOL=str(broken)))
    try:
        status, body = _ready(app_for(core))
    finally:
        core.close()
    assert status == 503
    assert "Image/ExifTool.pm" in body["reasons"][0]


def test_unready_when_the_database_is_gone(core: Core) -> None:
    client = app_for(core)
    assert _ready(client)[0] == 200
    if dbtarget.on_postgres():
        dbtarget.drop(core.cfg.data)  # the server ends every connection to it
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{core.cfg.db_path}{suffix}").unlink(missing_ok=True)
    status, body = _ready(client)
    assert status == 503
    gone = "does not exist" if dbtarget.on_postgres() else "is gone"
    assert body["reasons"][0].startswith("database:") and gone in body["reasons"][0], body
    assert client.get("/healthz").status_code == 200, "liveness does not depend on the database"


def test_metrics_answer_when_the_database_fails(core: Core) -> None:
    client = app_for(core)
    core.db.execute_sql("DROP TABLE job_event")  # a broken schema: queries fail
    core.db.execute_sql("DROP TABLE job" + (" CASCADE" if dbtarget.on_postgres() else ""))
    samples, _ = scrape(client)
    assert value(samples, "tagmyphotos_database_up") == 0
    assert not any(name == "tagmyphotos_photos" for name, _ in samples)
    assert value(samples, "tagmyphotos_build_info", version=VERSION, python=_py()) == 1


def test_unready_when_the_queue_is_unreachable(core: Core, library: Path, tmp_path: Path) -> None:
    from jobs.queue import configure_queue
    from tagmyphotos_lab.servers import free_port

    cfg = make_config(
        library, tmp_path / "data",
        TAGMYPHOTOS_QUEUE__BACKEND="redis", TAGMYPHOTOS_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )  # fmt: skip
    configure_queue(cfg)  # nothing listens on that port
    try:
        status, body = _ready(app_for(core))
        samples, _ = scrape(app_for(core))
    finally:
        configure_queue(cfg, immediate=True)
    assert status == 503
    assert [r.split(":")[0] for r in body["reasons"]] == ["queue"]
    assert value(samples, "tagmyphotos_queue_up") == 0
