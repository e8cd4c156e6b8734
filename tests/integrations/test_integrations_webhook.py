"""Generic webhook: signed JSON to a real local receiver; the test verifies the HMAC itself."""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from collections.abc import Iterator

import pytest

from integrations.webhook.client import check_webhook, notify_webhook, verify
from tagmyphotos.config import IntegrationsConfig
from tagmyphotos_lab.fakes.builders import batch, closed_port_url, integrations_cfg, written
from tagmyphotos_lab.fakes.webhook import FakeWebhook

SECRET = "hmac-secret-for-tests-9f8e7d"
HOOK_PATH = "/api/webhook/ha-private-webhook-id-31337"


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.http.HTTP_BACKOFF_BASE_S", 0.05)


@pytest.fixture
def hook() -> Iterator[FakeWebhook]:
    fake = FakeWebhook()
    with fake:
        yield fake
    assert fake.violations == [], fake.violations


def cfg_for(fake: FakeWebhook, secret: str | None = SECRET) -> IntegrationsConfig:
    return integrations_cfg(webhook={"url": fake.url + HOOK_PATH, "secret": secret})


def test_signed_payload_with_files_and_people(hook: FakeWebhook) -> None:
    job = batch(
        written("2020/a.jpg", faces=(("Ann", (0.1, 0.2, 0.1, 0.15)), ("Bob", (0.5, 0.2, 0.1, 0.15)))),
        written("2020/b.jpg", faces=(("Ann", (0.3, 0.3, 0.2, 0.2)),), size=(800, 600)),
        job_id="job-42",
    )
    res = notify_webhook(cfg_for(hook), job)
    assert res.status == "ok", res.message
    (call,) = hook.calls("POST", HOOK_PATH)
    expected = "sha256=" + hmac.new(SECRET.encode(), call.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(call.headers["x-tagmyphotos-signature"], expected)
    assert verify(SECRET, call.body, call.headers["x-tagmyphotos-signature"])
    assert not verify("other", call.body, call.headers["x-tagmyphotos-signature"])
    assert call.headers["x-tagmyphotos-event"] == "photos.written"
    uuid.UUID(call.headers["x-tagmyphotos-delivery"])
    doc = call.json
    assert doc["job_id"] == "job-42" and doc["event"] == "photos.written" and doc["version"] == 1
    assert doc["people"] == ["Ann", "Bob"]
    assert [f["path"] for f in doc["files"]] == ["2020/a.jpg", "2020/b.jpg"]
    assert doc["files"][1] == {
        "path": "2020/b.jpg",
        "people": ["Ann"],
        "image": {"width": 800, "height": 600},
        "faces": [{"name": "Ann", "box": {"x": 0.3, "y": 0.3, "w": 0.2, "h": 0.2}}],
    }


def test_unsigned_without_secret(hook: FakeWebhook) -> None:
    res = notify_webhook(cfg_for(hook, secret=None), batch(written("a.jpg")))
    assert res.status == "ok" and "unsigned" in res.message
    assert "x-tagmyphotos-signature" not in hook.requests[0].headers


def test_5xx_retried_4xx_not(hook: FakeWebhook) -> None:
    hook.fail("POST", status=502, times=1)
    assert notify_webhook(cfg_for(hook), batch(written("a.jpg"))).status == "ok"
    assert [r.status for r in hook.requests] == [502, 204]
    # The retry is the same delivery, so receivers can drop duplicates.
    assert (
        hook.requests[0].headers["x-tagmyphotos-delivery"]
        == hook.requests[1].headers["x-tagmyphotos-delivery"]
    )
    hook.requests.clear()
    hook.fail("POST", status=410, times=3)
    res = notify_webhook(cfg_for(hook), batch(written("a.jpg")))
    assert res.status == "failed" and "HTTP 410" in res.message
    assert len(hook.requests) == 1


def test_secret_url_and_key_never_logged(hook: FakeWebhook, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hook.fail("POST", status=500, times=10)
    res = notify_webhook(cfg_for(hook), batch(written("a.jpg")))
    assert res.status == "failed"
    for text in (caplog.text, res.message):
        assert "ha-private-webhook-id-31337" not in text and SECRET not in text
    assert "127.0.0.1" in res.message  # but the user still sees which host failed


def test_check_sends_a_signed_test_event(hook: FakeWebhook) -> None:
    res = check_webhook(cfg_for(hook))
    assert res.status == "ok"
    (call,) = hook.requests
    assert call.json["event"] == "test" and call.json["files"] == []
    assert verify(SECRET, call.body, call.headers["x-tagmyphotos-signature"])


def test_check_failures() -> None:
    res = check_webhook(integrations_cfg(webhook={"url": closed_port_url() + "/hook"}))
    assert res.status == "failed" and "cannot connect" in res.message
    with pytest.raises(ValueError, match="http"):  # refused when set (issue 14, item 7)
        integrations_cfg(webhook={"url": "ftp://x"})
