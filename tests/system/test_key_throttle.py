"""Wrong API keys are throttled per address, and the overall login budget never locks out an
address that has not failed (issue 25, item 10). The attack made 147 key guesses/s, and its
flood of failed logins from other addresses kept the owner out of their own app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tagmyphotos import tuning
from tagmyphotos.core import Core
from tagmyphotos.system import auth, throttle
from tests.support.api import make_app
from tests.support.base import make_config
from tests.support.ui_harness import PASSWORD


@pytest.fixture
def client(library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, str]]:
    from jobs import runtime

    monkeypatch.setattr(throttle, "KEY_THROTTLE", throttle.LoginThrottle(clock=lambda: 1000.0, what="API key"))
    core = Core(make_config(library, tmp_path / "data"))
    _, key = auth.create_api_key("owner", auth.SCOPE_READ)
    try:
        with TestClient(make_app(core), raise_server_exceptions=False) as c:
            yield c, key
    finally:
        runtime.install(None)
        core.close()


def test_wrong_api_keys_are_throttled_per_address(client: tuple[TestClient, str]) -> None:
    c, key = client
    statuses = [c.get("/api/v1/whoami", headers={"X-API-Key": f"tmpk_guess-{i:030d}"}).status_code for i in range(8)]
    assert statuses[: tuning.LOGIN_FAILURES_PER_CLIENT] == [401] * tuning.LOGIN_FAILURES_PER_CLIENT
    assert 429 in statuses, statuses  # the guesser now waits (a doubling time) before any check
    refused = c.get("/api/v1/whoami", headers={"X-API-Key": "tmpk_another-guess-0123456789abc"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 2
    assert "too many wrong API keys" in refused.json()["detail"]
    assert c.post("/api/v1/jobs", json={"type": "scan"}, headers={"X-API-Key": "tmpk_x" * 8}).status_code == 429


def test_the_overall_budget_does_not_lock_out_the_owner(core: Core) -> None:
    t = throttle.LoginThrottle(clock=lambda: 1000.0)
    auth.set_password(core.cfg, PASSWORD)
    for i in range(throttle.LOGIN_FAILURES_OVERALL + 10):  # a flood from many addresses
        assert not auth.attempt_login(core.cfg, f"guess {i}", f"10.2.{i // 250}.{i % 250}", t).ok
    assert auth.attempt_login(core.cfg, PASSWORD, "192.168.1.20", t).ok  # the owner, at home
    for _ in range(tuning.LOGIN_FAILURES_PER_CLIENT):  # a guesser from one address: its own limit first
        auth.attempt_login(core.cfg, "wrong", "10.9.9.9", t)
    assert "Too many failed logins" in auth.attempt_login(core.cfg, PASSWORD, "10.9.9.9", t).message
