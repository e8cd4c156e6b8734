"""/jobs and /settings through the real app: start, list, progress, events, cancel; masked settings."""

from __future__ import annotations

import pytest

from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos.store import settings as settings_store
from tests.support.api import ApiEnv, assert_problem

pytest_plugins = ("tests.support.api",)


def test_job_types_and_start_a_scan(api: ApiEnv) -> None:
    types = {t["type"]: t for t in api.ok("GET", "/jobs/types")}
    assert "scan" in types and "analyze" in types["scan"]["then"]
    job = api.ok("POST", "/jobs", json={"type": "scan"})
    assert job["type"] == "scan" and job["state"] == "done"  # immediate mode: ran inside the request
    assert job["result"]["seen"] == 64 and job["result"]["unchanged"] == 64 and job["progress"] == 1.0
    again = api.ok("GET", f"/jobs/{job['id']}")
    assert again == job
    followers = api.ok("GET", f"/jobs?parent={job['id']}")
    assert [f["type"] for f in followers["items"]] == ["analyze"]
    events = api.ok("GET", f"/jobs/{job['id']}/events")
    assert events["total"] >= 1 and "scanned 64 files" in events["items"][0]["message"]
    assert api.ok("GET", f"/jobs/{job['id']}/events?level=error")["total"] == 0


def test_job_list_filters_order_and_pages(api: ApiEnv) -> None:
    made = [jobs_store.create_job("scan", {"n": i}) for i in range(5)]
    page = api.ok("GET", "/jobs?type=scan&state=queued&limit=2")
    assert page["total"] == 5 and [j["id"] for j in page["items"]] == made[::-1][:2]
    oldest = api.ok("GET", "/jobs?type=scan&state=queued&order=id&offset=4")
    assert [j["id"] for j in oldest["items"]] == [made[4]]
    assert_problem(api.get("/jobs?state=sleeping"), 422)


def test_cancel_a_queued_job_and_refuse_a_finished_one(api: ApiEnv) -> None:
    job_id = jobs_store.create_job("scan", {"trigger": "test"})
    cancelled = api.ok("POST", f"/jobs/{job_id}/cancel")
    assert cancelled["state"] == "cancelled"
    body = assert_problem(api.post(f"/jobs/{job_id}/cancel"), 409)
    assert "cancelled" in body["detail"]
    running = jobs_store.create_job("scan", {"trigger": "test2"})
    m.Job.update(state=m.JobState.RUNNING, started_at=m.utcnow()).where(m.Job.id == running).execute()
    asked = api.ok("POST", f"/jobs/{running}/cancel")
    assert asked["state"] == "running" and asked["cancel_requested"] is True
    assert_problem(api.post("/jobs/987654/cancel"), 404)
    assert_problem(api.get("/jobs/987654/events"), 404)


def test_job_start_validation(api: ApiEnv) -> None:
    body = assert_problem(api.post("/jobs", json={"type": "format-disk"}), 400)
    assert "scan" in body["detail"]
    assert_problem(api.post("/jobs", json={"params": {}}), 422)
    bad_path = assert_problem(api.post("/jobs", json={"type": "scan", "params": {"paths": ["../x.jpg"]}}), 422)
    assert bad_path["errors"][0]["loc"][:2] == ["body", "params"]
    assert_problem(api.post("/jobs", json={"type": "scan", "params": {"folder": "/etc"}}), 422)
    assert_problem(api.post("/jobs", json={"type": "scan", "params": {"nested": {"a": 1}}}), 422)
    ok = api.ok("POST", "/jobs", json={"type": "scan", "params": {"paths": ["a//b.jpg"], "no_follow": True}})
    assert ok["params"]["paths"] == ["a/b.jpg"]


def test_settings_read_is_masked(api: ApiEnv) -> None:
    secret = "immich-secret-value-1234"
    api.core.cfg.integrations.immich.api_key = secret  # type: ignore[assignment]
    resp = api.get("/settings")
    assert resp.status_code == 200 and secret not in resp.text
    data = resp.json()
    assert data["values"]["integrations"]["immich"]["api_key"] == "********"
    assert "matching.likely_confidence" in data["editable"]
    assert "library" not in data["editable"] and "write.exiftool" not in data["editable"]
    assert "auth.password" not in data["editable"] and "database.url" not in data["editable"]
    assert data["locked_by_environment"] == []


