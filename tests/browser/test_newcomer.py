"""The web UI as a newcomer meets it (issue 21), in a real headless Chromium against the real
server: contrast in both themes, a phone-sized screen, keyboard and screen-reader names, an
explicit selection honoured, feedback where the user looks, people renamed, hidden and given a
cover from the People list and a photo, one first scan, and the faces other apps named showing
their thumbnails.

The taught site is shared by the tests of this module (file order: read-only checks first).
README screenshots (docs/screenshots/, both themes) are taken here.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.base import FACES, REAL, ROOT
from tests.support.browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    PASSWORD,
    PHONE,
    Page,
    Site,
    browser,
    login,
    serve,
    shared_site,
)

pytestmark = pytest.mark.browser

DOCS_SHOTS = ROOT / "docs" / "screenshots"
SHOTS = ROOT / "test-artifacts" / "screenshots"


def pages(site: Site) -> list[str]:
    """Every page of the app a user can reach, with a real person and a real photo."""
    person = site.count("SELECT MIN(id) FROM person")
    photo = site.count("SELECT MIN(photo_id) FROM face WHERE state='confirmed'")
    return ["/", "/unknown", "/people", f"/people/{person}", f"/photo/{photo}", "/write", "/jobs", "/settings"]


def open_groups(page: Page) -> None:
    """Unknown faces, once its groups are on the page."""
    page.open("/unknown", "Unknown faces")
    page.wait.until(lambda _: page.js("return document.querySelectorAll(\"[data-testid^='cluster-']\").length"))
    page.settle()


def set_dark(page: Page, dark: bool) -> None:
    """Through the header's button, as a user does (the choice is remembered per browser)."""
    if bool(page.js("return document.body.classList.contains('body--dark')")) != dark:
        page.js("document.querySelector(\"button[aria-label='Dark mode']\").click()")
        page.wait.until(lambda _: bool(page.js("return document.body.classList.contains('body--dark')")) == dark)


def test_phone_screen_never_scrolls_sideways(shared_site: Site, browser) -> None:  # noqa: F811
    page = Page(browser, shared_site.base)
    login(page)
    browser.set_window_size(*PHONE)
    wide = {}
    for path in pages(shared_site):
        page.open(path)
        page.shot(SHOTS / f"phone{path.replace('/', '-')}.png")
        if page.overflow_px() > 0:
            wide[path] = page.overflow_px()
    assert wide == {}, f"pages wider than a {PHONE[0]} px phone (px too wide): {wide}"
    open_groups(page)
    right = page.js("return Math.max(...[...document.querySelectorAll(\"[data-testid$='-go']\")]"
                    ".map(b => b.getBoundingClientRect().right))")  # fmt: skip
    assert right <= PHONE[0], "the name button is cut off at the right edge"


