"""Settings page: edit a setting (applied at once), API keys (create shown once, revoke), tests."""

from __future__ import annotations

import pytest
from nicegui import ui

from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tagmyphotos.store import settings as settings_store
from tagmyphotos.system import auth
from tests.support.ui_harness import simulated_ui

pytestmark = pytest.mark.asyncio


async def test_change_a_setting_applies_to_the_running_core(core: Core) -> None:
    assert core.cfg.matching.k != 9
    async with simulated_ui(core) as user:
        await user.open("/settings")
        await user.should_see(marker="setting-matching.k")
        field = user.find(marker="setting-matching.k").elements.pop()
        field.set_value(9)
        user.find(marker="save-settings").click()
        await user.should_see("Saved: Named faces compared with each new face", retries=30)
    assert core.cfg.matching.k == 9
    assert settings_store.stored_overrides()["matching.k"] == 9


async def test_bad_values_are_refused_all_at_once_on_their_fields_in_plain_words(core: Core) -> None:
    async with simulated_ui(core) as user:
        await user.open("/settings")
        await user.should_see(marker="setting-matching.likely_confidence")
        likely = user.find(marker="setting-matching.likely_confidence").elements.pop()
        likely.set_value(7)
        interval = user.find(marker="setting-scan.interval_minutes").elements.pop()
        interval.set_value(-5)
        user.find(marker="save-settings").click()
        await user.should_see("Not saved: 2 settings to correct", retries=30)
        assert likely.error == "Sure enough for \u201clikely\u201d (0\u20131) must be 1 or less"
        assert interval.error == "Look for new photos every (minutes) must be 0 or more"
        interval.set_value(15)  # one corrected: the other stays marked, nothing is saved yet
        user.find(marker="save-settings").click()
        await user.should_see("Not saved: 1 setting to correct", retries=30)
        assert interval.error is None and likely.error
    assert core.cfg.matching.likely_confidence <= 1
    assert not {"matching.likely_confidence", "scan.interval_minutes"} & set(settings_store.stored_overrides())


async def test_paths_and_login_are_not_editable_here(core: Core) -> None:
    async with simulated_ui(core) as user:
        await user.open("/settings")
        await user.should_see("Library")
        await user.should_not_see(marker="setting-write.exiftool")  # shown, locked
        await user.should_see(marker="setting-write.mode")


async def test_create_then_revoke_an_api_key(core: Core) -> None:
    async with simulated_ui(core) as user:
        await user.open("/settings")
        await user.should_see(marker="key-name")
        user.find(marker="key-name").type("home assistant")
        user.find(marker="create-key").click()
        await user.should_see(marker="new-key", retries=30)
        shown = user.find(marker="new-key").elements.pop().text
        principal = auth.authenticate_key(core.cfg, shown)
        assert principal is not None and principal.name == "home assistant"
        user.find("Revoke").click()
        await user.should_see(marker="confirm-ok")
        user.find(marker="confirm-ok").click()
        await user.should_see("Revoked", retries=30)
    assert auth.authenticate_key(core.cfg, shown) is None
    assert m.ApiKey.select().where(m.ApiKey.revoked_at.is_null(False)).count() == 1


async def test_connection_test_reports_an_unconfigured_target(core: Core) -> None:
    async with simulated_ui(core) as user:
        await user.open("/settings")
        await user.should_see(marker="test-immich")
        user.find(marker="test-immich").click()
        await user.should_see("no URL set", retries=50)  # the integration's own explanation, shown
        outcome = next(e for e in user.find(kind=ui.label).elements if "no URL set" in e.text)
        assert "text-negative" in outcome.classes
