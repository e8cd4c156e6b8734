"""The settings page says why a stored secret is not used (issue 25, item 3), and shows a secret
address masked (item 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagmyphotos.core import Core
from tagmyphotos.store import settings as settings_store
from tests.support.base import make_config
from tests.support.ui_harness import simulated_ui

pytestmark = pytest.mark.asyncio
HOOK_ID = "ha-webhook-id-55aa0c1d"


async def test_the_page_says_why_the_key_must_be_entered_again(library: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "no-config.yaml").write_text(
        "integrations:\n  immich:\n    url: http://immich.lan:2283\n    api_key: immich-key-0123456789\n"
        f"  webhook:\n    url: https://ha.lan/api/webhook/{HOOK_ID}\n"
    )
    core = Core(make_config(library, data))
    try:
        core.cfg, _ = settings_store.save_changes(core.cfg, {"integrations.immich.url": "http://elsewhere:2283"})
        core.cfg, _ = settings_store.save_changes(core.cfg, {}, reset=["integrations.immich.api_key"])
        async with simulated_ui(core) as user:
            await user.open("/settings")
            await user.should_see(marker="withheld-integrations.immich.api_key")
            await user.should_see("http://immich.lan:2283")
            await user.should_see("Enter it again for the new address")
            hook = user.find(marker="setting-integrations.webhook.url").elements.pop()
            assert hook.value == "https://ha.lan/********" and HOOK_ID not in str(hook.value)
            user.find(marker="save-settings").click()  # the masked address sent back: no change
            await user.should_see("Nothing changed", retries=30)
        assert core.cfg.integrations.webhook.url.endswith(HOOK_ID)
    finally:
        core.close()