def test_text_contrast_is_aa_on_every_page_in_both_themes(shared_site: Site, browser) -> None:  # noqa: F811
    page = Page(browser, shared_site.base)
    login(page)
    low: dict[str, list[dict]] = {}
    for dark in (False, True):
        page.open("/")
        set_dark(page, dark)
        for path in pages(shared_site):
            page.open(path)
            page.settle(1.5)
            assert bool(page.js("return document.body.classList.contains('body--dark')")) == dark
            found = page.low_contrast()
            if found:
                low[f"{'dark' if dark else 'light'} {path}"] = found[:5]
            if path in ("/", "/unknown"):  # the README's screenshots, in both themes
                name = "review" if path == "/" else "unknown"
                page.shot(DOCS_SHOTS / f"{name}{'-dark' if dark else ''}.png")
    # the page background follows the theme (it stayed light in dark mode before)
    background = page.js("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 18, 18)"
    assert low == {}, f"text below 4.5:1 (WCAG AA): {low}"


def test_tiles_are_reachable_by_tab_and_named(shared_site: Site, browser) -> None:  # noqa: F811
    from selenium.webdriver.common.keys import Keys

    page = Page(browser, shared_site.base)
    login(page)
    open_groups(page)
    tiles = page.js("return [...document.querySelectorAll('.face-tile')].map(t => [t.tabIndex, t.getAttribute('role'),"
                    " t.getAttribute('aria-label'), t.querySelector('img').alt])")  # fmt: skip
    assert tiles, "no face tiles on Unknown faces"
    assert all(tab == 0 and role == "checkbox" for tab, role, _, _ in tiles)
    assert all(label and " in " in label and alt == label for _, _, label, alt in tiles)  # who, in which photo
    body = browser.find_element("css selector", "body")
    body.click()
    for _ in range(60):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if page.js("return document.activeElement.classList.contains('face-tile')"):
            break
    else:
        pytest.fail("Tab never reached a face tile")
    before = page.js("return document.activeElement.getAttribute('aria-checked')")
    browser.switch_to.active_element.send_keys(Keys.SPACE)
    page.wait.until(lambda _: page.js("return document.activeElement.getAttribute('aria-checked')") != before)
    names = page.js("return [...document.querySelectorAll('.q-checkbox, [role=checkbox]')]"
                    ".filter(c => !(c.getAttribute('aria-label') || c.textContent.trim())).length")  # fmt: skip
    assert names == 0
    page.open("/people", "People")
    unnamed = page.js("return [...document.querySelectorAll('.q-checkbox')].filter(c => !c.getAttribute('aria-label'))"
                      ".length")  # fmt: skip
    assert unnamed == 0, "People checkboxes need an accessible name"


def test_naming_two_chosen_faces_of_a_group_names_exactly_those(shared_site: Site, browser) -> None:  # noqa: F811
    site = shared_site
    page = Page(browser, site.base)
    login(page)
    open_groups(page)
    card = page.js("return [...document.querySelectorAll(\"[data-testid^='cluster-']\")]"
                   ".find(c => c.querySelectorAll('.face-tile').length >= 3).getAttribute('data-testid')")  # fmt: skip
    cluster = card.removeprefix("cluster-")
    page.js(f"[...document.querySelectorAll(\"[data-testid='{card}'] button\")].find(b => b.textContent.trim() "
            "=== 'None').click()")  # fmt: skip
    page.see("0 of")
    chosen = page.js(f"return [...document.querySelectorAll(\"[data-testid='{card}'] .face-tile\")].slice(0, 2)"
                     ".map(t => { t.click(); return Number(t.parentElement.dataset.face); })")  # fmt: skip
    page.wait.until(lambda _: page.testid(f"selected-{cluster}").text.startswith("2 of"))
    page.field(f"name-{cluster}").send_keys("Grandma Rose")
    page.testid(f"name-{cluster}-go").click()
    page.see("Named Grandma Rose")
    named = site.rows("SELECT f.id FROM face f JOIN person p ON p.id = f.person_id WHERE p.name = 'Grandma Rose'")
    assert sorted(i for (i,) in named) == sorted(chosen)
    # the header counter follows at once (not on its 5 s timer)
    unknown = site.count("SELECT COUNT(*) FROM face WHERE state='unknown'")
    page.wait.until(lambda _: page.js("return [...document.querySelectorAll('header .q-chip')]"
                                      ".map(c => c.textContent.replace(/\\D/g, ''))")[1] == str(unknown))  # fmt: skip
    # undo is scoped: another person's page does not offer to undo this naming
    other = site.count("SELECT MIN(id) FROM person WHERE name <> 'Grandma Rose'")
    page.open(f"/people/{other}", "Select wrong ones")
    page.settle()
    assert "Grandma Rose" not in page.js("return document.querySelector(\"[data-testid='undo']\").textContent")
    open_groups(page)
    assert "Grandma Rose" in page.js("return document.querySelector(\"[data-testid='undo']\").textContent")


def test_a_close_new_name_asks_did_you_mean(shared_site: Site, browser) -> None:  # noqa: F811
    site = shared_site
    page = Page(browser, site.base)
    login(page)
    open_groups(page)
    card = page.js("return document.querySelector(\"[data-testid^='cluster-']\").getAttribute('data-testid')")
    cluster = card.removeprefix("cluster-")
    people = site.count("SELECT COUNT(*) FROM person")
    page.field(f"name-{cluster}").send_keys("Grandma")  # "Grandma Rose" exists
    page.testid(f"name-{cluster}-go").click()
    page.see("Did you mean Grandma Rose?")
    page.testid("use-similar-0").click()
    page.see("Named Grandma Rose")
    assert site.count("SELECT COUNT(*) FROM person") == people


def test_feedback_appears_where_the_user_looks(shared_site: Site, browser) -> None:  # noqa: F811
    site = shared_site
    page = Page(browser, site.base)
    login(page)
    browser.set_window_size(DESKTOP[0], 757 + 143)  # a 757 px tall viewport, as in the issue
    photo = site.count("SELECT MIN(photo_id) FROM face WHERE state='confirmed'")
    page.open(f"/photo/{photo}", "found by face detection")
    page.testid("mark-face-start").click()
    page.see("Drag a box around the face")
    page.wait.until(lambda _: page.in_viewport("[data-testid='mark-face-panel']"))
    page.testid("mark-face-cancel").click()
    # a write: the live progress is at the top, where the button was pressed
    page.open("/write", "will change")
    page.testid("start-write").click()
    page.testid("confirm-ok").click()
    page.see("Writing names into photos")
    assert page.in_viewport("[data-testid='write-live']")
    page.see("Write finished")
    assert site.count("SELECT COUNT(*) FROM write_audit WHERE result='ok'") > 0


def test_people_are_renamed_hidden_and_covered_from_the_list(shared_site: Site, browser) -> None:  # noqa: F811
    """Rename, hide and the cover from the People list's card menu and from a photo, not only
    on the person's own page."""
    from selenium.webdriver.common.keys import Keys

    site = shared_site
    page = Page(browser, site.base)
    login(page)
    pid = site.count("SELECT MIN(id) FROM person WHERE NOT hidden AND face_count >= 2")
    page.open("/people", site.rows("SELECT name FROM person WHERE id = ?", pid)[0][0])
    page.testid(f"person-menu-{pid}").click()
    page.testid(f"person-rename-{pid}").click()
    field = page.field("rename-name")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("Aunt Edna", Keys.ENTER)  # Enter renames, as on the person's page
    page.see("Renamed to Aunt Edna")
    assert site.rows("SELECT name FROM person WHERE id = ?", pid) == [("Aunt Edna",)]
    card = f"[data-testid='person-{pid}']"
    page.wait.until(lambda _: "Aunt Edna" in page.js(f'return document.querySelector("{card}").textContent'))
    # the cover: another of her faces, picked in the card's menu
    cover = site.count("SELECT cover_face_id FROM person WHERE id = ?", pid)
    other = site.count("SELECT MIN(id) FROM face WHERE person_id = ? AND state = 'confirmed' AND id <> ?", pid, cover)
    page.testid(f"person-menu-{pid}").click()
    page.testid(f"person-cover-{pid}").click()
    page.testid(f"cover-{other}").click()
    page.see("Cover set")
    assert site.count("SELECT cover_face_id FROM person WHERE id = ?", pid) == other
    shown = f"return !!document.querySelector(\"{card} img[src$='/faces/{other}/thumb']\")"
    page.wait.until(lambda _: page.js(shown))
    # from a photo: the face shown there becomes her cover
    photo, face = site.rows("SELECT photo_id, id FROM face WHERE person_id = ? AND state = 'confirmed' AND id <> ? "
                            "ORDER BY id LIMIT 1", pid, other)[0]  # fmt: skip
    page.open(f"/photo/{photo}", "Aunt Edna")
    page.testid(f"cover-face-{face}").click()
    page.see("Cover set")
    assert site.count("SELECT cover_face_id FROM person WHERE id = ?", pid) == face
    # hide: she leaves the list (hidden people are listed only on request)
    page.open("/people", "Aunt Edna")
    page.testid(f"person-menu-{pid}").click()
    page.testid(f"person-hide-{pid}").click()
    page.see("Hid Aunt Edna")
    assert site.count("SELECT hidden FROM person WHERE id = ?", pid) == 1
    page.wait.until(lambda _: not page.js(f'return document.querySelector("{card}")'))


@pytest.fixture
def fresh_site(tmp_path: Path) -> Iterator[Site]:
    """A library nobody has scanned yet (portrait.jpg carries the Curies' names from another
    app; the library knows both names already), served with the default schedule, which scans at
    start by itself. The smallest face size is above the Curies' heads: their faces come only from
    the file's regions."""
    from tagmyphotos.core import Core
    from tagmyphotos.store import models as m
    from tests.support.base import make_config

    lib = tmp_path / "library"
    lib.mkdir()
    shutil.copyfile(REAL / "portrait.jpg", lib / "portrait.jpg")
    for name in sorted(p.name for p in FACES.glob("*.jpg"))[:3]:
        shutil.copyfile(FACES / name, lib / name)
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        for person in ("Marie Curie", "Pierre Curie"):
            m.Person.create(name=person)
    finally:
        core.close()
    yield from serve(tmp_path, TAGMYPHOTOS_ANALYSIS__MIN_FACE_PX="400")


def test_first_run_scans_once_and_imported_faces_have_thumbnails(fresh_site: Site, browser) -> None:  # noqa: F811
    site = fresh_site
    page = Page(browser, site.base)
    login(page, first_run=True)
    page.see("Looking for new and changed photos")  # the newcomer sees the first scan on Jobs
    page.wait.until(lambda _: site.count("SELECT COUNT(*) FROM job WHERE type='match' AND state='done'") >= 1)
    assert site.count("SELECT COUNT(*) FROM job WHERE type='scan'") == 1
    assert site.count("SELECT COUNT(*) FROM job WHERE type='analyze'") == 1
    page.open("/people", "Pierre Curie")
    page.settle(2)
    broken = page.js("return [...document.querySelectorAll('img')].filter(i => !i.complete || !i.naturalWidth)"
                     ".map(i => i.src)")  # fmt: skip
    assert broken == []
    assert page.js("return [...document.querySelectorAll('img')].filter(i => i.naturalWidth > 0).length") >= 2
    pierre = site.count("SELECT id FROM person WHERE name = 'Pierre Curie'")
    face = site.count("SELECT MIN(id) FROM face WHERE person_id = ? AND source = 'imported'", pierre)
    assert face, "Pierre Curie's face should come from the file's tags"
    status = page.js("return fetch(arguments[0]).then(r => r.status)", f"/api/v1/faces/{face}/thumb")
    assert status == 200


@pytest.fixture
def fresh_site_with_password(tmp_path: Path) -> Iterator[Site]:
    """The whole test library, nobody scanned it yet, the password in the environment (so there
    is no welcome screen); one analysis worker, so the first analysis is still running when the
    newcomer has logged in."""
    lib = tmp_path / "library"
    lib.mkdir()
    for photo in sorted(FACES.glob("*.jpg")):
        shutil.copyfile(photo, lib / photo.name)
    yield from serve(tmp_path, TAGMYPHOTOS_PASSWORD=PASSWORD, TAGMYPHOTOS_ANALYSIS__WORKERS="1")


def test_first_run_with_the_password_set_shows_what_happens_and_how_far(
    fresh_site_with_password: Site,
    browser,  # noqa: F811
) -> None:
    """Issue 29: the login leads to Review, which said "Nothing to review … start a scan under
    Jobs" while the first analysis ran; a newcomer started a second scan."""
    site = fresh_site_with_password
    page = Page(browser, site.base)
    login(page)  # the login form: no welcome screen with the password set
    assert browser.current_url.rstrip("/") == site.base
    page.see("Your photos are being analysed")
    progress = page.testid("pipeline-progress")
    page.wait.until(lambda _: re.search(r"Step [123] of 3: .+ · ", progress.text))
    page.shot(DOCS_SHOTS / "first-run.png")
    assert "start a scan under Jobs" not in page.js("return document.body.innerText")
    # how far: the numbers move while the analysis runs
    page.wait.until(lambda _: re.search(r"Finding faces · \d+ of \d+ done", progress.text))
    # when the work is done the card goes and the page shows what was found, without a reload
    page.wait.until(lambda _: site.count("SELECT COUNT(*) FROM job WHERE type='match' AND state='done'") >= 1)
    page.wait.until(lambda _: not progress.is_displayed())
    page.see("faces nobody has named yet")
    assert site.count("SELECT COUNT(*) FROM job WHERE type='scan'") == 1
    page.open("/unknown", "Unknown faces")
    page.wait.until(lambda _: page.js("return document.querySelectorAll(\"[data-testid^='cluster-']\").length"))
    assert not page.js("return document.querySelector(\"[data-testid='pipeline-progress']\").offsetParent")
