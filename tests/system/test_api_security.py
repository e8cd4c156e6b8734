"""The security core under the API: client paths, keys, passwords, sessions, proxy, the apikey CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tagmyphotos.config import Config
from tagmyphotos.core import Core
from tagmyphotos.library import paths
from tagmyphotos.store import models as m
from tagmyphotos.system import auth
from tagmyphotos_app.cli import main
from tests.support.base import make_config


# --- paths -----------------------------------------------------------------------------------
def test_clean_relative_accepts_ordinary_paths() -> None:
    assert paths.clean_relative("2020/Trip to Oslo/IMG_1.jpg") == "2020/Trip to Oslo/IMG_1.jpg"
    assert paths.clean_relative("a//b/") == "a/b"
    assert paths.clean_relative("été/ünïcødé 😀.jpg") == "été/ünïcødé 😀.jpg"
    assert paths.clean_relative("50%.jpg") == "50%.jpg"
    assert paths.clean_relative("", allow_empty=True) == ""
    with pytest.raises(paths.PathRefused):
        paths.clean_relative("")


@pytest.mark.parametrize(
    "raw",
    ["..", "../x", "a/..", "a/./b", "/abs", "~/x", "C:\\x", "D:/x", "a\\b", "a\x00b", "a\nb",
     "%2e%2e/x", "%2E%2e", "%252e%252e", "a%2fb", "a%5cb", "a%00b", "．．", "\u2024\u2024/x", "x" * 5000],
)  # fmt: skip
def test_clean_relative_refuses_tricks(raw: str) -> None:
    with pytest.raises(paths.PathRefused):
        paths.clean_relative(raw)


def test_resolve_inside_follows_links_only_inside(tmp_path: Path) -> None:
    root = tmp_path / "lib"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.jpg").write_bytes(b"inside")
    outside = tmp_path / "secret.txt"
    outside.write_text("outside")
    os.symlink(root / "sub" / "a.jpg", root / "inner-link.jpg")
    os.symlink(outside, root / "outer-link.jpg")
    os.symlink(tmp_path, root / "up")
    assert paths.resolve_inside(root, "inner-link.jpg") == (root / "sub" / "a.jpg").resolve()
    for raw in ("outer-link.jpg", "up/secret.txt", "up"):
        with pytest.raises(paths.PathRefused):
            paths.resolve_inside(root, raw)
    with pytest.raises(paths.PathNotFound):
        paths.resolve_inside(root, "sub/missing.jpg")
    assert paths.resolve_inside(root, "sub/missing.jpg", must_exist=False).name == "missing.jpg"
    real, fd = paths.open_inside(root, "sub/a.jpg")
    try:
        assert os.read(fd, 10) == b"inside"
    finally:
        os.close(fd)
    with pytest.raises(paths.PathRefused):
        paths.open_inside(root, "sub")  # a folder is not a file


# --- keys ------------------------------------------------------------------------------------
def test_keys_hash_scope_prefix_and_revoke(core: Core) -> None:
    info, secret = auth.create_api_key("backup", auth.SCOPE_READ)
    row = m.ApiKey.get_by_id(info.id)
    assert secret not in (row.key_hash, row.prefix) and row.prefix == secret[: auth.KEY_PREFIX_CHARS]
    who = auth.authenticate_key(core.cfg, secret)
    assert who is not None and who.scope == "read" and not who.can_write and who.key_id == info.id
    assert auth.authenticate_key(core.cfg, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert auth.authenticate_key(core.cfg, "") is None and auth.authenticate_key(core.cfg, "x" * 600) is None
    assert auth.revoke_api_key(info.prefix) is not None
    assert auth.authenticate_key(core.cfg, secret) is None
    assert auth.revoke_api_key(info.id) is None  # already revoked
    with pytest.raises(auth.AuthError):
        auth.create_api_key("x", "admin")
    with pytest.raises(auth.AuthError):
        auth.create_api_key("   ")


def test_configured_key_from_env_file_and_docker_secret(
    core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "api_key"
    secret_file.write_text("from-a-secret-file\n")
    cfg = make_config(core.cfg.library, core.cfg.data, TAGMYPHOTOS_API_KEY_FILE=str(secret_file))
    assert auth.authenticate_key(cfg, "from-a-secret-file") == auth.Principal("env_key", "configured key", "full")
    docker = tmp_path / "run-secrets-key"
    docker.write_text("docker-secret-key")
    monkeypatch.setattr(auth, "DOCKER_SECRET_FILES", (tmp_path / "absent", docker))
    assert auth.configured_api_key(core.cfg) == "docker-secret-key"
    assert auth.authenticate_key(core.cfg, "docker-secret-key") is not None


# --- password and sessions --------------------------------------------------------------------
def test_password_hash_is_salted_scrypt() -> None:
    first, second = auth.hash_password("hunter2hunter2"), auth.hash_password("hunter2hunter2")
    assert first != second and first.startswith("scrypt$") and "hunter2" not in first
    assert auth.verify_password("hunter2hunter2", first) and not auth.verify_password("hunter2", first)
    assert not auth.verify_password("x", "garbage") and not auth.verify_password("x", "md5$1$2$3$a$b")


def test_first_run_then_change_password(core: Core) -> None:
    cfg = core.cfg
    assert not auth.password_is_set(cfg) and not auth.check_password(cfg, "anything")
    with pytest.raises(auth.AuthError):
        auth.set_password(cfg, "short")
    auth.set_password(cfg, "first password")
    assert auth.password_is_set(cfg) and auth.check_password(cfg, "first password")
    stored = m.Setting.get_by_id(auth.PASSWORD_SETTING).value
    assert "first password" not in json.dumps(stored)
    with pytest.raises(auth.AuthError):
        auth.set_password(cfg, "second password")  # needs the current one
    with pytest.raises(auth.AuthError):
        auth.set_password(cfg, "second password", current="wrong")
    auth.set_password(cfg, "second password", current="first password")
    assert auth.check_password(cfg, "second password") and not auth.check_password(cfg, "first password")


def test_configured_password_is_stored_hashed_and_not_changeable_here(library: Path, tmp_path: Path) -> None:
    cfg = make_config(library, tmp_path / "data", TAGMYPHOTOS_PASSWORD="from the environment")
    core = Core(cfg)
    try:
        assert auth.password_is_set(cfg)
        auth.sync_configured_password(cfg)
        stored = m.Setting.get_by_id(auth.PASSWORD_SETTING).value
        assert stored.startswith("scrypt$") and "environment" not in stored
        assert auth.check_password(cfg, "from the environment") and not auth.check_password(cfg, "nope")
        with pytest.raises(auth.AuthError):
            auth.set_password(cfg, "a new password!", current="from the environment")
    finally:
        core.close()


def test_sessions_are_signed_expire_and_end_with_the_password(core: Core) -> None:
    cfg: Config = core.cfg
    auth.set_password(cfg, "first password")
    token = auth.make_session(cfg, "alice")
    assert auth.read_session(cfg, token) == auth.Principal("session", "alice", "full")
    assert auth.read_session(cfg, token + "x") is None
    assert auth.read_session(cfg, token, max_age_s=-1) is None
    assert auth.session_secret(cfg) == auth.session_secret(cfg)  # made once, kept
    auth.set_password(cfg, "second password", current="first password")
    assert auth.read_session(cfg, token) is None


def test_proxy_header_needs_config_and_a_trusted_address(core: Core) -> None:
    cfg = core.cfg
    headers = {"Remote-User": "carol"}
    assert auth.proxy_principal(cfg, headers, "127.0.0.1") is None  # off by default
    cfg.auth.proxy_header = "Remote-User"
    cfg.auth.proxy_trusted_ips = ["10.0.0.0/8", "::1", "not-an-ip"]
    assert auth.proxy_principal(cfg, headers, "10.1.2.3") == auth.Principal("proxy", "carol", "full")
    assert auth.proxy_principal(cfg, headers, "::1") is not None
    assert auth.proxy_principal(cfg, headers, "192.168.1.5") is None
    assert auth.proxy_principal(cfg, headers, None) is None
    assert auth.proxy_principal(cfg, {"Remote-User": "  "}, "10.1.2.3") is None


# --- CLI -------------------------------------------------------------------------------------
def test_apikey_cli_create_list_revoke(
    cfg: Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TAGMYPHOTOS_LIBRARY", str(cfg.library))
    monkeypatch.setenv("TAGMYPHOTOS_DATA", str(cfg.data))
    config = ["--config", str(cfg.data / "none.yaml")]
    assert main([*config, "apikey", "create", "--name", "nightly", "--scope", "read", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["secret"].startswith(auth.KEY_MARK) and created["key"]["scope"] == "read"
    assert main([*config, "apikey", "list"]) == 0
    table = capsys.readouterr().out
    assert "nightly" in table and created["key"]["prefix"] in table and created["secret"] not in table
    assert main([*config, "apikey", "revoke", created["key"]["prefix"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["key"]["revoked_at"]
    assert main([*config, "apikey", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"keys": []}
    assert main([*config, "apikey", "revoke", "12345"]) == 3
    assert "no active key" in capsys.readouterr().out
    assert main([*config, "apikey", "create", "--name", " ", "--json"]) == 2
