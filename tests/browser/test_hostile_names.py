"""A photo's file name must never become code in the admin's browser (issue 14, item 1).

The attack: a library file named ``holiday :x="…" .jpg`` with a named face. After a write, the
write log on /write showed a restore button whose test id was built from the path; NiceGUI
parsed that string as props and evaluated the `:x` prop as JavaScript. This test writes such a
file with real exiftool, serves the real app, opens /write in headless Chromium and checks that
the marker the payload would set stays unset, that the id holds the name verbatim, and that
the page's Content-Security-Policy keeps NiceGUI working but stops a request to another origin.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tagmyphotos.core import Core
from tagmyphotos.review import confirm
from tagmyphotos.stages.runner import run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos_lab.appserver import app_env, run_server
from tests.support.base import FACES, make_config, scan_and_analyze
from tests.support.e2e import WAIT_S, browser  # noqa: F401  (browser is a fixture)

pytestmark = pytest.mark.browser

PASSWORD = "hostile-names-123"
PAYLOAD = "window.__pwned=1"
HOSTILE = f'holiday :x="{PAYLOAD}" .jpg'


class _Listener(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        _Listener.hits.append(self.path)
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hostile_site(tmp_path: Path) -> Iterator[str]:
    """One photo with a hostile name, its face named and written; served by `tagmyphotos serve`."""
    lib, data = tmp_path / "library", tmp_path / "data"
    lib.mkdir()
    shutil.copyfile(FACES / "img1.jpg", lib / HOSTILE)
    os.chmod(lib / HOSTILE, 0o644)
    core = Core(make_config(lib, data))
    try:
        scan_and_analyze(core)
        face = m.Face.select().get()
        confirm.confirm(core, [face.id], "Alice")
        from jobs.pipeline import STAGES

        job = jobs_store.create_job("write", {"no_follow": True})
        run_stage(core, STAGES["write"], job)
        assert m.WriteAudit.select().where(m.WriteAudit.result == "ok").count() == 1
    finally:
        core.close()
    env = app_env(lib, data, TAGMYPHOTOS_AUTH__PASSWORD=PASSWORD)
    with run_server(env, cwd=tmp_path, log=tmp_path / "serve.log") as app:
        yield app.base


def test_file_name_is_never_code_and_csp_holds(hostile_site: str, browser) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, d = hostile_site, browser
    wait = WebDriverWait(d, WAIT_S)
    with urllib.request.urlopen(base + "/login") as resp:
        csp = resp.headers["Content-Security-Policy"] or ""
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp and "connect-src 'self'" in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff" and resp.headers["X-Frame-Options"] == "DENY"

    d.get(base + "/login")
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[data-testid='password']"))).send_keys(
        PASSWORD + Keys.ENTER
    )
    wait.until(ec.presence_of_element_located((By.XPATH, "//*[contains(normalize-space(.), 'Review')]")))
    d.get(base + "/write")
    # NiceGUI works under the CSP: the page builds, the write log lists the hostile file
    button = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "[aria-label='Restore']")))
    time.sleep(1.0)  # let any evaluated prop run
    assert d.execute_script("return window.__pwned === undefined") is True
    assert button.get_attribute("data-testid") == f"restore-{HOSTILE}"

    # a script running in the page cannot send anything to another origin
    listener = HTTPServer(("127.0.0.1", 0), _Listener)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    try:
        outcome = d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            f"fetch('http://127.0.0.1:{listener.server_port}/stolen').then(() => done('sent'), () => done('blocked'));"
        )
    finally:
        listener.shutdown()
    assert outcome == "blocked" and _Listener.hits == []
