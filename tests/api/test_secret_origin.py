"""A stored secret belongs to the origin it was configured for (issue 25, item 3).

The third attack changed integrations.immich.url to its own listener (the key was cleared, as
intended), then sent PATCH /settings {"reset": ["integrations.immich.api_key"]}: the key came
back from config.yaml and "Test connection" delivered it to the listener. Through the real API,
against two fake Immich servers (the owner's and the attacker's).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tagmyphotos.core import Core
from tagmyphotos.system import auth
from tagmyphotos_lab.fakes.immich import FakeImmich
from tests.support.api import make_app
from tests.support.base import make_config

KEY = "immich-owners-key-5d1c0e9b7a"
URL_KEY, SECRET_KEY = "integrations.immich.url", "integrations.immich.api_key"


@dataclass
class Env:
    client: TestClient
    core: Core
    home: FakeImmich
    listener: FakeImmich
    headers: dict[str, str]
    library: Path
    data: Path

    def patch(self, body: dict[str, object]) -> dict[str, object]:
        resp = self.client.patch("/api/v1/settings", json=body, headers=self.headers)
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    def test_connection(self) -> dict[str, object]:
        resp = self.client.post("/api/v1/settings/integrations/immich/test", headers=self.headers)
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    def key_reached_listener(self) -> bool:
        return any(
            KEY in " ".join(r.headers.values()) + r.body.decode(errors="replace") for r in self.listener.requests
        )


@pytest.fixture
def env(library: Path, tmp_path: Path) -> Iterator[Env]:
    from jobs import runtime

    data = tmp_path / "data"
    data.mkdir()
    with FakeImmich(api_key=KEY) as home, FakeImmich(api_key=KEY) as listener:
        # config.yaml (make_config reads data/no-config.yaml): the owner's Immich and its key
        (data / "no-config.yaml").write_text(f"integrations:\n  immich:\n    url: {home.url}\n    api_key: {KEY}\n")
        core = Core(make_config(library, data))
        _, full = auth.create_api_key("owner", auth.SCOPE_FULL)
        try:
            with TestClient(make_app(core), raise_server_exceptions=False) as client:
                yield Env(client, core, home, listener, {"X-API-Key": full}, library, data)
        finally:
            runtime.install(None)
            core.close()


def test_a_reset_key_is_not_sent_to_a_new_origin(env: Env) -> None:
    assert env.test_connection()["ok"] is True  # the configured pair works
    env.patch({"changes": {URL_KEY: env.listener.url}})
    out = env.patch({"reset": [SECRET_KEY]})  # the attack: the key comes back from config.yaml
    env.test_connection()
    assert not env.key_reached_listener(), "the owner's key was sent to the new address"
    reason = out["withheld_secrets"][SECRET_KEY]  # what the settings page shows under the field
    assert env.home.url.rsplit(":", 1)[-1] in reason and "Enter it again" in reason
    assert env.core.cfg.integrations.immich.api_key is None  # what every job reads
    restarted = Core(make_config(env.library, env.data))  # a restart (or a worker) reads the same
    try:
        assert restarted.cfg.integrations.immich.api_key is None
    finally:
        restarted.close()
    assert not env.key_reached_listener()


def test_url_and_key_reset_in_one_change_and_back_home(env: Env) -> None:
    env.patch({"changes": {URL_KEY: env.listener.url}, "reset": [SECRET_KEY]})
    env.test_connection()
    assert not env.key_reached_listener()
    out = env.patch({"reset": [URL_KEY, SECRET_KEY]})  # back to the site the key is for
    assert out["withheld_secrets"] == {}
    assert env.test_connection()["ok"] is True
    restarted = Core(make_config(env.library, env.data))
    try:
        assert restarted.cfg.integrations.immich.api_key is not None
        assert restarted.cfg.integrations.immich.api_key.get_secret_value() == KEY
    finally:
        restarted.close()


def test_a_key_entered_with_the_new_address_is_used_there(env: Env) -> None:
    out = env.patch({"changes": {URL_KEY: env.listener.url, SECRET_KEY: "new-key-for-the-new-site"}})
    assert out["withheld_secrets"] == {}
    assert env.core.cfg.integrations.immich.api_key is not None
    out = env.patch({"changes": {URL_KEY: env.home.url}})  # moving on clears it (F7) ...
    out = env.patch({"reset": [SECRET_KEY]})  # ... and a reset brings back config.yaml's, for home
    assert out["withheld_secrets"] == {}
    assert env.test_connection()["ok"] is True
