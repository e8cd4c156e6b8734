"""End to end in a real headless Chromium against the real server (`tagmyphotos serve`).

First run (choose a password), log out and in, run matching from the jobs page, name a group of
unknown faces, accept a suggestion, write the names into the files and watch the write finish.
A screenshot of every page goes to test-artifacts/screenshots/ (the README shows two).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tagmyphotos.core import Core
from tests.support.base import ROOT
from tests.support.e2e import WAIT_S, browser, count, served  # noqa: F401 (browser is a fixture)
from tests.support.ui_harness import identities, teach

pytestmark = pytest.mark.browser

SHOTS = ROOT / "test-artifacts" / "screenshots"
PASSWORD = "e2e-password-123"


@pytest.fixture
def site(analysed_template: tuple[Path, Path], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The analysed test library with two people named, served by a real `tagmyphotos serve`."""
    yield from served(analysed_template, tmp_path, lambda core: teach(core, people=2, per_person=2))


def test_first_run_review_name_write(site: tuple[str, Path], browser) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, db = site
    d = browser
    wait = WebDriverWait(d, WAIT_S)
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        time.sleep(1.0)  # lazy thumbnails and fonts settle
        d.save_screenshot(str(SHOTS / f"{name}.png"))

    def testid(name: str):
        return wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f"[data-testid='{name}']")))

    def field(name: str):
        """A text field: Quasar puts the attribute on the native <input> itself."""
        css = f"input[data-testid='{name}'], [data-testid='{name}'] input"
        return wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, css)))

    def see(text: str) -> None:
        wait.until(ec.presence_of_element_located((By.XPATH, f"//*[contains(normalize-space(.), '{text}')]")))

    # first run: the welcome screen explains, checks the library and sets the password
    d.get(base + "/")
    see("Welcome to Tag My Photos")
    see("64 photos found")
    shot("welcome")
    see("Already finished")  # the library was scanned: no second first scan is offered
    field("new-password").send_keys(PASSWORD)
    field("repeat-password").send_keys(PASSWORD)
    testid("save-password").click()
    see("Looking for new and changed photos")  # the Jobs page shows how the first scan went

    # log out and in again
    d.get(base + "/logout")
    field("password").send_keys("wrong password" + Keys.ENTER)
    see("Wrong password.")
    shot("login")
    field = field("password")
    field.clear()
    field.send_keys(PASSWORD + Keys.ENTER)
    see("Review suggestions")

    # matching from the jobs page, with live progress
    d.get(base + "/jobs")
    testid("start-match").click()
    wait.until(lambda _: count(db, "SELECT COUNT(*) FROM job WHERE type='match' AND state='done'") == 1)
    see("Suggesting names and grouping look-alike faces")
    shot("jobs")

    # name a group of unknown faces in one action
    d.get(base + "/unknown")
    see("faces in")
    shot("unknown")
    named_before = count(db, "SELECT COUNT(*) FROM face WHERE state='confirmed'")
    name_field = d.find_element(By.CSS_SELECTOR, "input[data-testid^='name-']")
    name_field.send_keys("Grandma Rose")
    d.find_element(By.CSS_SELECTOR, "[data-testid^='name-'][data-testid$='-go']").click()
    see("Named Grandma Rose")
    assert count(db, "SELECT COUNT(*) FROM person WHERE name='Grandma Rose'") == 1
    assert count(db, "SELECT COUNT(*) FROM face WHERE state='confirmed'") > named_before

    # accept a suggestion on the review page
    d.get(base + "/")
    see("suggestions for")
    shot("review")
    before = count(db, "SELECT COUNT(*) FROM face WHERE state='confirmed'")
    d.find_element(By.CSS_SELECTOR, "[data-testid^='accept-']:not([data-testid='accept-likely'])").click()
    see("Accepted as")
    assert count(db, "SELECT COUNT(*) FROM face WHERE state='confirmed'") > before

    # people, one person, one photo
    d.get(base + "/people")
    see("Grandma Rose")
    shot("people")
    d.find_element(By.XPATH, "//a[contains(., 'Grandma Rose')]").click()
    see("Select wrong ones")
    shot("person")
    photo_id = count(db, "SELECT MIN(photo_id) FROM face WHERE state='confirmed'")
    d.get(base + f"/photo/{photo_id}")
    see("found by face detection")
    shot("photo")

    # write the names into the files and see the write finish
    d.get(base + "/write")
    see("photos will change")
    testid("start-write").click()
    testid("confirm-ok").click()
    see("Write finished")
    shot("write")
    written = count(db, "SELECT COUNT(*) FROM write_audit WHERE result='ok'")
    assert written > 0 and written == count(db, "SELECT COUNT(*) FROM photo WHERE written_signature IS NOT NULL")

    d.get(base + "/settings")
    see("API keys")
    shot("settings")
    d.set_window_size(390, 844)
    d.get(base + "/")
    see("suggestions for")
    shot("review-phone")


def _split_person(core: Core) -> None:
    """Two people named before, one of them a second time under another name (two photos each)."""
    from tagmyphotos.review import confirm
    from tagmyphotos.store import models as m
    from tagmyphotos.system import auth

    names = teach(core, people=2, per_person=2)
    first = sorted(names)[0]
    taught = set(names[first])
    more = []
    for file, who in sorted(identities().items()):
        faces = list(m.Face.select().join(m.Photo).where(m.Photo.path == file))
        if who == first and len(faces) == 1 and faces[0].id not in taught and len(more) < 2:
            more.append(int(faces[0].id))
    confirm.confirm(core, more, f"{first} again")
    auth.set_password(core.cfg, PASSWORD)


