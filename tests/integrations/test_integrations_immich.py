"""Immich client against a spec-validating fake Immich over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import time

import pytest

from integrations.immich.client import FACES_IMPORT_HINT, check_immich, notify_immich
from tagmyphotos_lab.fakes.builders import batch, closed_port_url, integrations_cfg, written
from tagmyphotos_lab.fakes.immich import FakeImmich, like
from tests.support.immich import MAP, cfg_for

pytest_plugins = ("tests.support.immich",)


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.http.HTTP_BACKOFF_BASE_S", 0.05)

def test_like_semantics_of_the_fake_match_postgres_ilike() -> None:
    assert like("/a/IMG_1.jpg", "/x/a/img_1.JPG")
    assert like("/a/IMG_1.jpg", "/a/IMGx1.jpg")  # _ is a one-character wildcard
    assert like("50%", "/b/50 percent/c")  # % matches anything
    assert not like("/a/b.jpg", "/a/c.jpg")
    assert like("/Fotos/Chloe", "/fotos/Chloé/1.jpg")  # unaccented


def test_success_refreshes_exact_paths_only(immich: FakeImmich) -> None:
    a = immich.add_asset("/mnt/photos/2020/IMG_1.jpg")
    b = immich.add_asset("/mnt/photos/2020/b.jpg")
    # Decoys the LIKE search returns but which are other files.
    immich.add_asset("/mnt/photos/2020/IMGX1.jpg")
    immich.add_asset("/mnt/photos/2020/img_1.JPG")
    immich.add_asset("/old/mnt/photos/2020/IMG_1.jpg")
    res = notify_immich(cfg_for(immich), batch(written("2020/IMG_1.jpg"), written("2020/b.jpg")))
    assert res.status == "ok", res.message
    assert sorted(immich.refreshed_ids()) == sorted([a, b])
    assert res.counts["found"] == 2 and res.counts["refresh_calls"] == 1
    for call in immich.calls("POST", "/api/search/metadata"):
        assert call.headers["x-api-key"] == immich.api_key


def test_unauthorized_key_fails_fast_without_retry(immich: FakeImmich) -> None:
    immich.add_asset("/mnt/photos/a.jpg")
    cfg = integrations_cfg(immich={"url": immich.url, "api_key": "wrong-key-42", "path_map": MAP})
    res = notify_immich(cfg, batch(written("a.jpg")))
    assert res.status == "failed"
    assert "HTTP 401" in res.message and "Invalid API key" in res.message
    assert "wrong-key-42" not in res.message
    assert len(immich.requests) == 1
    assert immich.refreshed_ids() == []


def test_unknown_asset_is_reported_and_the_rest_refreshed(immich: FakeImmich) -> None:
    known = immich.add_asset("/mnt/photos/2021/known.jpg")
    res = notify_immich(cfg_for(immich), batch(written("2021/known.jpg"), written("2021/missing.jpg")))
    assert res.status == "warning"
    assert res.counts["found"] == 1 and res.counts["unknown"] == 1
    assert "/mnt/photos/2021/missing.jpg" in res.message
    assert immich.refreshed_ids() == [known]


def test_no_asset_found_at_all_is_a_failure_naming_the_path_map(immich: FakeImmich) -> None:
    immich.add_asset("/photos/elsewhere.jpg")
    res = notify_immich(cfg_for(immich), batch(written("a.jpg")))
    assert res.status == "failed"
    assert "path_map" in res.message
    assert immich.calls("POST", "/api/assets/jobs") == []


def test_timeout_is_retried_then_reported(immich: FakeImmich) -> None:
    immich.add_asset("/mnt/photos/a.jpg")
    immich.slow("POST /api/search/metadata", delay_s=1.5, times=5)
    cfg = integrations_cfg(
        immich={"url": immich.url, "api_key": immich.api_key, "path_map": MAP}, timeout_s=0.3
    )
    t0 = time.monotonic()
    res = notify_immich(cfg, batch(written("a.jpg")))
    assert res.status == "failed" and "timeout" in res.message
    assert len(immich.calls("POST", "/api/search/metadata")) == 3  # 1 + retries=2
    assert time.monotonic() - t0 < 3.0
    assert immich.refreshed_ids() == []


def test_500_then_success_with_backoff(immich: FakeImmich) -> None:
    a = immich.add_asset("/mnt/photos/a.jpg")
    immich.fail("POST /api/assets/jobs", status=500, times=1)
    res = notify_immich(cfg_for(immich), batch(written("a.jpg")))
    assert res.status == "ok", res.message
    calls = immich.calls("POST", "/api/assets/jobs")
    assert [c.status for c in calls] == [500, 204]
    assert calls[1].at - calls[0].at >= 0.05  # waited the backoff before retrying
    assert immich.refreshed_ids() == [a]


def test_4xx_is_not_retried(immich: FakeImmich) -> None:
    immich.add_asset("/mnt/photos/a.jpg")
    immich.fail("POST /api/assets/jobs", status=400, times=5, body=immich.error_body(400, "nope"))
    res = notify_immich(cfg_for(immich), batch(written("a.jpg")))
    assert res.status == "failed" and "HTTP 400" in res.message
    assert len(immich.calls("POST", "/api/assets/jobs")) == 1


def test_path_mapping_and_files_outside_the_local_prefix(immich: FakeImmich) -> None:
    a = immich.add_asset("/photos/family/2019/a.jpg")
    path_map = {"local_prefix": "/library/family", "remote_prefix": "/photos/family"}
    cfg = integrations_cfg(immich={"url": immich.url, "api_key": immich.api_key, "path_map": path_map})
    res = notify_immich(cfg, batch(written("family/2019/a.jpg"), written("work/b.jpg")))
    assert immich.refreshed_ids() == [a]
    assert res.status == "warning" and res.counts["unmapped"] == 1
    assert "outside path map: work/b.jpg" in res.details


def test_one_refresh_call_per_job_not_per_file(immich: FakeImmich) -> None:
    ids = [immich.add_asset(f"/mnt/photos/{d}/{i}.jpg") for d in ("a", "b", "c", "d") for i in range(10)]
    files = [written(f"{d}/{i}.jpg") for d in ("a", "b", "c", "d") for i in range(10)]
    res = notify_immich(cfg_for(immich), batch(*files))
    assert res.status == "ok", res.message
    assert len(immich.calls("POST", "/api/assets/jobs")) == 1
    assert sorted(immich.refreshed_ids()) == sorted(ids)
    assert len(immich.calls("POST", "/api/search/metadata")) == 4  # one folder search per folder


def test_refresh_is_split_into_batches(immich: FakeImmich, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.immich.client.IMMICH_JOB_BATCH_SIZE", 10)
    ids = [immich.add_asset(f"/mnt/photos/x/{i}.jpg") for i in range(25)]
    notify_immich(cfg_for(immich), batch(*[written(f"x/{i}.jpg") for i in range(25)]))
    assert [len(ids_) for _, ids_ in immich.job_runs] == [10, 10, 5]
    assert sorted(immich.refreshed_ids()) == sorted(ids)


def test_search_pages_through_results(immich: FakeImmich, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.immich.client.IMMICH_SEARCH_PAGE_SIZE", 5)
    ids = [immich.add_asset(f"/mnt/photos/y/{i:02}.jpg") for i in range(12)]
    chosen = (0, 1, 2, 3, 6, 7, 10, 11)
    res = notify_immich(cfg_for(immich), batch(*[written(f"y/{i:02}.jpg") for i in chosen]))
    assert res.counts["found"] == 8
    pages = [c.json["page"] for c in immich.calls("POST", "/api/search/metadata")]
    assert pages == [1, 2, 3]  # one folder search, paged via nextPage
    assert sorted(immich.refreshed_ids()) == sorted(ids[i] for i in chosen)


def test_folder_search_falls_back_per_file_when_folder_is_huge(
    immich: FakeImmich, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("integrations.immich.client.IMMICH_SEARCH_PAGE_SIZE", 2)
    for i in range(20):
        immich.add_asset(f"/mnt/photos/big/sub/{i}.jpg")
    ids = [immich.add_asset(f"/mnt/photos/big/{n}.jpg") for n in ("p", "q", "r")]
    notify_immich(cfg_for(immich), batch(*[written(f"big/{n}.jpg") for n in ("p", "q", "r")]))
    bodies = [c.json["originalPath"] for c in immich.calls("POST", "/api/search/metadata")]
    assert bodies[0] == "/mnt/photos/big/"
    assert bodies.count("/mnt/photos/big/") == 1  # gave up after page 1 (total says 12 pages)
    assert sorted(immich.refreshed_ids()) == sorted(ids)


def test_new_sidecar_triggers_sidecar_discovery(immich: FakeImmich) -> None:
    immich.add_asset("/mnt/photos/a.jpg")
    notify_immich(cfg_for(immich), batch(written("a.jpg", sidecar_created=True)))
    assert immich.queue_commands == [("sidecar", {"command": "start", "force": False})]


def test_faces_import_off_is_reported_with_the_exact_setting(immich: FakeImmich) -> None:
    immich.add_asset("/mnt/photos/a.jpg")
    res = notify_immich(cfg_for(immich), batch(written("a.jpg", faces=(("Ann", (0.1, 0.1, 0.2, 0.2)),))))
    assert res.status == "warning"
    assert FACES_IMPORT_HINT in res.message and "metadata.faces.import" in res.message


def test_secrets_never_logged(immich: FakeImmich, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    immich.add_asset("/mnt/photos/a.jpg")
    immich.fail("POST /api/assets/jobs", status=503, times=1)
    notify_immich(cfg_for(immich), batch(written("a.jpg")))
    bad = integrations_cfg(immich={"url": immich.url, "api_key": "other-secret-key-77", "path_map": MAP})
    notify_immich(bad, batch(written("a.jpg")))
    assert "retry 1/2" in caplog.text
    assert immich.api_key not in caplog.text and "other-secret-key-77" not in caplog.text


# --- test connection ---------------------------------------------------------------------------


def test_check_ok_when_faces_import_is_on() -> None:
    with FakeImmich(faces_import=True) as fake:
        fake.add_asset("/mnt/photos/a.jpg")
        res = check_immich(cfg_for(fake))
        assert res.status == "ok", res.message
        assert fake.violations == []


def test_check_tells_exactly_what_to_switch_on(immich: FakeImmich) -> None:
    immich.add_asset("/mnt/photos/a.jpg")
    res = check_immich(cfg_for(immich))
    assert res.status == "warning"
    assert 'switch on "Import faces"' in res.message and "metadata.faces.import" in res.message


def test_check_with_non_admin_key_asks_to_verify_by_hand() -> None:
    with FakeImmich(is_admin=False) as fake:
        fake.add_asset("/mnt/photos/a.jpg")
        res = check_immich(cfg_for(fake))
        assert res.status == "warning" and "check by hand" in res.message
        assert fake.calls("GET", "/api/system-config")[0].status == 403
        assert fake.violations == []


def test_check_lists_missing_permissions() -> None:
    with FakeImmich(permissions=("asset.read",)) as fake:
        res = check_immich(cfg_for(fake, push_faces=True))
        assert res.status == "failed"
        for perm in ("job.create", "person.create", "face.create"):
            assert perm in res.message
        assert fake.violations == []


def test_check_rejected_key(immich: FakeImmich) -> None:
    cfg = integrations_cfg(immich={"url": immich.url, "api_key": "bad", "path_map": MAP})
    res = check_immich(cfg)
    assert res.status == "failed" and "rejected (HTTP 401)" in res.message


def test_check_unreachable() -> None:
    res = check_immich(integrations_cfg(immich={"url": closed_port_url(), "api_key": "k"}))
    assert res.status == "failed" and "cannot reach" in res.message and "cannot connect" in res.message


def test_check_warns_about_a_remote_prefix_with_no_photos(immich: FakeImmich) -> None:
    immich.add_asset("/data/photos/a.jpg")
    res = check_immich(cfg_for(immich))
    assert "no photo path in Immich contains /mnt/photos/" in res.message


def test_check_missing_settings() -> None:
    assert "no URL set" in check_immich(integrations_cfg(immich={})).message
    assert "no API key" in check_immich(integrations_cfg(immich={"url": "http://127.0.0.1:1"})).message
