"""Logging out ends the session on the server (issue 14, item 9): a copied cookie stopped
working only in the browser that logged out, and stayed valid for 30 days elsewhere."""

from __future__ import annotations

import httpx
import pytest

from tagmyphotos.core import Core
from tagmyphotos.system import auth
from tests.support.ui_harness import simulated_ui

pytestmark = pytest.mark.asyncio


async def test_a_copied_cookie_dies_with_the_logout(core: Core) -> None:
    async with simulated_ui(core) as user:
        client = user.http_client
        token = client.cookies[auth.SESSION_COOKIE]
        other = auth.make_session(core.cfg)  # the same user logged in elsewhere
        assert (await client.get("/api/v1/whoami")).status_code == 200
        assert (await client.get("/logout")).status_code == 303
        stolen = httpx.Cookies({auth.SESSION_COOKIE: token})
        client.cookies = stolen  # the copy an attacker kept
        assert (await client.get("/api/v1/whoami")).status_code == 401
        page = await client.get("/people")
        assert page.status_code in (302, 303, 307) and page.headers["location"].startswith("/login")
        client.cookies = httpx.Cookies({auth.SESSION_COOKIE: other})
        assert (await client.get("/api/v1/whoami")).status_code == 200  # only that session ended


def test_a_session_needs_its_server_record(core: Core) -> None:
    auth.set_password(core.cfg, "correct horse battery")
    token = auth.make_session(core.cfg, "alice")
    assert auth.read_session(core.cfg, token) == auth.Principal("session", "alice", "full")
    assert auth.end_session(core.cfg, token) is True
    assert auth.read_session(core.cfg, token) is None
    assert auth.end_session(core.cfg, token) is False and auth.end_session(core.cfg, "forged") is False
