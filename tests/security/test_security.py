"""Security of the real app: every route refuses unauthenticated access (enumerated from the app,
not listed by hand), path traversal never reads or writes outside the library and data folders,
API keys and the password are hashed at rest, secrets never reach logs, API answers, the config
check or the UI, and cookie-authenticated writes are refused cross-site.

In-process tests use the real composition (FastAPI + tagmyphotos_app.web.mount); the UI pages
and the NiceGUI routes are checked against the real server (`serve`) over real HTTP.
"""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from pydantic import SecretStr

from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tagmyphotos.system import auth, throttle
from tagmyphotos_lab.appserver import run_server
from tests.support import dbtarget
from tests.support import kill as ks
from tests.support import security as sec
from tests.support.api import ApiEnv
from tests.support.base import ROOT, make_config

pytest_plugins = ("tests.support.api",)

PASSWD_MARK = b"root:x:0:0"
SECRETS = {
    "auth.password": "pw-" + secrets.token_hex(12),
    "auth.api_key": "envkey-" + secrets.token_hex(16),
    "integrations.immich.api_key": "immich-" + secrets.token_hex(16),
    "integrations.photoprism.token": "pp-" + secrets.token_hex(16),
    "integrations.webhook.secret": "hook-" + secrets.token_hex(16),
    "server.storage_secret": "cookie-" + secrets.token_hex(16),
}


@dataclass
class Canary:
    path: Path
    data: bytes


@pytest.fixture
def canary(api: ApiEnv, tmp_path: Path) -> Canary:
    """A secret file outside the library, and links to it from inside the library."""
    out = tmp_path / "outside"
    out.mkdir()
    data = b"\xff\xd8\xff CANARY " + secrets.token_hex(16).encode()
    (out / "secret.jpg").write_bytes(data)
    links = api.core.library / "links"
    links.mkdir()
    os.symlink(out / "secret.jpg", links / "outside.jpg")
    os.symlink(out, links / "outside")
    return Canary(out / "secret.jpg", data)