@pytest.fixture
def split_site(analysed_template: tuple[Path, Path], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    yield from served(analysed_template, tmp_path, _split_person)


def test_photos_filters_and_a_merge_suggestion(split_site: tuple[str, Path], browser) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, db = split_site
    d = browser
    wait = WebDriverWait(d, WAIT_S)
    SHOTS.mkdir(parents=True, exist_ok=True)

    def see(text: str) -> None:
        wait.until(ec.presence_of_element_located((By.XPATH, f"//*[contains(normalize-space(.), '{text}')]")))

    def click(xpath: str) -> None:
        wait.until(ec.element_to_be_clickable((By.XPATH, xpath))).click()

    def testid(name: str, prefix: bool = False):
        css = f"[data-testid^='{name}']" if prefix else f"[data-testid='{name}']"
        return wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, css)))

    d.get(base + "/login")
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[data-testid='password']"))).send_keys(
        PASSWORD + Keys.ENTER
    )
    see("Review suggestions")

    # Photos: pick people in the filter, combine them (all / any of them), then unnamed faces
    first, second = sorted(set(identities().values()))[:2]
    pid = count(db, f"SELECT id FROM person WHERE name = '{first}'")
    photos_of = lambda name: count(db, "SELECT COUNT(DISTINCT photo_id) FROM face JOIN person ON "  # noqa: E731
                                   f"person.id = face.person_id WHERE person.name = '{name}'")  # fmt: skip
    d.get(base + "/photos")
    see("64 photos")
    for name in (first, second):
        testid("photos-people").click()
        click(f"//div[contains(@class, 'q-menu')]//div[contains(@class, 'q-item') and normalize-space(.) = '{name}']")
        d.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
        if name == first:
            see(f"{photos_of(first)} photos")
    see("No photos match")  # the two are never together
    click("//button[contains(., 'Any of them')]")
    see(f"{photos_of(first) + photos_of(second)} photos")
    photo_id = count(db, f"SELECT MIN(photo_id) FROM face WHERE person_id = {pid}")
    testid(f"photo-{photo_id}")
    time.sleep(1.5)  # lazy previews
    d.save_screenshot(str(SHOTS / "photos.png"))
    testid("photos-unnamed").click()
    click("//div[contains(@class, 'q-menu')]//div[contains(@class, 'q-item') and contains(., 'With unnamed faces')]")
    see("No photos match")  # their photos show them alone, named
    with_person = photos_of(first)
    d.get(base + f"/photos?person={pid}")  # a person's photos, from a link
    see(f"{with_person} photos")
    testid(f"photo-{photo_id}").click()
    wait.until(lambda _: d.current_url.endswith(f"/photo/{photo_id}"))
    see("found by face detection")

    # People: the person named twice is suggested with the evidence; "different", then merge
    d.get(base + "/people")
    see("Maybe the same person?")
    see(f"{first} again")
    time.sleep(1.0)
    d.save_screenshot(str(SHOTS / "merge-suggestion.png"))
    testid("different-", prefix=True).click()
    see("are different people")
    assert count(db, "SELECT COUNT(*) FROM distinct_people") == 1
    with sqlite3.connect(db, timeout=15) as conn:
        conn.execute("DELETE FROM distinct_people")
    d.get(base + "/people")
    people_before = count(db, "SELECT COUNT(*) FROM person")
    testid("merge-pair-", prefix=True).click()
    see("Merged")
    wait.until(lambda _: count(db, "SELECT COUNT(*) FROM person") == people_before - 1)
    assert count(db, f"SELECT face_count FROM person WHERE name = '{first}'") == 4


def test_teach_page_uploads_photos_of_one_person(split_site: tuple[str, Path], browser) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.support.base import FACES

    base, db = split_site
    d = browser
    wait = WebDriverWait(d, WAIT_S)
    SHOTS.mkdir(parents=True, exist_ok=True)

    def see(text: str) -> None:
        wait.until(ec.presence_of_element_located((By.XPATH, f"//*[contains(normalize-space(.), '{text}')]")))

    d.get(base + "/login")
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[data-testid='password']"))).send_keys(
        PASSWORD + Keys.ENTER
    )
    see("Review suggestions")
    d.get(base + "/teach")
    see("Upload photos of one person")
    person = "Uploaded Person"
    css = "input[data-testid='teach-person'], [data-testid='teach-person'] input"
    wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, css))).send_keys(person)
    files = sorted(f for f, who in identities().items() if who == "person05")[:2]
    file_input = (By.CSS_SELECTOR, "[data-testid='teach-upload'] input[type=file]")
    chooser = wait.until(ec.presence_of_element_located(file_input))
    chooser.send_keys("\n".join(str(FACES / f) for f in files))
    see(f"Teaching {person} from 2 photos")
    see(f"Taught: {person} (2)")  # the server's own worker ran the job
    time.sleep(1.0)
    d.save_screenshot(str(SHOTS / "teach.png"))
    assert count(db, f"SELECT face_count FROM person WHERE name = '{person}'") == 2
