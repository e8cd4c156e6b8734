"""Real servers and a real headless Chromium for the browser suite, and what the tests measure
in the page (computed-style contrast, overflow, focus) — shared by the browser test modules.

Why a module and not a conftest.py: tests/conftest.py is imported as `conftest` by these
modules; a second conftest here would shadow it.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tagmyphotos_lab.appserver import periodic_scan_env, run_server

PASSWORD = "e2e-password-123"
CHROME_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
)  # fmt: skip
WAIT_S = 60
DESKTOP = (1366, 900)
PHONE = (390, 844)


@dataclass
class Site:
    base: str
    db: Path
    root: Path  # the temp folder with library/ and data/

    def count(self, sql: str, *args: Any) -> int:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=15) as conn:
            row = conn.execute(sql, args).fetchone()
            return int(row[0] or 0)

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=15) as conn:
            return list(conn.execute(sql, args).fetchall())


def serve(root: Path, **env_extra: str) -> Iterator[Site]:
    """`tagmyphotos serve` on root/library and root/data until the generator is closed; the periodic
    scan as configured (on unless env_extra turns it off), the log in root/serve.log."""
    env = periodic_scan_env(root / "library", root / "data", **env_extra)
    with run_server(env, cwd=root, log=root / "serve.log") as app:
        yield Site(app.base, root / "data" / "tagmyphotos.db", root)


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="tmp-e2e-chromium-")
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    """The few things the tests do with the driver, waiting for the page each time."""

    def __init__(self, driver: Any, base: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.d = driver
        self.base = base
        self.wait = WebDriverWait(driver, WAIT_S)

    def open(self, path: str, expect: str | None = None) -> None:
        self.d.get(self.base + path)
        self.see(expect or "Tag My Photos")

    def see(self, text: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait.until(
            ec.presence_of_element_located((By.XPATH, f"//*[contains(normalize-space(.), '{text}')]"))
        )

    def testid(self, name: str) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f"[data-testid='{name}']")))

    def field(self, name: str) -> Any:
        """A text field: Quasar puts the attribute on the native <input> itself."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        css = f"input[data-testid='{name}'], [data-testid='{name}'] input"
        return self.wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, css)))

    def js(self, script: str, *args: Any) -> Any:
        return self.d.execute_script(script, *args)

    def settle(self, seconds: float = 1.0) -> None:
        time.sleep(seconds)  # lazy thumbnails, fonts and the websocket's first updates

    def shot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.settle()
        self.d.save_screenshot(str(path))

    def in_viewport(self, css: str) -> bool:
        return bool(self.js(IN_VIEWPORT, css))

    def low_contrast(self, minimum: float = 4.5) -> list[dict[str, Any]]:
        return list(self.js(LOW_CONTRAST, minimum))

    def overflow_px(self) -> int:
        return int(self.js("return document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def login(page: Page, first_run: bool = False) -> None:
    """Through the welcome screen (the first time a site is used) or the login form."""
    from selenium.webdriver.common.keys import Keys

    page.d.get(page.base + "/")
    page.wait.until(lambda d: "/welcome" in d.current_url or "/login" in d.current_url)
    if "/welcome" in page.d.current_url:
        page.see("Welcome to Tag My Photos")
        page.field("new-password").send_keys(PASSWORD)
        page.field("repeat-password").send_keys(PASSWORD)
        page.testid("save-password").click()
    else:
        assert not first_run, "the site was used before"
        page.field("password").send_keys(PASSWORD + Keys.ENTER)
    page.wait.until(lambda d: "/login" not in d.current_url and "/welcome" not in d.current_url)


IN_VIEWPORT = """
const el = document.querySelector(arguments[0]);
if (!el) return false;
const r = el.getBoundingClientRect();
return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth;
"""

# Every visible text on the page whose colour against its background (both computed styles,
# alpha composited up the ancestors) is below `minimum` (WCAG 2 contrast ratio). Disabled
# controls are exempt (WCAG 1.4.3), icons are ligatures not text, SVG text sits on photos.
LOW_CONTRAST = """
const minimum = arguments[0];
const parse = s => { const m = s.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
  const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
const over = (c, base) => [0, 1, 2].map(i => c[i] * c[3] + base[i] * (1 - c[3]));
const lum = c => {
  const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
const background = el => { const chain = []; for (let e = el; e; e = e.parentElement) chain.unshift(e);
  let color = [255, 255, 255];
  for (const e of chain) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c[3] > 0) color = over(c, color);
  }
  return color; };
const exempt = el => el.closest('.q-icon, .material-icons, svg, .q-tooltip, .q-notification, [aria-hidden="true"], '
  + '.disabled, [disabled], [aria-disabled="true"], .q-field--disabled, .q-btn--disabled');
const faded = el => {
  for (let e = el; e; e = e.parentElement) if (parseFloat(getComputedStyle(e).opacity) < 1) return true;
  return false; };
const out = [];
for (const el of document.body.querySelectorAll('*')) {
  const own = [...el.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim())
    .map(n => n.textContent.trim()).join(' ');
  if (!own || exempt(el) || faded(el)) continue;
  const r = el.getBoundingClientRect(); const st = getComputedStyle(el);
  if (r.width === 0 || r.height === 0 || st.visibility === 'hidden' || st.display === 'none') continue;
  const bg = background(el); const fg = parse(st.color); if (!fg) continue;
  const value = ratio(over(fg, bg), bg);
  if (value < minimum) out.push({text: own.slice(0, 60), ratio: Math.round(value * 100) / 100, color: st.color,
    background: 'rgb(' + bg.map(Math.round).join(',') + ')', cls: (el.className || '').toString().slice(0, 80)});
}
return out;
"""


def taught_site(analysed_template: tuple[Path, Path], root: Path, grouped: bool = False) -> Iterator[Site]:
    """The analysed test library with two people named, served by a real `tagmyphotos serve`
    (no scheduled scan: the library is analysed already)."""
    from tagmyphotos.core import Core
    from tests.support.base import make_config
    from tests.support.ui_harness import teach

    lib, data = analysed_template
    shutil.copytree(lib, root / "library")
    shutil.copytree(data, root / "data")
    core = Core(make_config(root / "library", root / "data"))
    try:
        teach(core, people=2, per_person=2)  # the user named two people earlier (two photos each)
        if grouped:  # as the match stage after the analysis would
            from tagmyphotos.suggest.clusters import refresh_clusters

            refresh_clusters(core, full=True)
    finally:
        core.close()
    yield from serve(root, TAGMYPHOTOS_SCAN__INTERVAL_MINUTES="0")


@pytest.fixture
def site(analysed_template: tuple[Path, Path], tmp_path: Path) -> Iterator[Site]:
    yield from taught_site(analysed_template, tmp_path)


@pytest.fixture(scope="module")
def shared_site(analysed_template: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One taught site for a module's tests, which run in file order (read-only ones first)."""
    yield from taught_site(analysed_template, tmp_path_factory.mktemp("site"), grouped=True)
