"""Login, first run and the jobs page, in NiceGUI's simulated user against a real Core."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from nicegui.testing import User

from tagmyphotos.core import Core
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos.system import auth
from tests.support.ui_harness import PASSWORD, run_queued, simulated_ui

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def anon(core: Core) -> AsyncIterator[User]:
    async with simulated_ui(core, logged_in=False) as user:
        yield user


@pytest_asyncio.fixture
async def user(core: Core) -> AsyncIterator[User]:
    async with simulated_ui(core) as user:
        yield user


async def test_first_run_checks_library_and_sets_password(anon: User, core: Core) -> None:
    first = jobs_store.create_job("scan", {"trigger": "schedule"})  # the server's own scan at start
    jobs_store.finish(first, m.JobState.DONE, {"seen": 64, "new": 64})
    await anon.open("/jobs")  # redirected: no password yet
    await anon.should_see("Welcome to Tag My Photos")
    await anon.should_see("64 photos found")  # the 64 test photos, sampled under the limit
    anon.find(marker="new-password").type("short")
    anon.find(marker="repeat-password").type("short")
    anon.find("Save and start").click()
    await anon.should_see("at least 8 characters")
    assert not auth.password_is_set(core.cfg)
    anon.find(marker="new-password").clear().type(PASSWORD)
    anon.find(marker="repeat-password").clear().type(PASSWORD)
    await anon.should_see("Already finished")  # the first scan is not offered a second time
    anon.find("Save and start").click()
    await anon.should_see("Looking for new and changed photos", retries=20)  # on Jobs, logged in
    assert auth.check_password(core.cfg, PASSWORD)
    assert m.Job.select().count() == 1


async def test_login_rejects_wrong_password_then_accepts(anon: User, core: Core) -> None:
    auth.set_password(core.cfg, PASSWORD)
    await anon.open("/settings")
    await anon.should_see(marker="password")
    anon.find(marker="password").type("wrong password")
    anon.find(marker="login").click()
    await anon.should_see("Wrong password.", retries=30)
    anon.find(marker="password").type(PASSWORD)
    anon.find(marker="login").click()
    await anon.should_not_see(marker="password", retries=30)
    assert anon.back_history[-1].startswith("/login/complete")


async def test_expired_ticket_is_refused(anon: User, core: Core) -> None:
    auth.set_password(core.cfg, PASSWORD)
    await anon.open("/login/complete?ticket=forged&next=/jobs")
    await anon.should_see("That login link expired; please log in again.")


async def test_logout_clears_the_session(user: User) -> None:
    await user.open("/jobs")
    await user.should_see("Scan the library")
    await user.open("/logout")
    await user.should_see(marker="password")


async def test_jobs_page_starts_scan_and_shows_result(user: User, core: Core) -> None:
    await user.open("/jobs")
    await user.should_see("No jobs yet")
    user.find(marker="start-scan").click()
    await user.should_see("Looking for new and changed photos", retries=30)
    await user.should_see("Waiting for its turn.")
    job = jobs_store.recent_jobs(1)[0]
    assert (job.type, job.state) == ("scan", "queued")
    followers = run_queued(core, job.id)  # the worker's part
    await user.should_see("64 photos in the library, 64 new.", retries=30)
    assert followers
    await user.should_see("Finding faces", retries=30)  # the pipeline's hand-off
    assert m.Photo.select().count() == 64


async def test_cancel_a_queued_job_after_confirming(user: User) -> None:
    job_id = jobs_store.create_job("scan")  # queued, never sent: stays queued
    await user.open("/jobs")
    await user.should_see("Looking for new and changed photos")
    user.find("Cancel").click()
    await user.should_see("Stop this job?")
    user.find(marker="confirm-ok").click()
    await user.should_see("stopped", retries=30)
    assert m.Job.get_by_id(job_id).state == m.JobState.CANCELLED


async def test_every_page_of_the_menu_opens(user: User) -> None:
    from ui.frame import NAV

    for _label, path, _icon in NAV:
        await user.open(path)
        await user.should_see("Tag My Photos")
