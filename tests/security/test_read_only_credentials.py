"""A read-only key reads no credential anywhere (issue 25, item 1).

The third attack read `queue.redis_url` with its password through GET /api/v1/settings with a
read-only key (and `config check` printed it, with the webhook's secret address): the Redis
password then let it push a pickle into the queue. Every place that shows a setting, an error
or a figure is read here with a read-only key, and no part of any configured secret may appear.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tagmyphotos.config import load_config
from tagmyphotos.core import Core
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos.system import auth
from tagmyphotos_app.cli import main
from tests.support.api import make_app
from tests.support.base import make_config

REDIS_PASSWORD = "redis-pw-7f3a9c2e51"
HOOK_ID = "ha-webhook-id-0c9d8e7f"
SECRETS_ENV = {
    "TAGMYPHOTOS_QUEUE__REDIS_URL": f"redis://:{REDIS_PASSWORD}@redis.lan:6379/0",
    "TAGMYPHOTOS_INTEGRATIONS__WEBHOOK__URL": f"https://ha.lan:8123/api/webhook/{HOOK_ID}?token=q-{HOOK_ID}",
}
LEAKS = (REDIS_PASSWORD, HOOK_ID)


@pytest.fixture
def client(library: Path, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    from jobs import runtime

    core = Core(make_config(library, tmp_path / "data", **SECRETS_ENV))
    _, read_key = auth.create_api_key("reader", auth.SCOPE_READ)
    try:
        with TestClient(make_app(core), raise_server_exceptions=False) as c:
            yield c, read_key
    finally:
        runtime.install(None)
        core.close()


def assert_no_leak(text: str, where: str) -> None:
    for secret in LEAKS:
        assert secret not in text, f"{where} shows a secret: {text[:2000]}"


def test_a_read_only_key_reads_no_credential_over_the_api(client: tuple[TestClient, str]) -> None:
    c, key = client
    job_id = jobs_store.create_job("scan")
    jobs_store.log_event(job_id, f"cannot reach redis://:{REDIS_PASSWORD}@redis.lan:6379/0", level="error")
    jobs_store.finish(job_id, m.JobState.FAILED, error=f"Error 111 connecting to redis://:{REDIS_PASSWORD}@redis.lan")
    settings = c.get("/api/v1/settings", headers={"X-API-Key": key})
    assert settings.status_code == 200
    values = settings.json()["values"]
    assert values["queue"]["redis_url"] == "redis://:********@redis.lan:6379/0"
    assert values["integrations"]["webhook"]["url"] == "https://ha.lan:8123/********?********"
    for path in ("/api/v1/settings", f"/api/v1/jobs/{job_id}", f"/api/v1/jobs/{job_id}/events", "/api/v1/jobs",
                 "/api/v1/version", "/api/v1/whoami", "/metrics", "/readyz"):  # fmt: skip
        resp = c.get(path, headers={"X-API-Key": key})
        assert resp.status_code in (200, 503), f"{path}: {resp.status_code}"
        assert_no_leak(resp.text, path)


def test_config_check_json_and_logs_show_no_credential(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"TAGMYPHOTOS_LIBRARY": str(library), "TAGMYPHOTOS_DATA": str(tmp_path / "data"),
           "TAGMYPHOTOS_CONFIG": str(tmp_path / "absent.yaml"), **SECRETS_ENV}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for args in (["config", "check", "--json"], ["config", "check"]):
        assert main(args) == 0
        out = capsys.readouterr().out
        assert_no_leak(out, " ".join(args))
        assert "redis.lan" in out and "ha.lan" in out  # the addresses stay readable
    from tagmyphotos.system.logs import redact, remember_secrets

    cfg = load_config(environ=env)
    remember_secrets(cfg)  # as configure_logging does at start
    assert_no_leak(redact(f"queue at {cfg.queue.redis_url}, hook {cfg.integrations.webhook.url}"), "a log line")
    assert_no_leak(json.dumps(cfg.masked()), "masked()")


@pytest.mark.parametrize(
    ("url", "shown"),
    [("redis://:pw@h:6379/0", "redis://:********@h:6379/0"), ("postgresql://u:pw@h/db", "postgresql://u:********@h/db"),
     ("https://tok@h/x", "https://********@h/x"), ("http://h:2283/api?apiKey=k", "http://h:2283/api?apiKey=********"),
     ("redis://localhost:6379/0", "redis://localhost:6379/0")],
)  # fmt: skip
def test_one_masking_function_for_every_url(url: str, shown: str) -> None:
    from tagmyphotos.config import mask_url

    assert mask_url(url) == shown
