"""The periodic rescan: huey's scheduler fires `housekeeping` every minute, which queues a scan
when `scan.interval_minutes` have passed since the last one — through the real SQLite queue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs import runtime
from jobs.queue import configure_queue, huey
from jobs.schedules import housekeeping  # noqa: F401  (registers the periodic task with huey)
from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tests.support.base import FACES, copy_tree, make_config


def _core(tmp_path: Path, interval: int) -> Iterator[Core]:
    """A core whose tasks use the real SQLite queue, with this rescan interval."""
    lib = copy_tree(FACES, tmp_path / "library", "img1.jpg")
    core = Core(make_config(lib, tmp_path / "data", TAGMYPHOTOS_SCAN__INTERVAL_MINUTES=str(interval)))
    configure_queue(core.cfg)  # the real SQLite queue in the data folder
    runtime.install(core)
    try:
        yield core
    finally:
        runtime.install(None)
        core.close()


@pytest.fixture
def scheduled(tmp_path: Path) -> Iterator[Core]:
    yield from _core(tmp_path, 30)


def _tick(minute: dt.datetime) -> None:
    """What the consumer does at `minute`: run the periodic tasks due (its scheduler thread
    enqueues them and a worker runs them; the jobs they queue stay queued)."""
    due = huey.read_periodic(minute)
    assert [t.name for t in due] == ["housekeeping"]  # every minute, nothing else
    for task in due:
        huey.execute(task)


def _work() -> None:
    """A worker draining the queue (the scan, then the analysis and matching it starts)."""
    while (task := huey.dequeue()) is not None:
        huey.execute(task)


def _scans() -> list[m.Job]:
    return list(m.Job.select().where(m.Job.type == "scan").order_by(m.Job.id))


def test_a_scan_is_queued_when_the_interval_has_passed(scheduled: Core) -> None:
    now = dt.datetime(2026, 12, 2, 3, 17)
    _tick(now)  # never scanned: due at once
    (scan,) = _scans()
    assert scan.params == {"trigger": "schedule"} and scan.state == m.JobState.QUEUED
    _tick(now + dt.timedelta(minutes=1))  # still queued: no twin
    assert len(_scans()) == 1
    assert huey.pending_count() == 1  # the scan's message, for a worker
    _work()
    assert m.Job.get_by_id(scan.id).state == m.JobState.DONE
    assert m.Photo.select().count() == 1  # the scan really ran through the queue
    _tick(now + dt.timedelta(minutes=2))  # scanned a moment ago: not due
    assert len(_scans()) == 1
    earlier = m.utcnow() - dt.timedelta(minutes=31)  # the last scan is older than the interval
    m.Job.update(created_at=earlier).where(m.Job.type == "scan").execute()
    _tick(now + dt.timedelta(minutes=3))
    scans = _scans()
    assert len(scans) == 2 and scans[1].params == {"trigger": "schedule"}


def test_interval_zero_switches_the_rescan_off(tmp_path: Path) -> None:
    opened = _core(tmp_path, 0)
    next(opened)
    try:
        _tick(dt.datetime(2026, 12, 2, 4, 0))
        assert _scans() == [] and huey.pending_count() == 0
    finally:
        opened.close()


def test_the_daily_automatic_write_runs_once_a_day(tmp_path: Path) -> None:
    """write.auto: "daily at HH:MM": past that time, one write of everything pending per day."""
    from tagmyphotos.review.confirm import confirm
    from tests.support.base import scan_and_analyze

    lib = copy_tree(FACES, tmp_path / "library", "img1.jpg")
    core = Core(make_config(lib, tmp_path / "data", TAGMYPHOTOS_WRITE__AUTO="daily at 00:00"))
    configure_queue(core.cfg)
    runtime.install(core)
    try:
        scan_and_analyze(core)
        _tick(dt.datetime(2026, 12, 2, 4, 0))
        assert not m.Job.select().where(m.Job.type == "write").exists(), "nothing to write: no write"
        m.Setting.delete().where(m.Setting.key == "write.daily_done").execute()  # a new day
        confirm(core, [m.Face.select().first().id], "Ann")
        _tick(dt.datetime(2026, 12, 2, 4, 1))
        (write,) = m.Job.select().where(m.Job.type == "write")
        assert write.params == {"trigger": "daily"}
        _work()
        assert m.Job.get_by_id(write.id).state == m.JobState.DONE and m.Job.get_by_id(write.id).result["written"] == 1
        confirm(core, [m.Face.select().first().id], "Bo")  # pending again, but the day's write is done
        _tick(dt.datetime(2026, 12, 2, 4, 2))
        assert m.Job.select().where(m.Job.type == "write").count() == 1
    finally:
        runtime.install(None)
        core.close()
