"""POST /writes/restore with a `since` no file time can be compared with is a 422 naming the
field, not a 202 and a job that crashes ("year 0 is out of range") — issue 25, item 10."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tagmyphotos.system import auth
from tests.support.api import assert_problem, make_app
from tests.support.base import make_config


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00", "1969-12-31T00:00:00", "9999-12-31T23:59:59"])
def test_an_unusable_since_is_refused_at_the_api(library: Path, tmp_path: Path, since: str) -> None:
    from jobs import runtime

    core = Core(make_config(library, tmp_path / "data"))
    _, key = auth.create_api_key("owner", auth.SCOPE_FULL)
    try:
        with TestClient(make_app(core), raise_server_exceptions=False) as c:
            resp = c.post("/api/v1/writes/restore", json={"since": since}, headers={"X-API-Key": key})
            body = assert_problem(resp, 422)
            assert "since" in body["detail"] and "from 1970 on" in body["detail"]
            assert m.Job.select().where(m.Job.type == "restore").count() == 0  # nothing queued
            ok = c.post("/api/v1/writes/restore", json={"since": "2026-01-01T00:00:00"}, headers={"X-API-Key": key})
            assert ok.status_code == 202, ok.text
    finally:
        runtime.install(None)
        core.close()
