"""The whole product on the scale-out topology, as a user who outgrew one box runs it:
real redis-server and PostgreSQL, `tagmyphotos serve` started first, then two `tagmyphotos
worker` processes on the same library and data folder; everything through the REST API.

scan -> analyze (shared by the processes; one worker is killed with SIGKILL mid-analysis) ->
match -> teach two photos per person -> match -> accept the likely suggestions -> write ->
notify (a webhook receiver). At the end every job is done, no photo is pending, suggestions
were made and the names are in the files.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tagmyphotos.store import claims
from tagmyphotos.store import models as m
from tagmyphotos_lab.fakes.webhook import FakeWebhook
from tagmyphotos_lab.servers import Postgres, Redis, new_database
from tests.support import topology as topology_support
from tests.support.base import EXIFTOOL, FACES, copy_tree

pytestmark = pytest.mark.scaleout

PIPELINE_TIMEOUT_S = topology_support.PIPELINE_TIMEOUT_S
FINAL = topology_support.FINAL
Topology = topology_support.Topology


@pytest.fixture
def hook() -> Iterator[FakeWebhook]:
    with FakeWebhook() as fake:
        yield fake
    assert fake.violations == [], fake.violations


@pytest.fixture
def topology(
    postgres: Postgres, redis_server: Redis, hook: FakeWebhook, tmp_path: Path
) -> Iterator[Topology]:
    import redis

    redis.Redis.from_url(redis_server.url).flushall()
    library = copy_tree(FACES, tmp_path / "library", "*.jpg")
    env = topology_support.scaleout_env(
        tmp_path, library, new_database(postgres, f"e2e{os.getpid()}"), redis_server.url,
        TAGMYPHOTOS_INTEGRATIONS__WEBHOOK__ENABLED="true", TAGMYPHOTOS_INTEGRATIONS__WEBHOOK__URL=hook.url + "/hook",
    )  # fmt: skip
    topo = Topology(env, tmp_path)
    try:
        yield topo
    finally:
        topo.close()


def _labels() -> dict[str, str]:
    with open(FACES / "identities.csv") as fh:
        return {row["file"]: row["identity"] for row in csv.DictReader(fh)}


def _single_faces() -> dict[str, m.Face]:
    by_path: dict[str, list[m.Face]] = {}
    for face in m.Face.select(m.Face, m.Photo).join(m.Photo):
        by_path.setdefault(face.photo.path, []).append(face)
    return {path: faces[0] for path, faces in by_path.items() if len(faces) == 1}


def _kill_mid_analysis(topo: Topology, victim: subprocess.Popen[bytes]) -> int:
    """SIGKILL the victim while it analyses; then do what housekeeping does (with short limits
    here): queue its job again and free the photos it held. Returns the job it ran."""
    job = topo.wait_until("the victim analysing", lambda: m.Job.get_or_none(
        (m.Job.type == "analyze") & (m.Job.state == m.JobState.RUNNING) & (m.Job.worker_pid == victim.pid)
        & (m.Job.progress_done >= 1)))  # fmt: skip
    held = m.Photo.select().where(m.Photo.state == claims.PHOTO_CLAIMED).count()
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    assert held >= 1, "the victim held photos when it was killed"
    time.sleep(2.5)
    assert claims.requeue_stale_job(job.id, m.utcnow() - dt.timedelta(seconds=2)), "its job is stale"
    claims.reap_photos(lease_s=2)
    from jobs.queue import configure_queue
    from jobs.tasks import run_job

    configure_queue(topo.core.cfg)  # this process enqueues into the shared Redis queue
    run_job(job.id)
    return int(job.id)


def test_serve_and_two_workers_run_the_whole_product(topology: Topology, hook: FakeWebhook) -> None:
    topo = topology
    topo.start("serve", "serve")
    topo.wait_until("the web process", lambda: topology_support.healthy(topo.port), timeout_s=120)
    victim = topo.start("victim", "worker", "--workers", "1")
    topo.start("worker", "worker", "--workers", "1")
    from tagmyphotos.store import workers

    topo.wait_until("three worker processes", lambda: len(workers.live_workers()) >= 3, timeout_s=120)

    scan = topo.api("POST", "/jobs", json={"type": "scan"})
    killed_job = _kill_mid_analysis(topo, victim)
    topo.wait_until("scan -> analyze -> match", lambda: topo.settled() and m.Job.select().where(
        (m.Job.type == "match") & (m.Job.state == m.JobState.DONE)).exists())  # fmt: skip
    jobs = list(m.Job.select())
    assert {j.state for j in jobs} == {m.JobState.DONE}, [(j.id, j.type, j.state, j.error) for j in jobs]
    assert m.Job.get_by_id(killed_job).worker_pid != victim.pid, "another worker finished the killed job"
    analyzers = {(j.worker_host, j.worker_pid) for j in jobs if j.type == "analyze"}
    assert len(analyzers) >= 2, f"the analysis was shared: {analyzers}"
    assert scan["id"] in {j.id for j in jobs}
    states = {p.state for p in m.Photo.select()}
    assert states == {m.PhotoState.DONE}, f"no photo pending or held: {states}"

    # teach: two photos per person, named through the API; then match and accept
    faces, labels = _single_faces(), _labels()
    by_person: dict[str, list[str]] = {}
    for path in sorted(p for p in labels if p in faces):
        by_person.setdefault(labels[path], []).append(path)
    for who, paths in by_person.items():
        topo.api("POST", "/faces/confirm", json={"face_ids": [faces[p].id for p in paths[:2]], "name": who})
    match = topo.api("POST", "/jobs", json={"type": "match", "params": {"trigger": "test"}})
    topo.wait_until("match", lambda: m.Job.get_by_id(match["id"]).state in FINAL)
    assert m.Job.get_by_id(match["id"]).state == m.JobState.DONE
    likely = m.Face.select().where((m.Face.state == m.FaceState.SUGGESTED) & (m.Face.band == "likely")).count()
    assert likely >= 10, "suggestions after teaching"
    accepted = topo.api("POST", "/suggestions/accept-likely", json={})
    assert len(accepted["changed"]) >= likely * 0.9, accepted

    write = topo.api("POST", "/writes", json={})
    topo.wait_until("write -> notify", lambda: m.Job.select().where(
        (m.Job.type == "notify") & (m.Job.state.in_(FINAL))).exists() and topo.settled())  # fmt: skip
    assert {j.state for j in m.Job.select()} == {m.JobState.DONE}
    assert m.Job.get_by_id(write["id"]).result["written"] > 0
    assert hook.calls("POST"), "the webhook heard of the written files"

    # the names are in the files (or in the sidecar the write chose, e.g. for a file it cannot write)
    named = m.Face.select(m.Face, m.Photo, m.Person).join(m.Photo).switch(m.Face).join(m.Person).where(
        m.Face.state == m.FaceState.CONFIRMED)  # fmt: skip
    expected = {f.photo.path: f.person.name for f in named}
    audit = m.WriteAudit.select().where(m.WriteAudit.result == "ok").order_by(m.WriteAudit.id)
    written = {a.path: a.target for a in audit}
    targets = {p: str(topo.core.cfg.library / (written.get(p) or p)) for p in expected}
    out = subprocess.run([str(EXIFTOOL), "-j", "-XMP-iptcExt:PersonInImage", *sorted(set(targets.values()))],
                         capture_output=True, text=True, check=True)  # fmt: skip
    found = {r["SourceFile"]: _as_list(r.get("PersonInImage")) for r in json.loads(out.stdout)}
    missing = [(p, who) for p, who in expected.items() if who not in found.get(targets[p], [])]
    assert not missing, f"names not in the files: {missing[:5]}"


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value] if value else []
