"""A graceful stop (docker stop) hands the running job back to the queue; the next start resumes it.

Real database, real runner: the stage itself asks for the stop halfway, as the web process's
shutdown does from another thread while a stage runs.
"""

from __future__ import annotations

from typing import Any

import pytest

from tagmyphotos.core import Core
from tagmyphotos.stages import runner
from tagmyphotos.stages.runner import Stage, StageContext, release_running_jobs, run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m

ITEMS = 6


def _counting_stage(stop_at: int | None, seen: list[int]) -> Stage:
    def run(core: Any, ctx: StageContext) -> dict[str, Any]:
        ctx.set_total(ITEMS)
        done = int(m.Setting.get_or_none(m.Setting.key == "test:done").value["n"]) if stop_at is None else 0
        for item in range(done, ITEMS):
            if item == stop_at:
                assert release_running_jobs() == [ctx.job_id]
            seen.append(item)
            m.put_setting("test:done", {"n": item + 1})  # work is planned from the database
            ctx.advance()
        return {"items": ITEMS}

    return Stage("count", run)


def test_stopped_job_is_queued_again_and_resumed(core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "PROGRESS_EVERY_S", 0.0)  # report every item, as a slow stage would
    job_id = jobs_store.create_job("count")
    seen: list[int] = []
    assert run_stage(core, _counting_stage(3, seen), job_id) == []
    job = m.Job.get_by_id(job_id)
    assert job.state == m.JobState.QUEUED and job.finished_at is None, "handed back, not failed or lost"
    assert release_running_jobs() == [], "nothing is held once the stage thread let go"
    run_stage(core, _counting_stage(None, seen), job_id)
    job = m.Job.get_by_id(job_id)
    assert job.state == m.JobState.DONE and job.result["items"] == ITEMS
    assert seen == [0, 1, 2, 3, 4, 5], "the rerun continued where the stopped run was"
