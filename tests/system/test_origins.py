"""Which origins may use the websocket and cookie-authenticated API writes; server.public_url."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagmyphotos.config import ConfigError, load_config
from tagmyphotos.system.origins import origin_allowed, origin_of


def _cfg(tmp_path: Path, public_url: str = ""):
    env = {"TAGMYPHOTOS_DATA": str(tmp_path), "TAGMYPHOTOS_SERVER__PUBLIC_URL": public_url}
    return load_config(path=tmp_path / "none.yaml", environ=env)


def test_public_url_is_checked_and_normalised(tmp_path: Path) -> None:
    assert _cfg(tmp_path, "https://Example.com/tagmyphotos").server.public_url == "https://Example.com/tagmyphotos/"
    assert _cfg(tmp_path).server.public_url == ""
    for bad in ("example.com/tagmyphotos", "ftp://example.com/", "/tagmyphotos/"):
        with pytest.raises(ConfigError, match="public_url"):
            _cfg(tmp_path, bad)


def test_same_origin_by_host_or_forwarded_host(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    assert origin_allowed(cfg, "http://nas:8765", "nas:8765")
    assert origin_allowed(cfg, "https://photos.example.com", "127.0.0.1:8765", "photos.example.com")
    assert origin_allowed(cfg, "https://nas:8765/people?x=1", "NAS:8765")  # a Referer works too
    assert not origin_allowed(cfg, "https://evil.example", "nas:8765")
    assert not origin_allowed(cfg, "https://nas:8765.evil.example", "nas:8765")
    assert not origin_allowed(cfg, "null", "nas:8765")
    assert not origin_allowed(cfg, None, "nas:8765")


def test_public_url_origin_is_accepted_behind_a_host_rewriting_proxy(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "https://example.com:8443/tagmyphotos/")
    assert origin_of(cfg.server.public_url) == "https://example.com:8443"
    assert origin_allowed(cfg, "https://example.com:8443", "127.0.0.1:8765")
    assert not origin_allowed(cfg, "http://example.com:8443", "127.0.0.1:8765"), "the scheme must match too"
    assert not origin_allowed(cfg, "https://example.com", "127.0.0.1:8765"), "and the port"
