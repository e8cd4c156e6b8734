"""X-Forwarded-Prefix counts only from a trusted proxy (issue 25, item 10): NiceGUI builds its
script addresses and redirects from it, and any client could set it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from tagmyphotos.core import Core
from tests.support.api import make_app
from tests.support.base import make_config


@pytest.fixture
def app(library: Path, tmp_path: Path) -> Iterator[FastAPI]:
    from jobs import runtime

    core = Core(make_config(library, tmp_path / "data", TAGMYPHOTOS_AUTH__PROXY_TRUSTED_IPS='["10.7.0.1"]'))
    app = make_app(core)

    @app.get("/echo-prefix")  # what NiceGUI's page and redirect code read
    def echo(request: Request) -> dict[str, str | None]:
        return {"prefix": request.headers.get("x-forwarded-prefix")}

    try:
        yield app
    finally:
        runtime.install(None)
        core.close()


@pytest.mark.parametrize(("peer", "seen"), [("203.0.113.9", None), ("127.0.0.1", None), ("10.7.0.1", "/photos-app")])
def test_the_prefix_header_only_from_a_trusted_proxy(app: FastAPI, peer: str, seen: str | None) -> None:
    with TestClient(app, client=(peer, 50000)) as c:
        answer = c.get("/echo-prefix", headers={"X-Forwarded-Prefix": "/photos-app"}).json()
    assert answer["prefix"] == seen
