"""notify_all / test_connection: one round per job, isolation of failing targets, never raising."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from integrations import notify
from integrations.batch import FaceBox, WriteBatch, WrittenFile
from tagmyphotos.config import IntegrationsConfig
from tagmyphotos_lab.fakes.builders import batch, closed_port_url, integrations_cfg, written
from tagmyphotos_lab.fakes.immich import FakeImmich
from tagmyphotos_lab.fakes.photoprism import FakePhotoPrism
from tagmyphotos_lab.fakes.webhook import FakeWebhook

MAP = {"local_prefix": "/library", "remote_prefix": "/mnt/photos"}


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.http.HTTP_BACKOFF_BASE_S", 0.05)


@pytest.fixture
def fakes() -> Iterator[tuple[FakeImmich, FakePhotoPrism, FakeWebhook]]:
    im, pp, wh = FakeImmich(), FakePhotoPrism(), FakeWebhook()
    with im, pp, wh:
        yield im, pp, wh
    for fake in (im, pp, wh):
        assert fake.violations == [], fake.violations


def all_cfg(
    im: FakeImmich, pp: FakePhotoPrism, wh: FakeWebhook, immich_url: str | None = None
) -> IntegrationsConfig:
    return integrations_cfg(
        immich={"url": immich_url or im.url, "api_key": im.api_key, "path_map": MAP},
        photoprism={"url": pp.url, "token": pp.token},
        webhook={"url": wh.url + "/hook", "secret": "s3cret-hook"},
        timeout_s=1.0,
        retries=1,
    )


def test_all_targets_notified_once_per_job(fakes: tuple[FakeImmich, FakePhotoPrism, FakeWebhook]) -> None:
    im, pp, wh = fakes
    for i in range(30):
        im.add_asset(f"/mnt/photos/2020/{i}.jpg")
    job = batch(*[written(f"2020/{i}.jpg") for i in range(30)])
    results = notify.notify_all(all_cfg(im, pp, wh), job)
    assert [r.target for r in results] == ["immich", "photoprism", "webhook"]
    assert all(r.status == "ok" for r in results), [r.message for r in results]
    assert len(im.calls("POST", "/api/assets/jobs")) == 1 and len(im.refreshed_ids()) == 30
    assert pp.indexed_paths() == ["2020"]
    assert len(wh.requests) == 1 and len(wh.requests[0].json["files"]) == 30
    assert all(r.duration_s > 0 for r in results)
    json.dumps([r.to_dict() for r in results])  # storable on the job as plain data


def test_a_dead_target_does_not_affect_the_others(
    fakes: tuple[FakeImmich, FakePhotoPrism, FakeWebhook],
) -> None:
    im, pp, wh = fakes
    results = notify.notify_all(all_cfg(im, pp, wh, immich_url=closed_port_url()), batch(written("a/b.jpg")))
    by = {r.target: r for r in results}
    assert by["immich"].status == "failed" and "cannot connect" in by["immich"].message
    assert by["photoprism"].status == "ok" and by["webhook"].status == "ok"


def test_an_unexpected_error_becomes_a_failed_result_without_secrets(
    fakes: tuple[FakeImmich, FakePhotoPrism, FakeWebhook], monkeypatch: pytest.MonkeyPatch
) -> None:
    im, pp, wh = fakes

    def broken(cfg: object, batch: WriteBatch) -> None:
        raise RuntimeError(f"bug while using key {im.api_key}")

    monkeypatch.setitem(notify._NOTIFY, "immich", broken)
    results = notify.notify_all(all_cfg(im, pp, wh), batch(written("a/b.jpg")))
    assert results[0].status == "failed" and "RuntimeError" in results[0].message
    assert im.api_key not in results[0].message
    assert [r.status for r in results[1:]] == ["ok", "ok"]


def test_disabled_targets_and_empty_batches() -> None:
    cfg = integrations_cfg(webhook={"url": "http://127.0.0.1:9/x"})
    cfg.webhook.enabled = False
    assert notify.notify_all(cfg, batch(written("a.jpg"))) == []
    cfg.webhook.enabled = True
    (skipped,) = notify.notify_all(cfg, batch())
    assert skipped.status == "skipped" and skipped.ok


def test_test_connection_dispatch(fakes: tuple[FakeImmich, FakePhotoPrism, FakeWebhook]) -> None:
    im, pp, wh = fakes
    cfg = all_cfg(im, pp, wh)
    assert notify.test_connection(cfg, "photoprism").status == "ok"
    assert notify.test_connection(cfg, "webhook").status == "ok"
    assert notify.test_connection(cfg, "immich").target == "immich"
    with pytest.raises(ValueError):
        notify.test_connection(cfg, "flickr")


def test_batch_validation() -> None:
    with pytest.raises(ValueError):
        WrittenFile("../outside.jpg")
    with pytest.raises(ValueError):
        WrittenFile("/abs/path.jpg")
    with pytest.raises(ValueError):
        FaceBox(0.5, 0.5, 0.0, 0.1)
    assert WrittenFile("a//b/./c.jpg").rel_path == "a/b/c.jpg"
