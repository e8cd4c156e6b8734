"""An open page has no rights left once its session ends (issue 25, item 2), in a real headless
Chromium against the real server: two windows of one browser on /settings.

Two ways a session ends under an open page: a logout in another tab (the server closes the
session's pages at once), and an end the server process did not see happen (another instance
behind the same database, the CLI, a password change from elsewhere): then the page's next
action finds the session gone. Either way, "Create key" lands on the login page and the
api_key table stays empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import Page, Site, browser, login, serve  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def empty_site(tmp_path: Path) -> Iterator[Site]:
    (tmp_path / "library").mkdir()
    yield from serve(tmp_path, TAGMYPHOTOS_SCAN__INTERVAL_MINUTES="0")


def settings_with_a_key_name(page: Page) -> None:
    page.open("/settings", "API keys")
    page.field("key-name").send_keys("left open")


def on_login_page(page: Page) -> None:
    page.wait.until(lambda d: "/login" in d.current_url)
    page.field("password")  # the login form, not a page that still acts


def test_a_page_left_open_cannot_act_after_its_session_ends(empty_site: Site, browser) -> None:  # noqa: F811
    page = Page(browser, empty_site.base)
    login(page, first_run=True)

    # 1. the session ends where this server process does not see it (another instance, CLI)
    settings_with_a_key_name(page)
    assert empty_site.count("SELECT COUNT(*) FROM setting WHERE key LIKE 'session:%'") == 1
    import sqlite3

    with sqlite3.connect(empty_site.db, timeout=15) as conn:
        conn.execute("DELETE FROM setting WHERE key LIKE 'session:%'")
    page.testid("create-key").click()
    on_login_page(page)
    assert empty_site.count("SELECT COUNT(*) FROM api_key") == 0

    # 2. two windows, log out in one: the other is closed at once and creates nothing
    login(page)
    tab_a = browser.current_window_handle
    settings_with_a_key_name(page)
    browser.switch_to.new_window("tab")
    page.open("/jobs", "Jobs")
    page.d.get(empty_site.base + "/logout")
    on_login_page(page)
    browser.switch_to.window(tab_a)
    page.js("const b = document.querySelector(\"[data-testid='create-key']\"); if (b) b.click();")
    on_login_page(page)
    page.settle(1.0)
    assert empty_site.count("SELECT COUNT(*) FROM api_key") == 0
