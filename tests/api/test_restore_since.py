"""POST /writes/restore with a `since` before 1970 (no file time can be compared with it) means
"from the beginning": the job restores every backup instead of crashing ("year 0 is out of
range") — issue 25, item 10; a time past every backup restores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tagmyphotos.system import auth
from tests.support.api import make_app
from tests.support.base import make_config


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00", "1969-12-31T00:00:00", "9999-12-31T23:59:59"])
def test_any_since_gives_a_job_that_ends_well(library: Path, tmp_path: Path, since: str) -> None:
    from jobs import runtime

    core = Core(make_config(library, tmp_path / "data"))
    _, key = auth.create_api_key("owner", auth.SCOPE_FULL)
    try:
        with TestClient(make_app(core), raise_server_exceptions=False) as c:
            resp = c.post("/api/v1/writes/restore", json={"since": since}, headers={"X-API-Key": key})
            assert resp.status_code == 202, resp.text
            job = m.Job.get_by_id(resp.json()["id"])  # immediate mode: finished
            assert job.state == m.JobState.DONE and job.result["failed"] == 0, (job.state, job.error)
            ok = c.post("/api/v1/writes/restore", json={"since": "2026-01-01T00:00:00"}, headers={"X-API-Key": key})
            assert ok.status_code == 202, ok.text
    finally:
        runtime.install(None)
        core.close()
