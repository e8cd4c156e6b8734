"""The write page against real files and real exiftool: preview, write, log, restore."""

from __future__ import annotations

import hashlib

import pytest

from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tests.support.ui_harness import run_queued, simulated_ui, teach

pytestmark = pytest.mark.asyncio


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_nothing_to_write_says_so(core: Core) -> None:
    async with simulated_ui(core) as user:
        await user.open("/write")
        await user.should_see("Everything is written", retries=30)
        await user.should_see("Nothing written yet")


async def test_preview_write_then_restore_one_file(analysed_core: Core) -> None:
    core = analysed_core
    names = teach(core, people=1, per_person=2)
    taught = [m.Face.get_by_id(f).photo for f in next(iter(names.values()))]
    before = {p.path: sha(core.cfg.library / p.path) for p in taught}
    async with simulated_ui(core) as user:
        await user.open("/write")
        await user.should_see("2 photos will change", retries=50)
        user.find("Preview changes").click()
        await user.should_see(taught[0].path, retries=100)  # a dry run per file, real exiftool
        assert {sha(core.cfg.library / p) for p in before} == set(before.values())  # a preview writes nothing
        user.find(marker="start-write").click()
        await user.should_see(marker="confirm-ok")
        user.find(marker="confirm-ok").click()
        await user.should_see("Writing names into photos", retries=30)  # the live card, on top
        job = m.Job.select().where(m.Job.type == "write").get()
        run_queued(core, job.id)  # the worker's part
        await user.should_see("Write finished: 2 photos written", retries=50)
        await user.should_see("Everything is written", retries=30)
        for path, digest in before.items():
            assert sha(core.cfg.library / path) != digest or (core.cfg.library / (path + ".xmp")).exists()
        await user.should_see(taught[0].path)  # in the write log
        # the log finds a file by part of its name, in any case
        part = taught[1].path.rsplit("/", 1)[-1].rsplit(".", 1)[0].upper()
        user.find(marker="log-search").type(part)
        await user.should_not_see(marker=f"restore-{taught[0].path}", retries=30)
        await user.should_see(marker=f"restore-{taught[1].path}")
        user.find(marker="log-search").clear()
        await user.should_see(marker=f"restore-{taught[0].path}", retries=30)
        path = taught[0].path
        user.find(marker=f"restore-{path}").click()
        await user.should_see(marker="confirm-ok")
        user.find(marker="confirm-ok").click()
        await user.should_see("Putting back original files", retries=30)
        job = m.Job.select().where(m.Job.type == "restore").get()
        assert job.params == {"paths": [path]}
        run_queued(core, job.id)
        await user.should_see("Restore finished: 1 file put back", retries=50)
    assert sha(core.cfg.library / path) == before[path]  # byte for byte
    assert m.Photo.get(m.Photo.path == path).written_signature is None  # it will be written again
