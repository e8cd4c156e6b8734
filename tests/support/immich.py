"""The fake-Immich fixture and config shared by the Immich test modules.

Load it with `pytest_plugins = ("tests.support.immich",)` (as tests.support.api is loaded)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tagmyphotos.config import IntegrationsConfig
from tagmyphotos_lab.fakes.builders import integrations_cfg
from tagmyphotos_lab.fakes.immich import FakeImmich

MAP = {"local_prefix": "/library", "remote_prefix": "/mnt/photos"}


@pytest.fixture
def immich() -> Iterator[FakeImmich]:
    fake = FakeImmich()
    with fake:
        yield fake
    assert fake.violations == [], fake.violations


def cfg_for(fake: FakeImmich, **extra: object) -> IntegrationsConfig:
    return integrations_cfg(immich={"url": fake.url, "api_key": fake.api_key, "path_map": MAP, **extra})
