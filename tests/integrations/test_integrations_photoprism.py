"""PhotoPrism client against a swagger-validating fake PhotoPrism over real HTTP on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from integrations.photoprism.client import XMP_FACES_HINT, check_photoprism, notify_photoprism
from tagmyphotos.config import IntegrationsConfig
from tagmyphotos_lab.fakes.builders import batch, closed_port_url, integrations_cfg, written
from tagmyphotos_lab.fakes.photoprism import FakePhotoPrism


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.http.HTTP_BACKOFF_BASE_S", 0.05)


@pytest.fixture
def pp() -> Iterator[FakePhotoPrism]:
    fake = FakePhotoPrism()
    with fake:
        yield fake
    assert fake.violations == [], fake.violations


def cfg_for(fake: FakePhotoPrism, timeout_s: float = 2.0, **extra: object) -> IntegrationsConfig:
    return integrations_cfg(photoprism={"url": fake.url, "token": fake.token, **extra}, timeout_s=timeout_s)


def test_indexes_each_folder_once_with_rescan(pp: FakePhotoPrism) -> None:
    files = [written(p) for p in ("2020/a/1.jpg", "2020/a/2.jpg", "2020/a/deep/3.jpg", "2021/4.jpg")]
    res = notify_photoprism(cfg_for(pp), batch(*files))
    assert res.status == "ok", res.message
    # 2020/a/deep is inside 2020/a, which PhotoPrism indexes recursively.
    assert pp.indexed == [{"path": "2020/a", "rescan": True}, {"path": "2021", "rescan": True}]
    assert res.counts == {"files": 4, "folders": 2, "indexed": 2, "failed": 0, "unmapped": 0, "requests": 2}
    call = pp.calls("POST", "/api/v1/index")[0]
    assert call.headers["authorization"] == f"Bearer {pp.token}"
    assert call.headers["x-auth-token"] == pp.token
    assert call.headers["content-type"] == "application/json"


def test_file_at_the_root_indexes_originals(pp: FakePhotoPrism) -> None:
    notify_photoprism(cfg_for(pp), batch(written("top.jpg"), written("x/y.jpg")))
    assert pp.indexed_paths() == ["/"]


def test_path_mapping_into_a_subfolder_of_originals(pp: FakePhotoPrism) -> None:
    cfg = cfg_for(pp, path_map={"local_prefix": "/library/family", "remote_prefix": "/shared/family/"})
    res = notify_photoprism(cfg, batch(written("family/2019/a.jpg"), written("other/b.jpg")))
    assert pp.indexed_paths() == ["shared/family/2019"]
    assert res.status == "warning" and res.counts["unmapped"] == 1


def test_rejected_token_stops_after_the_first_folder(pp: FakePhotoPrism) -> None:
    cfg = integrations_cfg(photoprism={"url": pp.url, "token": "wrong-token-1234"})
    res = notify_photoprism(cfg, batch(written("a/1.jpg"), written("b/2.jpg")))
    assert res.status == "failed" and "HTTP 401" in res.message
    assert "wrong-token-1234" not in res.message
    assert len(pp.requests) == 1 and pp.indexed == []


def test_500_then_success(pp: FakePhotoPrism) -> None:
    pp.fail("POST /api/v1/index", status=500, times=1)
    res = notify_photoprism(cfg_for(pp), batch(written("a/1.jpg")))
    assert res.status == "ok", res.message
    assert [c.status for c in pp.calls("POST", "/api/v1/index")] == [500, 200]
    assert pp.indexed_paths() == ["a"]


def test_busy_429_is_retried(pp: FakePhotoPrism) -> None:
    pp.fail("POST /api/v1/index", status=429, times=1)
    assert notify_photoprism(cfg_for(pp), batch(written("a/1.jpg"))).status == "ok"
    assert pp.indexed_paths() == ["a"]


def test_one_failing_folder_does_not_stop_the_others(pp: FakePhotoPrism) -> None:
    pp.fail("POST /api/v1/index", status=404, times=1)
    res = notify_photoprism(cfg_for(pp), batch(written("a/1.jpg"), written("b/2.jpg")))
    assert res.status == "warning" and res.counts["indexed"] == 1 and res.counts["failed"] == 1
    assert pp.indexed_paths() == ["b"]


def test_timeout(pp: FakePhotoPrism, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.photoprism.client.PHOTOPRISM_INDEX_TIMEOUT_S", 0.3)
    pp.slow("POST /api/v1/index", delay_s=1.5, times=5)
    t0 = time.monotonic()
    res = notify_photoprism(cfg_for(pp, timeout_s=0.3), batch(written("a/1.jpg")))
    assert res.status == "failed" and "timeout" in res.message
    assert len(pp.calls("POST", "/api/v1/index")) == 3
    assert time.monotonic() - t0 < 3.0


def test_slow_indexing_within_the_index_timeout_succeeds(pp: FakePhotoPrism) -> None:
    """Indexing runs inside the request: it may take longer than the ordinary timeout."""
    pp.index_delay_s = 0.6
    res = notify_photoprism(cfg_for(pp, timeout_s=0.2), batch(written("a/1.jpg")))
    assert res.status == "ok", res.message
    assert len(pp.calls("POST", "/api/v1/index")) == 1


def test_check_connection(pp: FakePhotoPrism) -> None:
    res = check_photoprism(cfg_for(pp))
    assert res.status == "ok" and XMP_FACES_HINT in res.message
    assert pp.calls("POST", "/api/v1/index") == []  # a test never starts indexing


def test_check_rejected_token(pp: FakePhotoPrism) -> None:
    res = check_photoprism(integrations_cfg(photoprism={"url": pp.url, "token": "nope-nope"}))
    assert res.status == "failed" and "token was rejected (HTTP 401)" in res.message


def test_check_unreachable_and_missing_settings() -> None:
    res = check_photoprism(integrations_cfg(photoprism={"url": closed_port_url(), "token": "t"}))
    assert res.status == "failed" and "cannot reach" in res.message
    assert "no URL set" in check_photoprism(integrations_cfg(photoprism={})).message
    assert (
        "no token set" in check_photoprism(integrations_cfg(photoprism={"url": "http://127.0.0.1:1"})).message
    )
