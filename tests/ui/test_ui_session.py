"""Every page is bound to its session (issue 25, item 2), checked here on the real app in
NiceGUI's simulated browser: an event arriving as the browser sends it (`Client.handle_event`,
the one entry of every click) acts while the session lasts and not after it ended, and an
upload to the page's own route is refused before it is read. The two-window browser test is
tests/browser/test_session_pages.py."""

from __future__ import annotations

import pytest
from nicegui import Client, ui

from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tagmyphotos.system import auth
from tests.support.ui_harness import simulated_ui

pytestmark = pytest.mark.asyncio


def click_as_the_browser_does(client: Client, button: ui.element) -> None:
    listener = next(iter(button._event_listeners.values()))  # the id the browser sends
    client.handle_event({"id": button.id, "listener_id": listener.id, "args": []})


async def test_a_click_after_the_session_ended_does_nothing(core: Core) -> None:
    async with simulated_ui(core) as user:
        await user.open("/settings")
        await user.should_see(marker="create-key")
        user.find(marker="key-name").type("before")
        button = user.find(marker="create-key").elements.pop()
        click_as_the_browser_does(user.client, button)
        await user.should_see(marker="new-key", retries=30)
        assert m.ApiKey.select().count() == 1  # the guard lets a live session act

        auth.end_session(core.cfg, user.http_client.cookies[auth.SESSION_COOKIE])  # ended elsewhere
        user.find(marker="key-name").type("after")
        click_as_the_browser_does(user.client, button)
        await user.should_see("Log in", retries=30)  # sent to the login page
        assert m.ApiKey.select().count() == 1  # and nothing was created


async def test_an_upload_after_the_session_ended_is_refused_unread(core: Core) -> None:
    async with simulated_ui(core) as user:
        await user.open("/teach")
        await user.should_see(marker="teach-upload")
        upload = user.find(marker="teach-upload").elements.pop()
        url = f"/_nicegui/client/{user.client.id}/upload/{upload.id}"
        auth.end_session(core.cfg, user.http_client.cookies[auth.SESSION_COOKIE])
        response = await user.http_client.post(url, files={"f": ("a.jpg", b"\xff\xd8" + b"0" * 1000, "image/jpeg")})
        assert response.status_code == 403 and "log in again" in response.text
        assert not (core.cfg.data / "teach").exists()
