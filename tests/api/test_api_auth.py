"""Auth on every route of the real app: no key, bad key, read-only key, env key, session, proxy."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tagmyphotos.system import auth
from tests.support.api import ApiEnv, assert_problem

pytest_plugins = ("tests.support.api",)

# Outside /api/v1 only the ops endpoints exist (owned by ui/api/ops.py): health has no auth.
OPS_PATHS = {"/healthz", "/readyz", "/metrics"}
READ = {"GET", "HEAD", "OPTIONS"}


def _routes(api: ApiEnv) -> list[tuple[str, str]]:
    """Every (method, concrete url) the app serves, path parameters filled with 1."""
    out = []
    for rc in iter_route_contexts(api.app.routes):
        path = rc.path or ""
        if path in OPS_PATHS:
            continue
        assert path.startswith("/api/v1/") or path == "/api/v1", f"a route outside the API: {path}"
        url = re.sub(r"\{rest:path\}", "no/such/thing", path)
        url = re.sub(r"\{target\}", "immich", url)
        url = re.sub(r"\{[a-z_]+(:int)?\}", "1", url)
        for method in sorted(rc.methods or ()):
            out.append((method, url))
    return out


def test_every_route_refuses_an_unauthenticated_request(api: ApiEnv) -> None:
    routes = _routes(api)
    assert len(routes) >= 25  # the enumeration really sees the resources
    for method, url in routes:
        resp = api.client.request(method, url)
        assert resp.status_code == 401, f"{method} {url} answered {resp.status_code} without auth"
        if method != "HEAD":
            assert_problem(resp, 401)
        assert resp.headers.get("www-authenticate") == "Bearer"
    assert api.client.get("/healthz").status_code == 200  # the one route without auth


def test_every_write_route_refuses_a_read_only_key(api: ApiEnv) -> None:
    writes = [(m, u) for m, u in _routes(api) if m not in READ]
    assert len(writes) >= 5
    for method, url in writes:
        resp = api.client.request(method, url, headers=api.read, json={})
        body = assert_problem(resp, 403)
        assert "read-only" in body["detail"] or "full scope" in body["detail"]


def test_read_only_key_reads_but_not_keys(api: ApiEnv) -> None:
    assert api.get("/photos", key="read").status_code == 200
    assert api.ok("GET", "/whoami", key="read")["scope"] == "read"
    assert_problem(api.get("/keys", key="read"), 403)


def test_bad_revoked_and_bearer_keys(api: ApiEnv) -> None:
    assert_problem(api.get("/stats", key=None, headers={"X-API-Key": "tmpk_nope"}), 401)
    assert_problem(api.get("/stats", key=None, headers={"X-API-Key": api.full_key + "x"}), 401)
    bearer = {"Authorization": f"Bearer {api.full_key}"}
    assert api.ok("GET", "/whoami", key=None, headers=bearer)["kind"] == "api_key"
    created = api.ok("POST", "/keys", json={"name": "short-lived", "scope": "read"})
    secret = created["secret"]
    assert api.get("/stats", key=None, headers={"X-API-Key": secret}).status_code == 200
    api.ok("DELETE", f"/keys/{created['key']['id']}")
    assert_problem(api.get("/stats", key=None, headers={"X-API-Key": secret}), 401)


def test_keys_are_stored_hashed(api: ApiEnv) -> None:
    from tagmyphotos.store import models as m

    rows = list(m.ApiKey.select())
    assert rows and all(api.full_key not in (r.key_hash + r.prefix) for r in rows)
    assert all(len(r.key_hash) == 64 and r.prefix == r.prefix[: auth.KEY_PREFIX_CHARS] for r in rows)


def test_environment_key_is_accepted_with_full_scope(api: ApiEnv) -> None:
    env_key = "an-automation-key-from-the-environment"
    api.core.cfg.auth.api_key = SecretStr(env_key)
    who = api.ok("GET", "/whoami", key=None, headers={"X-API-Key": env_key})
    assert who == {"kind": "env_key", "name": "configured key", "scope": "full"}
    assert_problem(api.get("/whoami", key=None, headers={"X-API-Key": env_key[:-1]}), 401)


def test_session_cookie_and_cross_site_guard(api: ApiEnv) -> None:
    cfg = api.core.cfg
    auth.set_password(cfg, "correct horse battery")
    token = auth.make_session(cfg, "alice")
    client = api.client
    client.cookies.set(auth.SESSION_COOKIE, token)
    try:
        assert client.get("/api/v1/whoami").json() == {"kind": "session", "name": "alice", "scope": "full"}
        same = client.post("/api/v1/jobs", json={"type": "scan"}, headers={"Origin": "http://testserver"})
        assert same.status_code == 202
        cross = client.post("/api/v1/jobs", json={"type": "scan"}, headers={"Origin": "https://evil.example"})
        assert_problem(cross, 403)
        auth.set_password(cfg, "another long password", current="correct horse battery")
        assert_problem(client.get("/api/v1/whoami"), 401)  # a password change ends old sessions
    finally:
        client.cookies.clear()
    client.cookies.set(auth.SESSION_COOKIE, token[:-2] + "xx")
    assert_problem(client.get("/api/v1/whoami"), 401)
    client.cookies.clear()


def test_proxy_header_is_off_by_default_and_trusted_only_from_the_proxy(api: ApiEnv) -> None:
    remote = {"Remote-User": "bob"}
    local = TestClient(api.app, client=("127.0.0.1", 5000), raise_server_exceptions=False)
    assert_problem(local.get("/api/v1/whoami", headers=remote), 401)
    api.core.cfg.auth.proxy_header = "Remote-User"
    who = local.get("/api/v1/whoami", headers=remote).json()
    assert who == {"kind": "proxy", "name": "bob", "scope": "full"}
    stranger = TestClient(api.app, client=("203.0.113.9", 5000), raise_server_exceptions=False)
    assert_problem(stranger.get("/api/v1/whoami", headers=remote), 401)
    assert_problem(local.get("/api/v1/whoami"), 401)  # no header, no user


@pytest.mark.parametrize("size", [2 * 1024 * 1024])
def test_request_size_limit(api: ApiEnv, size: int) -> None:
    body = b'{"type": "scan", "params": {"x": "' + b"a" * size + b'"}}'
    resp = api.post("/jobs", content=body, headers={"Content-Type": "application/json"})
    assert_problem(resp, 413)

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(size // 65536 + 1):
            yield b"a" * 65536

    resp = api.post("/jobs", content=chunks(), headers={"Content-Type": "application/json"})
    assert_problem(resp, 413)


def test_teach_purge_search_and_merge_routes_are_behind_auth(api: ApiEnv) -> None:
    """The routes of issue 19 (part B) are in the enumeration above, and refuse as every route does."""
    routes = set(_routes(api))
    new = {("GET", "/api/v1/photos"), ("POST", "/api/v1/photos/purge"), ("POST", "/api/v1/teach/folder"),
           ("POST", "/api/v1/teach/upload"), ("GET", "/api/v1/people/merge-suggestions"),
           ("POST", "/api/v1/people/merge-suggestions/merge"), ("POST", "/api/v1/people/merge-suggestions/different"),
           ("DELETE", "/api/v1/people/merge-suggestions/different/1/1")}  # fmt: skip
    assert new <= routes
    for method, url in sorted(new):
        assert_problem(api.client.request(method, url), 401)
        if method not in READ:
            assert_problem(api.client.request(method, url, headers=api.read, json={}), 403)
