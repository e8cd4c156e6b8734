"""Fixtures for the API tests: the real app (FastAPI + web.mount) over a real analysed library.

Load it in a test module with `pytest_plugins = ("tests.support.api",)`.
Jobs run in immediate mode (inside the request), so a started job is finished when the POST
returns; the analysis itself is the real one (conftest.analysed_core).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tagmyphotos.core import Core
from tagmyphotos.system import auth

PREFIX = "/api/v1"


@dataclass
class ApiEnv:
    app: FastAPI
    core: Core
    client: TestClient
    full_key: str
    read_key: str

    @property
    def full(self) -> dict[str, str]:
        return {"X-API-Key": self.full_key}

    @property
    def read(self) -> dict[str, str]:
        return {"X-API-Key": self.read_key}

    def call(self, method: str, path: str, key: str | None = "full", **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if key == "full":
            headers.update(self.full)
        elif key == "read":
            headers.update(self.read)
        url = path if path.startswith(PREFIX) else PREFIX + path
        return self.client.request(method, url, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.call("POST", path, **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        """The JSON of a 2xx answer (fails the test with the problem's detail otherwise)."""
        resp = self.call(method, path, **kw)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()


def make_app(core: Core) -> FastAPI:
    """The real composition: a FastAPI app with web.mount, jobs run in this process."""
    from jobs import runtime
    from jobs.queue import configure_queue
    from tagmyphotos_app.web import mount

    configure_queue(core.cfg, immediate=True)
    runtime.install(core)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)  # as NiceGUI's app: no open docs
    mount(app, core)
    return app


@pytest.fixture
def api(analysed_core: Core) -> Iterator[ApiEnv]:
    from jobs import runtime

    app = make_app(analysed_core)
    _, full = auth.create_api_key("tests (full)", auth.SCOPE_FULL)
    _, read = auth.create_api_key("tests (read)", auth.SCOPE_READ)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield ApiEnv(app, analysed_core, client, full, read)
    runtime.install(None)


def assert_problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 answer with this status, a readable detail and no internals."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    assert body["detail"] and "Traceback" not in resp.text and 'File "' not in resp.text
    return body
