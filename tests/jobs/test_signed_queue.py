"""The queue runs only what this installation wrote (issue 25, item 1).

A hand-made pickle whose unpickling creates a marker file is pushed straight into the queue
storage, as an attacker with the Redis password (or a copy of queue.db) would; a real consumer
must drop it with a logged error and never unpickle it, while our own signed jobs still run.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos_lab.servers import Redis, ServerUnavailable, start_redis
from tests.support import dbtarget
from tests.support.base import FACES, ROOT, copy_tree, make_config

REFUSAL = "refused a queue message"


class Payload:
    """Unpickling this opens (creates) the marker file: the attacker's command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def attack(marker: Path) -> bytes:
    return pickle.dumps(Payload(marker))


def wait_for(check: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def redis_server() -> Iterator[Redis]:
    try:
        server = start_redis()
    except ServerUnavailable as exc:
        pytest.skip(f"redis-server cannot be started here: {exc}")
    yield server
    server.stop()


def test_a_real_worker_on_redis_drops_an_unsigned_pickle(redis_server: Redis, tmp_path: Path) -> None:
    import redis

    from jobs.queue import configure_queue
    from jobs.tasks import start_job
    from tagmyphotos_app.boot import boot

    library = tmp_path / "library"
    copy_tree(FACES, library, "*.jpg")
    data, marker = tmp_path / "data", tmp_path / "owned"
    env = {"TAGMYPHOTOS_LIBRARY": str(library), "TAGMYPHOTOS_DATA": str(data),
           "TAGMYPHOTOS_CONFIG": str(tmp_path / "absent.yaml"), "TAGMYPHOTOS_SCAN__INTERVAL_MINUTES": "0",
           "TAGMYPHOTOS_QUEUE__BACKEND": "redis", "TAGMYPHOTOS_REDIS_URL": redis_server.url,
           **dbtarget.database_env(data)}  # fmt: skip
    core = boot(make_config(library, data, **env))  # the producer: signs with data/queue.key
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        command = [sys.executable, "-m", "tagmyphotos_app", "worker", "--workers", "1"]
        worker = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    conn = redis.Redis.from_url(redis_server.url)
    try:
        wait_for(lambda: any(c.get("cmd") == "brpop" for c in conn.client_list()), 60, "the worker")
        conn.lpush("huey.redis.tagmyphotos", attack(marker))  # what the attacker did
        wait_for(lambda: REFUSAL in log.read_text(), 30, f"the refusal in the log:\n{log.read_text()}")
        job_id = start_job("scan", {"no_follow": True})  # our own, signed: still runs
        wait_for(lambda: m.Job.get_by_id(job_id).state == m.JobState.DONE, 60, f"the scan:\n{log.read_text()}")
        assert worker.poll() is None, "the worker survived the refused message"
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        configure_queue(core.cfg, immediate=True)
        core.close()
    assert not marker.exists(), "the hand-made pickle was unpickled: its code ran"
    text = log.read_text()
    assert "unsigned" in text and "dropped without being read" in text
    assert (data / "queue.key").stat().st_mode & 0o777 == 0o600


def test_the_sqlite_queue_goes_through_the_same_signature(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from jobs.consumer import start_consumer, stop_consumer
    from jobs.queue import configure_queue, huey
    from jobs.tasks import start_job
    from tagmyphotos_app.boot import boot

    library = copy_tree(FACES, tmp_path / "library", "*.jpg")
    core = boot(make_config(library, tmp_path / "data"))
    marker, forged = tmp_path / "owned", tmp_path / "forged"
    caplog.set_level(logging.ERROR, logger="tagmyphotos.jobs")
    try:
        huey.storage.enqueue(attack(marker))  # a row written into queue.db by someone else
        signed_elsewhere = huey.serializer.serialize(Payload(forged))  # right shape, wrong key
        huey.storage.enqueue(signed_elsewhere[:6] + bytes(32) + signed_elsewhere[38:])
        job_id = start_job("scan", {"no_follow": True})
        consumer = start_consumer(workers=1, periodic=False)
        try:
            wait_for(lambda: m.Job.get_by_id(job_id).state == m.JobState.DONE, 60, "the signed scan")
            wait_for(lambda: len([r for r in caplog.records if REFUSAL in r.getMessage()]) >= 2, 10, "2 refusals")
        finally:
            stop_consumer(consumer)
    finally:
        configure_queue(core.cfg, immediate=True)
        core.close()
    assert not marker.exists() and not forged.exists()
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "unsigned" in messages and "signed with another key" in messages
    assert jobs_store.job_view(job_id) is not None
