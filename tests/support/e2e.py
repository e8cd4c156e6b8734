"""The end-to-end browser tests' server and browser (tests/browser/test_e2e.py and
test_hostile_names.py): a prepared copy of the analysed library under a real `tagmyphotos serve`,
headless Chromium at 1366x1000, and counts read from the served database."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tagmyphotos.core import Core
from tagmyphotos_lab.appserver import app_env, run_server
from tests.support.base import make_config
from tests.support.browser import CHROME_FLAGS, WAIT_S

__all__ = ["WAIT_S", "browser", "count", "served"]


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
    env = app_env(tmp_path / "library", tmp_path / "data")
    with run_server(env, cwd=tmp_path, log=tmp_path / "serve.log") as app:
        yield app.base, tmp_path / "data" / "tagmyphotos.db"


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
