"""A signed scan hook cannot be replayed (issue 25, item 10): the signature covers the time of
signing, accepted within HOOK_REPLAY_WINDOW_S, and each signature is taken once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from integrations.webhook.client import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signed_content
from tagmyphotos.core import Core
from tests.support.api import make_app
from tests.support.base import make_config
from ui.api.hooks import HOOK_REPLAY_WINDOW_S

SECRET = "hook-secret-for-replays-0123"


@pytest.fixture
def client(library: Path, tmp_path: Path) -> Iterator[TestClient]:
    from jobs import runtime

    core = Core(make_config(library, tmp_path / "data", TAGMYPHOTOS_INTEGRATIONS__HOOK__SECRET=SECRET))
    try:
        with TestClient(make_app(core), raise_server_exceptions=False) as c:
            yield c
    finally:
        runtime.install(None)
        core.close()


def call(c: TestClient, body: bytes, stamp: str, signed: bytes | None = None) -> tuple[int, str]:
    signature = sign(SECRET, signed if signed is not None else signed_content(stamp, body))
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: stamp}
    resp = c.post("/api/v1/hooks/scan", content=body, headers=headers)
    return resp.status_code, resp.text


def test_a_recorded_signed_call_is_not_accepted_again(client: TestClient) -> None:
    body, now = json.dumps({"paths": ["inbox/new.jpg"]}).encode(), str(int(time.time()))
    assert call(client, body, now)[0] == 202
    status, text = call(client, body, now)  # the attacker sends the recorded call again
    assert status == 401 and "replay" in text
    old = str(int(time.time()) - HOOK_REPLAY_WINDOW_S - 5)
    status, text = call(client, body, old)  # signed correctly, but too long ago
    assert status == 401 and TIMESTAMP_HEADER in text
    status, text = call(client, body, now, signed=body)  # the old format: the body alone
    assert status == 401 and "does not match" in text
