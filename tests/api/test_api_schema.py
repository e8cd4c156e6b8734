"""The API's contract: a valid OpenAPI schema covering every route, docs, errors, system routes."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.routing import iter_route_contexts
from openapi_spec_validator import validate

from tagmyphotos import VERSION
from tagmyphotos.store import migrations
from tests.support.api import ApiEnv, assert_problem

pytest_plugins = ("tests.support.api",)

UNDOCUMENTED = {"/api/v1/openapi.json", "/api/v1/docs", "/api/v1/{rest:path}"}


def test_openapi_schema_is_valid_and_covers_every_route(api: ApiEnv) -> None:
    schema = api.ok("GET", "/openapi.json")
    validate(schema)
    assert schema["info"]["title"] == "Tag My Photos API"
    served = set()
    for rc in iter_route_contexts(api.app.routes):
        path = re.sub(r":int}", "}", rc.path or "")  # {face_id:int} is documented as {face_id}
        if path.startswith("/api/v1") and path not in UNDOCUMENTED:
            served |= {(path, method.lower()) for method in rc.methods or () if method != "HEAD"}
    documented = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    assert served == documented and len(served) >= 30
    schemes = schema["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} >= {"apiKey", "http"}
    for path, method in documented:
        op = schema["paths"][path][method]
        assert op.get("summary"), f"{method} {path} has no summary"
        assert op.get("security"), f"{method} {path} declares no auth"
        ok = [code for code in op["responses"] if code.startswith("2")]
        assert ok, f"{method} {path} documents no success response"
        content = op["responses"][ok[0]].get("content", {})
        assert content, f"{method} {path} documents no response body"
        assert "401" in op["responses"] and "application/problem+json" in op["responses"]["401"]["content"]
        for param in op.get("parameters", []):
            assert param.get("schema"), f"{method} {path}: parameter {param['name']} has no schema"


NEW_IN_19B = {
    ("/api/v1/photos", "get"), ("/api/v1/photos/purge", "post"), ("/api/v1/teach/folder", "post"),
    ("/api/v1/teach/upload", "post"), ("/api/v1/people/merge-suggestions", "get"),
    ("/api/v1/people/merge-suggestions/merge", "post"), ("/api/v1/people/merge-suggestions/different", "get"),
    ("/api/v1/people/merge-suggestions/different", "post"),
    ("/api/v1/people/merge-suggestions/different/{person_id}/{other_id}", "delete"),
}  # fmt: skip


def test_teach_purge_photo_search_and_merge_routes_are_documented(api: ApiEnv) -> None:
    schema = api.ok("GET", "/openapi.json")
    documented = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    assert documented >= NEW_IN_19B
    photos = {p["name"] for p in schema["paths"]["/api/v1/photos"]["get"]["parameters"]}
    assert {"people", "mode", "date_from", "date_to", "has_unnamed_faces", "folder", "limit", "offset"} <= photos
    upload = schema["paths"]["/api/v1/teach/upload"]["post"]["requestBody"]["content"]
    assert list(upload) == ["multipart/form-data"]
    teach_types = {t["type"] for t in api.ok("GET", "/jobs/types")}
    assert "teach" in teach_types


def test_every_list_is_paginated_with_a_limit(api: ApiEnv) -> None:
    schema = api.ok("GET", "/openapi.json")
    lists = [p for p, ops in schema["paths"].items() if "get" in ops and any(
        x["name"] == "offset" for x in ops["get"].get("parameters", []))]  # fmt: skip
    assert len(lists) >= 10
    for path in lists:
        limit = next(x for x in schema["paths"][path]["get"]["parameters"] if x["name"] == "limit")
        assert limit["schema"]["maximum"] == 500
        url = path.replace("{person_id}", "1").replace("{job_id}", "1")
        if "{" in url:
            continue
        resp = api.get(url.replace("/api/v1", ""), params={"limit": 501})
        assert_problem(resp, 422)


def test_docs_page_is_self_contained(api: ApiEnv) -> None:
    resp = api.get("/docs")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    nonce = resp.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert "openapi.json" in resp.text and f'<script nonce="{nonce}">' in resp.text  # its script runs under the CSP
    assert "cdn" not in resp.text.lower() and "https://" not in resp.text  # works offline


def test_unknown_paths_and_methods_are_problems(api: ApiEnv) -> None:
    body = assert_problem(api.get("/no/such/endpoint"), 404)
    assert "/api/v1/no/such/endpoint" in body["detail"]
    resp = api.call("PUT", "/photos")
    assert_problem(resp, 405)
    assert resp.headers["allow"] == "GET"
    assert_problem(api.call("DELETE", "/jobs/1/cancel"), 405)


def test_an_internal_error_shows_no_internals(api: ApiEnv, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    import ui.api.system as system

    def broken() -> dict:
        raise RuntimeError("secret internal detail /work/main/tagmyphotos/stats.py")

    monkeypatch.setattr(system, "library_stats", broken)
    with caplog.at_level(logging.ERROR, logger="tagmyphotos.api"):
        resp = api.get("/stats")
    body = assert_problem(resp, 500)
    assert "secret internal detail" not in resp.text and "stats.py" not in resp.text
    assert "the log has the details" in body["detail"]
    assert any("secret internal detail" in r.getMessage() or r.exc_info for r in caplog.records)


def test_version_stats_and_whoami(api: ApiEnv) -> None:
    version = api.ok("GET", "/version")
    assert version["schema_version"] == migrations.LATEST == version["latest_schema_version"]
    assert version["api"] == "v1" and version["version"] == VERSION
    stats = api.ok("GET", "/stats")
    assert stats["photos"]["total"] == 64 and stats["faces"]["total"] > 0
    assert isinstance(stats["queue_depth"], int)
    assert api.ok("GET", "/whoami") == {"kind": "api_key", "name": "tests (full)", "scope": "full"}


def test_key_management_routes(api: ApiEnv) -> None:
    made = api.ok("POST", "/keys", json={"name": "ci", "scope": "read"})
    assert made["secret"].startswith("tmpk_") and made["key"]["prefix"] == made["secret"][:13]
    listed = api.ok("GET", "/keys")
    assert made["key"]["id"] in {k["id"] for k in listed["items"]} and "secret" not in str(listed)
    assert made["secret"] not in api.get("/keys").text
    api.ok("GET", "/stats", key=None, headers={"X-API-Key": made["secret"]})
    one = api.ok("GET", f"/keys/{made['key']['id']}")
    assert one["last_used_at"] is not None
    assert api.ok("DELETE", f"/keys/{made['key']['id']}")["revoked_at"]
    assert_problem(api.call("DELETE", f"/keys/{made['key']['id']}"), 404)
    assert_problem(api.get(f"/keys/{made['key']['id']}"), 404)  # revoked: gone, like any deleted resource
    assert made["key"]["id"] in {k["id"] for k in api.ok("GET", "/keys?include_revoked=true")["items"]}
    assert_problem(api.post("/keys", json={"name": "", "scope": "read"}), 422)
    assert_problem(api.post("/keys", json={"name": "x", "scope": "admin"}), 422)