def test_keys_set_in_the_environment_are_locked(api: ApiEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGMYPHOTOS_MATCHING__K", "5")
    assert "matching.k" in api.ok("GET", "/settings")["locked_by_environment"]
    body = assert_problem(api.call("PATCH", "/settings", json={"changes": {"matching.k": 8}}), 409)
    assert "environment" in body["detail"]


def test_settings_change_validate_persist_and_reset(api: ApiEnv) -> None:
    changed = api.ok("PATCH", "/settings", json={"changes": {"matching.k": 9, "analysis.workers": 1}})
    assert changed["values"]["matching"]["k"] == 9 and api.core.cfg.matching.k == 9
    assert changed["restart_needed"] == ["analysis.workers"]
    assert settings_store.stored_overrides() == {"matching.k": 9, "analysis.workers": 1}
    bad = assert_problem(api.call("PATCH", "/settings", json={"changes": {"matching.k": 0}}), 400)
    assert "matching.k" in bad["detail"] and api.core.cfg.matching.k == 9
    for key in ("library", "write.exiftool", "auth.password", "server.port", "nope.nothing"):
        body = assert_problem(api.call("PATCH", "/settings", json={"changes": {key: "x"}}), 400)
        assert key in body["detail"]
    assert_problem(api.call("PATCH", "/settings", json={}), 400)
    reset = api.ok("PATCH", "/settings", json={"reset": ["matching.k"]})
    assert reset["values"]["matching"]["k"] == 7 and "matching.k" not in reset["overrides"]


def test_settings_secret_round_trip_keeps_the_secret(api: ApiEnv) -> None:
    api.ok("PATCH", "/settings", json={"changes": {"integrations.webhook.secret": "s3cr3t-hook"}})
    resp = api.get("/settings")
    assert "s3cr3t-hook" not in resp.text
    assert resp.json()["overrides"]["integrations.webhook.secret"] == "********"
    api.ok("PATCH", "/settings", json={"changes": {"integrations.webhook.secret": "********"}})
    assert api.core.cfg.integrations.webhook.secret is not None
    assert api.core.cfg.integrations.webhook.secret.get_secret_value() == "s3cr3t-hook"


def test_saved_overrides_apply_at_load_and_environment_wins(api: ApiEnv) -> None:
    api.ok("PATCH", "/settings", json={"changes": {"matching.k": 11, "write.mode": "sidecar"}})
    fresh = settings_store.apply_overrides(api.core.cfg.model_copy(), environ={})
    assert fresh.matching.k == 11 and fresh.write.mode == "sidecar"
    env = {"TAGMYPHOTOS_MATCHING__K": "5"}
    assert settings_store.apply_overrides(api.core.cfg, environ=env).matching.k == api.core.cfg.matching.k
    assert "matching.k" in settings_store.env_locked(env)


def test_integration_test_reports_instead_of_raising(api: ApiEnv) -> None:
    result = api.ok("POST", "/settings/integrations/immich/test")
    assert result["target"] == "immich" and result["ok"] is False and result["message"]
    assert_problem(api.post("/settings/integrations/flickr/test"), 422)


def test_write_audit_log(api: ApiEnv) -> None:
    photo = m.Photo.get(m.Photo.path == "img5.jpg")
    for result in ("ok", "failed", "ok"):
        m.WriteAudit.create(photo=photo.id, path=photo.path, mode="sidecar", result=result, error=None)
    log = api.ok("GET", "/writes/audit")
    assert log["total"] == 3 and [a["id"] for a in log["items"]] == sorted(
        (a["id"] for a in log["items"]), reverse=True
    )
    assert api.ok("GET", "/writes/audit?result=failed")["total"] == 1
    assert api.ok("GET", "/writes/audit", params={"path": "img5.jpg"})["total"] == 3
    assert api.ok("GET", f"/writes/audit/{log['items'][0]['id']}")["path"] == "img5.jpg"
    assert_problem(api.get("/writes/audit", params={"path": "../img5.jpg"}), 400)
    assert_problem(api.get("/writes/audit/999999"), 404)
