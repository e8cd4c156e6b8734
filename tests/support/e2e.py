"""The end-to-end browser tests' server and browser (tests/browser/test_e2e.py and
test_hostile_names.py): a prepared copy of the analysed library under a real `tagmyphotos serve`,
headless Chromium at 1366x1000, and counts read from the served database."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tagmyphotos.core import Core
from tests.support.base import EXIFTOOL, ROOT, make_config
from tests.support.browser import CHROME_FLAGS, WAIT_S, free_port

__all__ = ["WAIT_S", "browser", "count", "free_port", "served"]


def served(
    template: tuple[Path, Path], tmp_path: Path, prepare: Callable[[Core], object]
) -> Iterator[tuple[str, Path]]:
    """A copy of the analysed library, `prepare`d (as the user left it), under `tagmyphotos serve`."""
    lib, data = template
    shutil.copytree(lib, tmp_path / "library")
    shutil.copytree(data, tmp_path / "data")
    cfg = make_config(tmp_path / "library", tmp_path / "data")
    core = Core(cfg)
    try:
        prepare(core)
    finally:
        core.close()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAGMYPHOTOS_", "PYTEST", "NICEGUI"))}
    env.update(
        TAGMYPHOTOS_CONFIG=str(tmp_path / "none.yaml"), TAGMYPHOTOS_LIBRARY=str(tmp_path / "library"),
        TAGMYPHOTOS_DATA=str(tmp_path / "data"), TAGMYPHOTOS_SCAN__INTERVAL_MINUTES="0",
        TAGMYPHOTOS_WRITE__EXIFTOOL=str(EXIFTOOL),
    )  # fmt: skip
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "tagmyphotos"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "serve.log").read_text()[-3000:]) from None
                time.sleep(0.3)
        yield base, tmp_path / "data" / "tagmyphotos.db"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="tmp-e2e-chromium-")
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}", "--window-size=1366,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=15) as conn:
        return int(conn.execute(sql).fetchone()[0])