# --- authentication ------------------------------------------------------------------------
def _forged_sessions(cfg: object, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    auth.set_password(cfg, "correct horse battery")  # type: ignore[arg-type]
    other = URLSafeTimedSerializer("not-our-secret", salt="tagmyphotos.session").dumps({"u": "admin", "p": "x"})
    signed_at = time.time() - auth.SESSION_MAX_AGE_S - 86400
    with monkeypatch.context() as mp:  # a session signed a day past its maximum age
        mp.setattr(time, "time", lambda: signed_at)
        old = auth.make_session(cfg)  # type: ignore[arg-type]
    before_change = auth.make_session(cfg)  # type: ignore[arg-type]
    auth.set_password(cfg, "another long password", current="correct horse battery")  # type: ignore[arg-type]
    return {"forged": other, "expired": old, "before password change": before_change}


def test_every_route_refuses_every_bad_credential(api: ApiEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    routes = [(mt, u) for mt, u in sec.concrete_routes(api.app) if u not in sec.PUBLIC_PATHS]
    assert len(routes) >= 50, "the enumeration should see every resource"
    # Wrong keys are throttled (429, tests/system/test_key_throttle.py); here every attempt
    # comes a window later, so each one reaches the check whose 401 this test is about.
    ticks = iter(range(0, 10**12, 10**6))
    monkeypatch.setattr(throttle, "KEY_THROTTLE", throttle.LoginThrottle(clock=lambda: float(next(ticks))))
    info, revoked = auth.create_api_key("to be revoked")
    auth.revoke_api_key(info.id)
    sessions = _forged_sessions(api.core.cfg, monkeypatch)
    api.core.cfg.auth.proxy_header = "Remote-User"  # on, but the test client is no trusted proxy
    api.core.cfg.auth.proxy_trusted_ips = ["10.9.9.9/32"]
    attempts: dict[str, dict[str, dict[str, str]]] = {
        "nothing": {},
        "garbage key": {"headers": {"X-API-Key": "tmpk_garbage"}},
        "revoked key": {"headers": {"X-API-Key": revoked}},
        "key prefix only": {"headers": {"X-API-Key": api.full_key[: auth.KEY_PREFIX_CHARS]}},
        "oversized key": {"headers": {"X-API-Key": api.full_key + "x" * 600}},
        "empty bearer": {"headers": {"Authorization": "Bearer "}},
        "basic auth": {"headers": {"Authorization": "Basic YWRtaW46YWRtaW4="}},
        "key in the query": {"params": {"api_key": api.full_key, "key": api.full_key}},
        "untrusted proxy header": {"headers": {"Remote-User": "admin"}},
        **{f"{k} session": {"cookies": {auth.SESSION_COOKIE: v}} for k, v in sessions.items()},
    }
    for label, kw in attempts.items():
        for method, url in routes:
            api.client.cookies.clear()
            for name, value in kw.get("cookies", {}).items():
                api.client.cookies.set(name, value)
            resp = api.client.request(method, url, headers=kw.get("headers"), params=kw.get("params"))
            assert resp.status_code == 401, f"{label}: {method} {url} answered {resp.status_code}"
    api.client.cookies.clear()
    for path in sec.PUBLIC_PATHS:  # the only routes without auth
        assert api.client.get(path).status_code in (200, 503)


def test_public_routes_carry_no_names_paths_or_secrets(api: ApiEnv) -> None:
    for key, value in SECRETS.items():
        _set(api.core.cfg, key, value)
    confirm_name = "Zebulon Quartermain"
    face = m.Face.select().first()
    from tagmyphotos.review.confirm import confirm

    confirm(api.core, [face.id], confirm_name)
    for path in sec.PUBLIC_PATHS:
        body = api.client.get(path).text
        assert confirm_name not in body and "img1.jpg" not in body and str(api.core.library) not in body, path
        assert not [k for k, v in SECRETS.items() if v in body], path


def _set(cfg: object, dotted: str, value: str) -> None:
    *parents, leaf = dotted.split(".")
    node = cfg
    for p in parents:
        node = getattr(node, p)
    setattr(node, leaf, SecretStr(value))


# --- path traversal ------------------------------------------------------------------------
def _fuzz_requests(api: ApiEnv, payload: str) -> list[tuple[str, str, dict]]:
    q = quote(payload, safe="")
    reqs: list[tuple[str, str, dict]] = [
        ("GET", "/api/v1/photos/by-path", {"params": {"path": payload}}),
        ("GET", "/api/v1/photos", {"params": {"folder": payload}}),
        ("GET", "/api/v1/photos", {"params": {"q": payload}}),
        ("GET", "/api/v1/writes/preview", {"params": {"path": payload}}),
        ("GET", "/api/v1/writes/audit", {"params": {"path": payload}}),
        ("POST", "/api/v1/writes", {"json": {"paths": [payload]}}),
        ("POST", "/api/v1/writes/restore", {"json": {"paths": [payload]}}),
        ("POST", "/api/v1/jobs", {"json": {"type": "write", "params": {"paths": [payload]}}}),
        ("POST", "/api/v1/jobs", {"json": {"type": "restore", "params": {"paths": [payload]}}}),
        ("GET", f"/api/v1/{q}", {}),
    ]
    for method, template in sec.path_param_routes(api.app):
        url = template.replace("{rest:path}", q)
        for part in [p for p in template.split("/") if p.startswith("{")]:
            url = url.replace(part, q)
        reqs.append((method, url, {"json": {}} if method not in sec.READ_METHODS else {}))
    return reqs


def test_path_traversal_fuzz_never_leaves_library_and_data(api: ApiEnv, canary: Canary, tmp_path: Path) -> None:
    cfg = api.core.cfg
    allowed = [cfg.library, cfg.data]
    watched = [tmp_path, Path("/etc/passwd"), Path("/etc/shadow")]
    sent = 0
    with sec.ACCESS.record() as access:
        for target in (str(canary.path), "/etc/passwd"):
            for payload in sec.payloads(target):
                for method, url, kw in _fuzz_requests(api, payload):
                    resp = api.call(method, url, **kw)
                    sent += 1
                    assert resp.status_code < 500, f"{method} {url}: {resp.status_code} {resp.text[:300]}"
                    assert canary.data not in resp.content and PASSWD_MARK not in resp.content, f"{method} {url}"
    assert sent > 1000
    assert sec.outside(access.reads, allowed, watched) == []
    assert sec.outside(access.writes, [cfg.data], watched) == []
    assert not [a for a in access.spawned if any(str(canary.path) in x or "/etc/passwd" in x for x in a)]
    assert canary.path.read_bytes() == canary.data


def test_links_out_of_library_and_data_are_never_followed(api: ApiEnv, canary: Canary, tmp_path: Path) -> None:
    cfg = api.core.cfg
    face = m.Face.select().where(m.Face.thumb.is_null(False)).first()
    thumb = cfg.data / face.thumb
    thumb.unlink()
    os.symlink(canary.path, thumb)  # a thumbnail swapped for a link out of the data folder
    with sec.ACCESS.record() as access:
        resp = api.get(f"/faces/{face.id}/thumb")
        assert resp.status_code in (400, 404) and canary.data not in resp.content
        job = api.ok("POST", "/jobs", json={"type": "scan"})
        assert api.ok("GET", f"/jobs/{job['id']}")["state"] == "done"
        for path in ("links/outside.jpg", "links/outside/secret.jpg"):
            assert m.Photo.get_or_none(m.Photo.path == path) is None, f"{path} was indexed"
            resp = api.get("/photos/by-path", params={"path": path})
            assert resp.status_code == 400 and canary.data not in resp.content
    assert str(canary.path) not in [os.path.realpath(p) for p in access.reads]


# --- secrets at rest and in logs -----------------------------------------------------------
def _db_bytes(cfg: object) -> bytes:
    if dbtarget.on_postgres():
        return dbtarget.dump(cfg.data)  # type: ignore[attr-defined]
    db = Path(str(cfg.db_path))  # type: ignore[attr-defined]
    return b"".join(p.read_bytes() for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists())


def test_api_keys_and_password_are_hashed_at_rest(api: ApiEnv) -> None:
    cfg = api.core.cfg
    via_api = api.ok("POST", "/keys", json={"name": "script", "scope": "read"})["secret"]
    env = ks.app_env(cfg.library, cfg.data)
    created = ks.run(["apikey", "create", "--name", "cli", "--json"], env)
    assert created.returncode == 0, created.stderr
    via_cli = next(v for v in json.loads(created.stdout).values() if isinstance(v, str) and v.startswith("tmpk_"))
    password = "a long password " + secrets.token_hex(8)
    auth.set_password(cfg, password)
    assert api.get("/whoami", key=None, headers={"X-API-Key": via_cli}).status_code == 200
    raw = _db_bytes(cfg)
    for secret in (api.full_key, api.read_key, via_api, via_cli, password):
        assert secret.encode() not in raw, "a secret is stored in clear"
        assert secret[auth.KEY_PREFIX_CHARS :].encode() not in raw, "a secret's random part is stored in clear"


def _capture_logs(cfg: object) -> io.StringIO:
    """The app's own logging set-up, plus a stream with the same formatter."""
    from tagmyphotos.system.logs import configure_logging

    configure_logging(cfg)  # type: ignore[arg-type]
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    formatter = next(h.formatter for h in root.handlers if getattr(h, "_tagmyphotos", False))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler._tagmyphotos = True  # type: ignore[attr-defined]  # removed by the next configure_logging
    root.addHandler(handler)
    return stream


def test_secrets_never_reach_api_answers_or_logs(api: ApiEnv) -> None:
    cfg = api.core.cfg
    for key, value in SECRETS.items():
        _set(cfg, key, value)
    cfg.integrations.immich.url = "http://127.0.0.1:9"  # nothing listens: a failure to report
    cfg.integrations.webhook.url = "http://127.0.0.1:9/hook"
    logs = _capture_logs(cfg)
    answers = [api.get(p).text for p in ("/settings", "/version", "/stats", "/whoami", "/jobs")]
    answers += [api.client.get(p).text for p in ("/readyz", "/metrics", "/healthz")]
    for target in ("immich", "photoprism", "webhook"):
        answers.append(api.post(f"/settings/integrations/{target}/test").text)
    masked = api.call("PATCH", "/settings", json={"changes": {"integrations.immich.api_key": "********"}})
    answers.append(masked.text)
    kept = cfg.integrations.immich.api_key
    assert kept is not None and kept.get_secret_value() == SECRETS["integrations.immich.api_key"]
    fresh = "immich-new-" + secrets.token_hex(8)
    answers.append(api.call("PATCH", "/settings", json={"changes": {"integrations.immich.api_key": fresh}}).text)
    for value in (*SECRETS.values(), fresh):  # failed logins with secret-looking keys are logged, masked
        api.get("/whoami", key=None, headers={"X-API-Key": value + "x", "Authorization": f"Bearer {value}x"})
    logging.getLogger("tagmyphotos.test").warning("webhook secret=%s token: %s", fresh, fresh)
    text = "\n".join(answers) + logs.getvalue()
    leaked = [k for k, v in (*SECRETS.items(), ("new immich key", fresh)) if v in text]
    where = [line for line in text.splitlines() if any(v in line for v in (*SECRETS.values(), fresh))]
    assert leaked == [], f"secrets in answers or logs: {leaked}: " + "\n".join(w[:400] for w in where)
    assert "********" in answers[0]


def test_config_check_masks_secrets(tmp_path: Path) -> None:
    env = ks.app_env(tmp_path / "library", tmp_path / "data")
    env.update({
        "TAGMYPHOTOS_PASSWORD": SECRETS["auth.password"], "TAGMYPHOTOS_API_KEY": SECRETS["auth.api_key"],
        "TAGMYPHOTOS_INTEGRATIONS__IMMICH__API_KEY": SECRETS["integrations.immich.api_key"],
        "TAGMYPHOTOS_INTEGRATIONS__PHOTOPRISM__TOKEN": SECRETS["integrations.photoprism.token"],
        "TAGMYPHOTOS_INTEGRATIONS__WEBHOOK__SECRET": SECRETS["integrations.webhook.secret"],
        "TAGMYPHOTOS_SERVER__STORAGE_SECRET": SECRETS["server.storage_secret"],
    })  # fmt: skip
    for args in (["config", "check"], ["config", "check", "--json"]):
        out = ks.run(args, env)
        assert out.returncode == 0, out.stderr
        assert not [k for k, v in SECRETS.items() if v in out.stdout + out.stderr], args
        assert "********" in out.stdout


# --- cross-site requests, cookies, redirects -----------------------------------------------
def test_cookie_authenticated_writes_are_refused_cross_site(api: ApiEnv) -> None:
    cfg = api.core.cfg
    auth.set_password(cfg, "correct horse battery")
    writes = [(mt, u) for mt, u in sec.concrete_routes(api.app) if mt not in sec.READ_METHODS]
    assert len(writes) >= 20
    api.client.cookies.set(auth.SESSION_COOKIE, auth.make_session(cfg))
    try:
        for method, url in writes:
            for header in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/x"},
                           {"Origin": "null"}):  # fmt: skip
                resp = api.client.request(method, url, headers=header, json={})
                assert resp.status_code == 403, f"{method} {url} with {header}: {resp.status_code}"
        same = api.client.post("/api/v1/jobs", json={"type": "scan"}, headers={"Origin": "http://testserver"})
        assert same.status_code == 202
    finally:
        api.client.cookies.clear()


def test_login_cookie_flags_and_no_open_redirect(api: ApiEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.requests import Request

    from ui.components import session

    monkeypatch.setattr(session, "_core", lambda: api.core)
    auth.set_password(api.core.cfg, "correct horse battery")
    scope = {"type": "http", "method": "GET", "scheme": "https", "path": "/login/complete", "headers": [],
             "query_string": b"", "server": ("tmp", 443)}  # fmt: skip
    resp = session.complete_login(Request(scope), session.issue_ticket(), "/people")
    cookie = resp.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie and "path=/" in cookie
    replay = session.complete_login(Request(scope), "not-a-ticket", "/")
    assert "set-cookie" not in replay.headers and "expired" in replay.headers["location"]
    for hostile in ("//evil.example", "https://evil.example", "/\\evil.example", "\\\\evil", "javascript:x", ""):
        assert session.safe_next(hostile) == "/", hostile


# --- the real server: UI pages, NiceGUI routes, raw URLs -----------------------------------
@dataclass
class Server:
    base: str
    port: int
    cfg_env: dict[str, str]
    lib: Path
    data: Path


@pytest.fixture(scope="module")
def server(analysed_template: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import shutil

    base = tmp_path_factory.mktemp("server")
    lib, data = base / "library", base / "data"
    shutil.copytree(analysed_template[0], lib)
    dbtarget.copy_data(analysed_template[1], data)
    env = ks.app_env(lib, data)
    env.update({"TAGMYPHOTOS_PASSWORD": SECRETS["auth.password"],
                "TAGMYPHOTOS_INTEGRATIONS__IMMICH__API_KEY": SECRETS["integrations.immich.api_key"]})  # fmt: skip
    with run_server(env, cwd=ROOT, log=base / "server.log") as app:
        yield Server(app.base, app.port, env, lib, data)


PAGE_LISTER = """
import json
from ui.pages import register_pages
register_pages()
from nicegui import app
print(json.dumps([[sorted(getattr(r, "methods", None) or []), r.path] for r in app.routes]))
"""


def _ui_routes() -> list[tuple[list[str], str]]:
    out = subprocess.run([sys.executable, "-c", PAGE_LISTER], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return [(methods, path) for methods, path in json.loads(out.stdout.splitlines()[-1])]


# NiceGUI's own assets (scripts, styles, components) must load before login.
NICEGUI_PREFIX = "/_nicegui"
LOGIN_PAGES = {"/login", "/welcome", "/login/complete", "/logout"}


def test_every_ui_page_needs_a_login(server: Server) -> None:
    pages = [p for methods, p in _ui_routes() if not p.startswith(NICEGUI_PREFIX) and "GET" in methods]
    assert len(pages) >= 8
    with httpx.Client(base_url=server.base, follow_redirects=False, timeout=30) as client:
        for path in pages:
            url = path.replace("{person_id}", "1").replace("{photo_id}", "1")
            url = url.replace("{", "").replace("}", "")
            resp = client.get(url)
            given = resp.cookies.get(auth.SESSION_COOKIE)
            assert not given or given == '""', f"{url} handed out a session cookie"
            if path in LOGIN_PAGES:
                assert resp.status_code in (200, 303, 307), url
                continue
            assert resp.status_code in (302, 303, 307), f"{url} answered {resp.status_code} without a login"
            assert resp.headers["location"].startswith(("/login", "/welcome")) or "/login" in resp.headers["location"]


def test_api_over_http_refuses_anonymous_callers(server: Server) -> None:
    from tests.support.api import make_app

    core = Core(make_config(server.lib, server.data))
    try:
        routes = [(mt, u) for mt, u in sec.concrete_routes(make_app(core)) if u not in sec.PUBLIC_PATHS]
    finally:
        from jobs import runtime

        runtime.install(None)
        core.close()
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for method, url in routes:
            resp = client.request(method, url)
            assert resp.status_code == 401, f"{method} {url}: {resp.status_code}"


def test_raw_traversal_urls_against_the_server(server: Server, tmp_path: Path) -> None:
    canary = tmp_path / "canary.txt"
    canary.write_bytes(b"CANARY-" + secrets.token_hex(8).encode())
    core = Core(make_config(server.lib, server.data))
    try:
        _, key = auth.create_api_key("raw")
    finally:
        core.close()
    version = next(p.split("/")[2] for _, p in _ui_routes() if p.startswith(NICEGUI_PREFIX + "/"))
    bases = [f"/_nicegui/{version}/{kind}/" for kind in ("static", "libraries", "components", "esm/x",
                                                          "resources/x", "dynamic_resources")]  # fmt: skip
    bases += ["/api/v1/photos/", "/api/v1/photos/1/", "/api/v1/faces/1/", "/", "/people/", "/photo/"]
    hits = 0
    for base in bases:
        for target in ("/etc/passwd", str(canary)):
            for payload in sec.payloads(target):
                raw = base + payload.replace(" ", "%20")
                status, body = sec.raw_get("127.0.0.1", server.port, raw, {"X-API-Key": key})
                hits += 1
                assert PASSWD_MARK not in body and canary.read_bytes() not in body, f"{raw} -> {status}"
                assert status != 500, raw
    assert hits > 400


def test_settings_page_shows_no_secret(server: Server) -> None:
    core = Core(make_config(server.lib, server.data, TAGMYPHOTOS_PASSWORD=SECRETS["auth.password"]))
    try:
        auth.sync_configured_password(core.cfg)
        token = auth.make_session(core.cfg)
    finally:
        core.close()
    with httpx.Client(base_url=server.base, cookies={auth.SESSION_COOKIE: token}, timeout=60) as client:
        page = client.get("/settings")
        assert page.status_code == 200, page.status_code
        assert "immich" in page.text.lower() and "********" in page.text  # the form is in the page
        assert SECRETS["integrations.immich.api_key"] not in page.text
        assert SECRETS["auth.password"] not in page.text
