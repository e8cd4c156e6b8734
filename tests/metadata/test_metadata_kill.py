"""kill -9 of a bulk writer (Python and its exiftool, the whole process group) at random moments:
every photo must be either its original bytes or completely written and verifiable, its backup
must be the original, and a rerun must finish the job without writing anything twice."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tagmyphotos.jpeg import jpeg_image_digest
from tagmyphotos.metadata.backups import BackupStore
from tagmyphotos.metadata.exiftool import ExifToolSession
from tagmyphotos.metadata.plan import plan_write
from tagmyphotos.metadata.read import read_photo
from tagmyphotos.metadata.write import MetadataWriter
from tests.support.base import ROOT, SHARED

FACES = SHARED / "testdata" / "faces"
FILES = [f"img{i}.jpg" for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 26, 33)]  # incl. the three largest

# The child: a bulk write over the library, one line per photo on stdout.
CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from tagmyphotos.metadata.backups import BackupStore
    from tagmyphotos.metadata.exiftool import ExifToolSession
    from tagmyphotos.geometry import NormBox
    from tagmyphotos.metadata.plan import PersonRegion
    from tagmyphotos.metadata.write import MetadataWriter, WriteItem

    lib, data = Path(sys.argv[1]), Path(sys.argv[2])
    with ExifToolSession() as session:
        writer = MetadataWriter(session, BackupStore(data, lib))
        print("ready", flush=True)
        items = (WriteItem(photo, wanted(photo)) for photo in sorted(lib.glob("*.jpg")))
        for item, result in writer.write_many(items):  # the job's pipelined bulk write
            print(result.status, item.photo.name, flush=True)
    """
)
WANTED = textwrap.dedent(
    """
    def wanted(photo):
        n = int(photo.stem[3:])
        return [PersonRegion(f"Person {n}", NormBox(0.1 + n % 5 * 0.1, 0.2, 0.2, 0.25)),
                PersonRegion("Ada Lovelace", NormBox(0.55, 0.5, 0.2, 0.2))]
    """
)
_ns: dict = {}
exec(  # the same `wanted` in the test as in the child
    "from tagmyphotos.geometry import NormBox\nfrom tagmyphotos.metadata.plan import PersonRegion\n" + WANTED,
    _ns,
)
wanted = _ns["wanted"]


def _start(lib: Path, data: Path) -> subprocess.Popen:
    code = WANTED + CHILD
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", code, str(lib), str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group: python + exiftool die together
    )


def _run_to_end(lib: Path, data: Path) -> list[str]:
    proc = _start(lib, data)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return [line.split()[0] for line in out.splitlines()[1:]]


def _check(session: ExifToolSession, lib: Path, data: Path, originals: dict[str, bytes]) -> dict[str, int]:
    store = BackupStore(data, lib)
    seen = {"original": 0, "written": 0}
    for name, original in originals.items():
        photo = lib / name
        if photo.read_bytes() == original:
            seen["original"] += 1
            continue
        meta = read_photo(session, photo)
        assert not meta.error and meta.width > 0, f"{name} no longer reads: {meta.error}"
        assert meta.image_data_hash == jpeg_image_digest(FACES / name) != "", f"{name}: image data changed"
        plan = plan_write(meta.embedded, wanted(photo), [], meta.orientation, meta.width, meta.height)
        assert plan.is_noop, f"{name} is neither original nor completely written: {plan.changes}"
        record = store.get(photo)
        assert record is not None and Path(record.backup).read_bytes() == original, f"{name}: bad backup"
        seen["written"] += 1
    return seen


def _round(session: ExifToolSession, tmp: Path, rng: random.Random) -> dict[str, int]:
    lib, data = tmp / "library", tmp / "data"
    lib.mkdir(parents=True)
    originals = {}
    for name in FILES:
        shutil.copyfile(FACES / name, lib / name)
        os.chmod(lib / name, 0o644)
        originals[name] = (lib / name).read_bytes()
    proc = _start(lib, data)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(rng.uniform(0.0, 1.2))  # the whole job takes ~0.5-1.5 s: anywhere inside it
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    seen = _check(session, lib, data, originals)
    print("killed with", seen, "leftover temp files:", len(list(lib.glob("*_exiftool_tmp"))))
    statuses = _run_to_end(lib, data)  # resume: the rest is written, nothing twice
    assert statuses.count("unchanged") == seen["written"]
    assert _check(session, lib, data, originals)["written"] == len(FILES)
    assert not list(lib.glob("*_exiftool_tmp")) and sorted(p.name for p in lib.iterdir()) == sorted(FILES)
    assert set(_run_to_end(lib, data)) == {"unchanged"}
    writer = MetadataWriter(session, BackupStore(data, lib))
    for name in FILES:
        assert writer.check(lib / name, wanted(lib / name)) == (True, "verified"), name
    return seen


@pytest.fixture(scope="module")
def session():
    with ExifToolSession() as s:
        yield s


def test_kill_9_during_bulk_write_leaves_every_file_whole(session: ExifToolSession, tmp_path: Path) -> None:
    rng = random.Random(5)
    totals = {"original": 0, "written": 0}
    for i in range(3):
        seen = _round(session, tmp_path / f"round{i}", rng)
        totals = {k: totals[k] + seen[k] for k in totals}
    assert totals["original"] + totals["written"] == 3 * len(FILES)


@pytest.mark.slow
def test_kill_9_many_rounds(session: ExifToolSession, tmp_path: Path) -> None:
    rng = random.Random(11)
    totals = {"original": 0, "written": 0}
    for i in range(25):
        seen = _round(session, tmp_path / f"round{i}", rng)
        totals = {k: totals[k] + seen[k] for k in totals}
    assert totals["written"] > 0 and totals["original"] > 0  # kills landed before and after writes
