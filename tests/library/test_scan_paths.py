"""Scans of given paths, their coalescing, and the signed inbound hook, through the real app."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from pydantic import SecretStr

from integrations.webhook.client import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signed_content
from jobs.consumer import start_consumer, stop_consumer
from jobs.queue import configure_queue
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tests.support import dbtarget
from tests.support.api import ApiEnv, assert_problem
from ui.api.hooks import SCAN_HOOK_DEBOUNCE_S

pytest_plugins = ("tests.support.api",)

SECRET = "hook-secret-0123456789"


@pytest.fixture
def hook_api(api: ApiEnv) -> ApiEnv:
    api.core.cfg.integrations.hook.secret = SecretStr(SECRET)
    return api


def _signed(api: ApiEnv, doc: object, secret: str = SECRET):  # type: ignore[no-untyped-def]
    body, stamp = json.dumps(doc).encode(), str(int(time.time()))
    signature = sign(secret, signed_content(stamp, body))
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature, TIMESTAMP_HEADER: stamp}
    return api.post("/hooks/scan", key=None, content=body, headers=headers)


def _add_photos(library: Path, folder: str, n: int) -> list[str]:
    (library / folder).mkdir(exist_ok=True)
    sources = sorted(library.glob("img*.jpg"))
    names = []
    for i in range(n):
        shutil.copyfile(sources[i % len(sources)], library / folder / f"new{i}.jpg")
        names.append(f"{folder}/new{i}.jpg")
    return names


def test_a_scan_with_paths_looks_at_only_those_files(api: ApiEnv) -> None:
    lib = api.core.cfg.library
    added = _add_photos(lib, "inbox", 3)
    (lib / "img10.jpg").unlink()  # outside the scope: must not be marked missing by this scan
    job = api.ok("POST", "/jobs", json={"type": "scan", "params": {"paths": added[:2]}})
    assert job["result"]["seen"] == 2
    assert job["result"]["new"] == 2
    assert job["result"]["missing"] == 0
    assert job["result"]["scope"] == "paths"
    assert sorted(p.path for p in m.Photo.select().where(m.Photo.path.startswith("inbox/"))) == added[:2]
    assert m.Photo.get(m.Photo.path == "img10.jpg").state != m.PhotoState.MISSING


def test_a_scan_of_a_folder_and_a_gone_file_in_scope(api: ApiEnv) -> None:
    lib = api.core.cfg.library
    added = _add_photos(lib, "inbox", 3)
    job = api.ok("POST", "/jobs", json={"type": "scan", "params": {"folder": "inbox"}})
    assert job["result"]["seen"] == 3
    (lib / added[0]).unlink()
    again = api.ok("POST", "/jobs", json={"type": "scan", "params": {"paths": [added[0]]}})
    assert again["result"]["seen"] == 0
    assert again["result"]["missing"] == 1
    assert m.Photo.get(m.Photo.path == added[0]).state == m.PhotoState.MISSING


def test_a_queued_scan_takes_in_later_paths_and_a_full_request_widens_it(api: ApiEnv) -> None:
    first = jobs_store.create_job("scan", {"paths": ["a.jpg"]})
    assert jobs_store.coalesce_queued("scan", {"paths": ["b.jpg"]}) == first
    assert m.Job.get_by_id(first).params["paths"] == ["a.jpg", "b.jpg"]
    assert jobs_store.coalesce_queued("scan", {"trigger": "schedule"}) == first
    assert jobs_store.scope_of(m.Job.get_by_id(first).params) is None
    m.Job.update(state=m.JobState.RUNNING).where(m.Job.id == first).execute()
    assert jobs_store.coalesce_queued("scan", {"paths": ["c.jpg"]}) is None


def test_the_hook_takes_a_signature_or_an_api_key_and_nothing_else(hook_api: ApiEnv) -> None:
    added = _add_photos(hook_api.core.cfg.library, "inbox", 1)
    out = _signed(hook_api, {"paths": added})
    assert out.status_code == 202, out.text
    job = m.Job.get_by_id(out.json()["job_id"])
    assert job.result["seen"] == 1 and job.result["new"] == 1
    assert_problem(_signed(hook_api, {"paths": added}, secret="wrong"), 401)
    assert_problem(hook_api.post("/hooks/scan", key=None, json={"paths": added}), 401)
    assert_problem(hook_api.post("/hooks/scan", key="read", json={"paths": added}), 403)
    assert hook_api.post("/hooks/scan", json={"paths": added}).status_code == 202


def test_the_hook_resolves_outside_paths_inside_the_library(hook_api: ApiEnv) -> None:
    cfg = hook_api.core.cfg
    added = _add_photos(cfg.library, "inbox", 2)
    cfg.integrations.immich.path_map.remote_prefix = "/mnt/photos"
    absolute = [str(cfg.library / added[0]), "/mnt/photos/" + added[1]]
    out = _signed(hook_api, {"paths": absolute})
    assert out.status_code == 202, out.text
    assert out.json()["scope"] == added
    for bad in ("../etc/passwd", "/etc/passwd", "/mnt/photos/../../etc/passwd", "inbox/%2e%2e/x"):
        assert_problem(_signed(hook_api, {"paths": [bad]}), 400)


@pytest.fixture
def queued_api(hook_api: ApiEnv) -> Iterator[ApiEnv]:
    """The app with a real SQLite queue and a real consumer thread: jobs run beside the requests."""
    configure_queue(hook_api.core.cfg)
    consumer = start_consumer(workers=1, periodic=False)
    try:
        yield hook_api
    finally:
        stop_consumer(consumer)


def test_twenty_hook_calls_in_a_second_give_at_most_two_scans(queued_api: ApiEnv) -> None:
    folder = queued_api.core.cfg.library / "burst"
    folder.mkdir()
    added = []
    for i in range(20):  # small real photos: this test is about the scans, not the analysis
        Image.new("RGB", (96, 64), (10 * i, 80, 120)).save(folder / f"up{i}.jpg", quality=80)
        added.append(f"burst/up{i}.jpg")
    before = m.Job.select().count()
    t0 = time.monotonic()
    for path in added:
        assert _signed(queued_api, {"paths": [path]}).status_code == 202
    # about 0.3 s here; a loaded CI machine may be slower, and the 2 s debounce covers that too
    assert time.monotonic() - t0 < SCAN_HOOK_DEBOUNCE_S
    deadline = time.monotonic() + 120
    while jobs_store.active_job("scan") is not None or jobs_store.active_job("analyze") is not None:
        assert time.monotonic() < deadline, "the scans did not finish"
        time.sleep(0.2)
    scans = list(m.Job.select().where((m.Job.type == "scan") & (m.Job.id > before)))
    assert 1 <= len(scans) <= 2
    assert sum(s.result["seen"] for s in scans) == 20
    assert m.Photo.select().where(m.Photo.path.startswith("burst/")).count() == 20


def test_the_scan_command_takes_paths(
    core: object, cfg: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tagmyphotos_app.cli import main

    library, data = cfg.library, cfg.data  # type: ignore[attr-defined]
    monkeypatch.setenv("TAGMYPHOTOS_LIBRARY", str(library))
    monkeypatch.setenv("TAGMYPHOTOS_DATA", str(data))
    monkeypatch.setenv("TAGMYPHOTOS_SCAN__INTERVAL_MINUTES", "0")
    for name, value in dbtarget.database_env(data).items():  # the test's database (--db=postgres)
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(data)
    assert main(["scan", "--wait", "--json", "img1.jpg", "img2.jpg"]) == 0
    job = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["job"]
    assert job["result"]["seen"] == 2 and job["result"]["scope"] == "paths"
