"""A hostile or broken Immich/PhotoPrism cannot flood the name import (issue 25, item 5).

What the attack did: one asset with 300 named boxes made 300 people; a `nextPage` that never
ends ran 661 requests in 30 s and ignored cancel; a `hasNextPage` that never ends grew memory to
2 GB; one name over 120 characters or with an ESC character failed the whole import. Here the
fakes (built from the services' specs) misbehave on request, against a real analysed library
and the real import-names job.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from jobs.pipeline import STAGES
from tagmyphotos.config import ImmichConfig, PathMap, PhotoPrismConfig
from tagmyphotos.core import Core
from tagmyphotos.geometry import oriented_size
from tagmyphotos.stages.runner import run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos_lab.fakes.immich import FakeImmich
from tagmyphotos_lab.fakes.photoprism import FakePhotoPrism
from tests.support import dbtarget
from tests.support.base import FACES, copy_tree, make_config, scan_and_analyze

PHOTOS = ("img1.jpg", "img2.jpg", "img3.jpg")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("hostile-import")
    lib = base / "library"
    lib.mkdir()
    for name in PHOTOS:
        copy_tree(FACES, lib, name)
    core = Core(make_config(lib, base / "data"))
    try:
        scan_and_analyze(core)
    finally:
        core.close()
    return lib, base / "data"


@pytest.fixture
def core(template: tuple[Path, Path], tmp_path: Path) -> Iterator[Core]:
    shutil.copytree(template[0], tmp_path / "library")
    dbtarget.copy_data(template[1], tmp_path / "data")
    c = Core(make_config(tmp_path / "library", tmp_path / "data"))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def immich(core: Core) -> Iterator[FakeImmich]:
    fake = FakeImmich()
    with fake:
        core.cfg.integrations.immich = ImmichConfig(
            url=fake.url, api_key=SecretStr(fake.api_key),
            path_map=PathMap(local_prefix=str(core.cfg.library), remote_prefix="/mnt/photos"),
        )  # fmt: skip
        yield fake
    assert fake.violations == [], fake.violations


def import_job(core: Core, source: str = "immich", **params: Any) -> m.Job:
    job_id = jobs_store.create_job("import-names", {"no_follow": True, "source": source, **params})
    run_stage(core, STAGES["import-names"], job_id)
    return m.Job.get_by_id(job_id)


def frame_box(path: str) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    """Our first face of a photo as pixels of the photo as displayed (Immich's frame)."""
    photo = m.Photo.get(m.Photo.path == path)
    face = m.Face.select().where(m.Face.photo == photo.id).order_by(m.Face.id).first()
    w, h = oriented_size(photo.width, photo.height, photo.orientation or 1)
    return (round(face.x), round(face.y), round(face.x + face.w), round(face.y + face.h)), (w, h)


def name_in_immich(fake: FakeImmich, path: str, name: str) -> None:
    box, frame = frame_box(path)
    fake.add_face(fake.add_asset(f"/mnt/photos/{path}"), box, frame, fake.add_person(name))


def warnings_of(job: m.Job) -> list[str]:
    return [e.message for e in m.JobEvent.select().where((m.JobEvent.job == job.id) & (m.JobEvent.level == "warning"))]


def test_an_asset_with_300_named_boxes_makes_no_people(core: Core, immich: FakeImmich) -> None:
    crowd = immich.add_asset("/mnt/photos/img1.jpg")
    _, (w, h) = frame_box("img1.jpg")
    for i in range(300):
        x, y = (i % 20) * (w // 20), (i // 20) * (h // 15)
        immich.add_face(crowd, (x, y, x + w // 25, y + h // 20), (w, h), immich.add_person(f"Stranger {i}"))
    name_in_immich(immich, "img2.jpg", "Ann There")  # a normal photo next to it is still imported

    dry = import_job(core, dry_run=True)
    assert dry.state == m.JobState.DONE and dry.result["people_created"] == ["Ann There"], dry.result
    job = import_job(core)
    assert job.state == m.JobState.DONE, job.error
    assert [p.name for p in m.Person.select()] == ["Ann There"]
    limit = core.cfg.integrations.import_max_faces_per_photo
    assert any("img1.jpg" in n and "300 named faces" in n and str(limit) in n for n in job.result["notes"])
    assert any("300 named faces" in w for w in warnings_of(job))


def test_a_next_page_that_never_ends_stops_at_the_page_limit(core: Core, immich: FakeImmich) -> None:
    name_in_immich(immich, "img1.jpg", "Ann There")
    immich.misbehave.add("endless_next_page")
    core.cfg.integrations.import_max_pages = 5
    job = import_job(core)
    assert job.state == m.JobState.DONE, job.error
    assert len(immich.calls("POST", "/api/search/metadata")) <= 5
    assert any("5 pages" in n and "import_max_pages" in n for n in job.result["notes"]), job.result["notes"]
    assert [p.name for p in m.Person.select()] == ["Ann There"]  # what was read is imported, once


def test_cancel_stops_an_import_that_pages_forever(core: Core, immich: FakeImmich) -> None:
    name_in_immich(immich, "img1.jpg", "Ann There")
    immich.misbehave.add("endless_next_page")
    job_id = jobs_store.create_job("import-names", {"no_follow": True, "source": "immich"})
    runner = threading.Thread(target=run_stage, args=(core, STAGES["import-names"], job_id))
    runner.start()
    time.sleep(1.5)
    asked = time.monotonic()
    jobs_store.request_cancel(job_id)
    runner.join(timeout=20)
    assert not runner.is_alive() and time.monotonic() - asked < 5
    assert m.Job.get_by_id(job_id).state == m.JobState.CANCELLED
    pages = len(immich.calls("POST", "/api/search/metadata"))
    time.sleep(0.5)
    assert len(immich.calls("POST", "/api/search/metadata")) == pages  # no request after the cancel


def test_a_people_list_that_never_ends_stops_at_the_item_limit(core: Core, immich: FakeImmich) -> None:
    name_in_immich(immich, "img1.jpg", "Ann There")
    immich.misbehave.add("endless_people")
    core.cfg.integrations.import_max_items = 2500
    job = import_job(core)
    assert job.state == m.JobState.DONE, job.error
    assert len(immich.calls("GET", "/api/people")) <= 3  # pages of 1,000: the limit is reached in the third
    assert any("2,500 items" in n and "import_max_items" in n for n in job.result["notes"]), job.result["notes"]
    assert [p.name for p in m.Person.select()] == ["Ann There"]


def test_a_bad_name_is_skipped_with_a_warning_naming_it(core: Core, immich: FakeImmich) -> None:
    name_in_immich(immich, "img1.jpg", "A" * 130)
    name_in_immich(immich, "img2.jpg", "Evil\x1b[2JName")
    name_in_immich(immich, "img3.jpg", "Good Name")
    job = import_job(core)
    assert job.state == m.JobState.DONE, job.error
    assert [p.name for p in m.Person.select()] == ["Good Name"]
    notes = job.result["notes"]
    assert any("Evil\\x1b[2JName" in n and "control characters" in n for n in notes), notes
    assert any("AAAA" in n and "at most" in n for n in notes), notes
    assert not any("\x1b" in n for n in notes)
    shown = warnings_of(job)
    assert any("Evil\\x1b[2JName" in w for w in shown) and not any("\x1b" in w for w in shown)


def test_photoprism_pages_that_are_always_full_stop_at_the_page_limit(core: Core) -> None:
    fake = FakePhotoPrism()
    with fake:
        core.cfg.integrations.photoprism = PhotoPrismConfig(url=fake.url, token=SecretStr(fake.token))
        uid = fake.add_photo("img1.jpg")
        fake.add_marker(uid, (0.3, 0.2, 0.2, 0.3), fake.add_subject("Ann There"))
        fake.misbehave.add("endless_photos")
        core.cfg.integrations.import_max_pages = 4
        job = import_job(core, source="photoprism")
        assert job.state == m.JobState.DONE, job.error
        assert len(fake.calls("GET", "/api/v1/photos")) <= 4
        assert any("4 pages" in n for n in job.result["notes"]), job.result["notes"]
    assert fake.violations == [], fake.violations
