"""The real servers of the scale-out tests: PostgreSQL and redis-server from the Debian packages
(tagmyphotos_lab/servers.py), one of each per test module; skipped where they cannot start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tagmyphotos_lab.servers import Postgres, Redis, ServerUnavailable, start_postgres, start_redis


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    try:
        pg = start_postgres()
    except ServerUnavailable as exc:
        pytest.skip(f"PostgreSQL cannot be started here: {exc}")
    yield pg
    pg.stop()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[Redis]:
    try:
        server = start_redis()
    except ServerUnavailable as exc:
        pytest.skip(f"redis-server cannot be started here: {exc}")
    yield server
    server.stop()
