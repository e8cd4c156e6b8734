"""Naming without a click (issue 26) on the scale-out topology: real PostgreSQL and Redis,
`tagmyphotos serve` plus two `tagmyphotos worker` processes; the scenario of
tests/support/unattended.py through the REST API (taught people, new photos through the scan
hook, names in the files with no click, none wrong, the batch undone byte for byte)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tagmyphotos.store import workers
from tagmyphotos_lab.servers import Postgres, Redis, new_database
from tests.support import unattended
from tests.support.topology import Topology, healthy, scaleout_env

pytestmark = pytest.mark.scaleout


@pytest.fixture
def topology(postgres: Postgres, redis_server: Redis, tmp_path: Path) -> Iterator[Topology]:
    import redis

    redis.Redis.from_url(redis_server.url).flushall()
    (tmp_path / "library").mkdir()
    env = scaleout_env(tmp_path, tmp_path / "library", new_database(postgres, f"unattended{os.getpid()}"),
                       redis_server.url, **unattended.ENV)  # fmt: skip
    topo = Topology(env, tmp_path)
    try:
        yield topo
    finally:
        topo.close()


def test_two_workers_name_and_write_without_a_click(topology: Topology) -> None:
    topo = topology
    topo.start("serve", "serve")
    topo.wait_until("the web process", lambda: healthy(topo.port), timeout_s=120)
    topo.start("worker-1", "worker", "--workers", "1")
    topo.start("worker-2", "worker", "--workers", "1")
    topo.wait_until("three worker processes", lambda: len(workers.live_workers()) >= 3, timeout_s=120)

    def alive() -> None:
        dead = [n for n, p in topo.procs.items() if p.poll() is not None]
        assert not dead, f"{dead} exited:\n{topo.logs()}"

    def api(method: str, path: str, **kw: Any) -> Any:
        return topo.api(method, path, **kw)

    unattended.run(api, Path(topo.env["TAGMYPHOTOS_LIBRARY"]), Path(topo.env["TAGMYPHOTOS_DATA"]), alive, 900)
