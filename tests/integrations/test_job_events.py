"""Job events: scan, analyze, match and write jobs announce job.done / job.failed with their counts
to a real local webhook receiver (signed), only when switched on; the Jobs page shows them too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.webhook.client import verify
from jobs.pipeline import STAGES
from tagmyphotos.core import Core
from tagmyphotos.review import confirm
from tagmyphotos.stages.runner import run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos_lab.fakes.builders import closed_port_url
from tagmyphotos_lab.fakes.webhook import FakeWebhook
from tests.support.base import FACES, copy_tree, make_config, scan_and_analyze

SECRET = "job-events-secret-5b1c"
HOOK = "/hooks/tagmyphotos"


@pytest.fixture
def hook() -> Iterator[FakeWebhook]:
    fake = FakeWebhook()
    with fake:
        yield fake
    assert fake.violations == [], fake.violations


def _core(tmp_path: Path, url: str, job_events: bool = True) -> Core:
    lib = copy_tree(FACES, tmp_path / "library", "img1.jpg")
    copy_tree(FACES, lib, "couple.jpg")
    env = {
        "TAGMYPHOTOS_INTEGRATIONS__WEBHOOK__ENABLED": "true",
        "TAGMYPHOTOS_INTEGRATIONS__WEBHOOK__URL": url,
        "TAGMYPHOTOS_INTEGRATIONS__WEBHOOK__SECRET": SECRET,
        "TAGMYPHOTOS_INTEGRATIONS__WEBHOOK__JOB_EVENTS": "true" if job_events else "false",
        "TAGMYPHOTOS_INTEGRATIONS__RETRIES": "1",
    }
    return Core(make_config(lib, tmp_path / "data", **env))


def _run(core: Core, job_type: str, params: dict[str, Any] | None = None) -> int:
    job_id = jobs_store.create_job(job_type, {"no_follow": True, **(params or {})})
    run_stage(core, STAGES[job_type], job_id)
    return job_id


def _events(hook: FakeWebhook) -> list[dict[str, Any]]:
    out = []
    for call in hook.calls("POST", HOOK):
        assert verify(SECRET, call.body, call.headers["x-tagmyphotos-signature"])
        assert call.headers["x-tagmyphotos-event"] == call.json["event"]
        out.append(call.json)
    return out


def test_every_pipeline_job_announces_its_end_with_counts(tmp_path: Path, hook: FakeWebhook) -> None:
    core = _core(tmp_path, hook.url + HOOK)
    try:
        scan_and_analyze(core)
        face = m.Face.select().join(m.Photo).where(m.Photo.path == "img1.jpg").get()
        confirm.confirm(core, [face.id], "Ada")
        _run(core, "match")
        write_id = _run(core, "write")
        failed_id = _run(core, "write", {"paths": ["../outside.jpg"]})  # refused: the job fails
        events = _events(hook)
        assert [(e["event"], e["job"]["type"]) for e in events] == [
            ("job.done", "scan"), ("job.done", "analyze"), ("job.done", "match"),
            ("job.done", "write"), ("job.failed", "write"),
        ]  # fmt: skip
        scan, analyze, match, write, failed = (e["job"] for e in events)
        assert scan["counts"]["new"] == 2 and scan["state"] == "done"
        assert analyze["counts"]["photos"] == 2 and analyze["counts"]["faces"] == 3
        assert match["counts"]["faces"] >= 2
        assert write["id"] == write_id and write["counts"]["written"] == 1 and write["counts"]["errors"] == 0
        assert failed["id"] == failed_id and failed["state"] == "failed" and failed["error"]
        assert all(e["version"] == 1 and e["sent_at"] for e in events)
        logged = [e.message for e in jobs_store.job_events(write_id)]
        assert "announced job.done to the webhook" in logged
    finally:
        core.close()


def test_no_job_events_unless_switched_on(tmp_path: Path, hook: FakeWebhook) -> None:
    core = _core(tmp_path, hook.url + HOOK, job_events=False)
    try:
        _run(core, "scan")
        assert hook.calls("POST") == []
    finally:
        core.close()


def test_an_unreachable_receiver_leaves_the_job_done_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("integrations.http.HTTP_BACKOFF_BASE_S", 0.01)
    core = _core(tmp_path, closed_port_url() + HOOK)
    try:
        job_id = _run(core, "scan")
        assert m.Job.get_by_id(job_id).state == m.JobState.DONE
        notes = [(e.level, e.message) for e in jobs_store.job_events(job_id)]
        assert any(level == "warning" and "job.done not announced" in text for level, text in notes), notes
    finally:
        core.close()


@pytest.mark.asyncio
async def test_jobs_page_announces_a_job_that_ended(core: Core) -> None:
    from tests.support.ui_harness import simulated_ui

    job_id = jobs_store.create_job("scan", {})
    m.Job.update(state=m.JobState.RUNNING, started_at=m.utcnow()).where(m.Job.id == job_id).execute()
    failing = jobs_store.create_job("analyze", {})
    m.Job.update(state=m.JobState.RUNNING, started_at=m.utcnow()).where(m.Job.id == failing).execute()
    async with simulated_ui(core) as user:
        await user.open("/jobs")
        await user.should_see("Looking for new and changed photos", retries=20)
        await user.should_see("Finding faces", retries=20)
        jobs_store.finish(job_id, m.JobState.DONE, {"seen": 64, "new": 3, "changed": 0})
        jobs_store.finish(failing, m.JobState.FAILED, error="the disk is full")
        await user.should_see(
            "Done: Looking for new and changed photos. 64 photos in the library, 3 new.", retries=40
        )
        await user.should_see("Failed: Finding faces. the disk is full", retries=40)
