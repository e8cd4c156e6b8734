"""kill -9 of the whole app during scan, analysis and bulk write, at random points.

After every kill: the database opens and passes SQLite's integrity and foreign-key checks,
every photo is byte-identical to its original (scan, analyze) or its original or completely
written and verified (write), and no face exists twice. After the rounds, rerunning the command
finishes the work: the same faces as an uninterrupted run, every file written once, and a
restore gives back the original bytes.

The default suite runs a few rounds; `-m slow` runs ~200 (TMP_KILL_ROUNDS overrides).
Figures are printed as `kill-figures: {...}` lines (docs/reliability.md quotes them).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from tagmyphotos.core import Core
from tagmyphotos.geometry import iou
from tagmyphotos.store import models as m
from tests.support import kill as ks
from tests.support.base import EXIFTOOL, FACES, make_config

ANALYZE_FILES = [f"img{i}.jpg" for i in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)] + ["couple.jpg", "img47.jpg"]
WRITE_FILES = [f"img{i}.jpg" for i in (11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 26, 33)]
# Boxes of the same face in two runs of the same (deterministic) analysis overlap this much.
SAME_FACE_IOU = 0.9
SLOW_ROUNDS = int(os.environ.get("TMP_KILL_ROUNDS", "200"))


@pytest.fixture(scope="module")
def reference(analysed_template: tuple[Path, Path]) -> dict[str, list[tuple[int, int, int, int]]]:
    """Faces of an uninterrupted analysis of the same photos (conftest's analysed library)."""
    return ks.faces_by_path(analysed_template[1] / "tagmyphotos.db")


def _same_faces(got: dict[str, list], want: dict[str, list], paths: list[str]) -> None:
    for path in paths:
        mine, ref = sorted(got.get(path, [])), sorted(want.get(path, []))
        assert len(mine) == len(ref), f"{path}: {len(mine)} faces after the kills, {len(ref)} uninterrupted"
        for box in ref:
            assert any(iou(box, b) >= SAME_FACE_IOU for b in mine), f"{path}: face {box} missing"


def _library(tmp: Path, names: list[str]) -> Path:
    lib = tmp / "library"
    lib.mkdir(parents=True)
    for name in names:
        shutil.copyfile(FACES / name, lib / name)
        os.chmod(lib / name, 0o644)
    return lib


def analyze_cycle(tmp: Path, rng: random.Random, kills: int, reference: dict) -> dict[str, int]:
    lib = _library(tmp, ANALYZE_FILES)
    data = tmp / "data"
    db = data / "tagmyphotos.db"
    env = ks.app_env(lib, data, TAGMYPHOTOS_ANALYSIS__BATCH_SIZE="4")
    assert ks.run(["scan", "--wait"], env).returncode == 0
    originals = ks.digests(lib)
    stats = {"rounds": 0, "killed": 0, "stuck_claims": 0, "stale_jobs": 0}
    done_sql = "SELECT count(*) FROM photo WHERE state = 'done'"
    for _ in range(kills):
        kill = ks.kill_round(["analyze", "--wait"], env, rng, max_delay_s=12.0,
                             progress=lambda: ks.count(db, done_sql), progress_total=len(ANALYZE_FILES))  # fmt: skip
        stats["rounds"] += 1
        stats["killed"] += kill.killed
        ks.database_ok(db)
        assert ks.digests(lib) == originals, "analysis changed a photo"
        ks.no_duplicates(ks.faces_by_path(db))
    rerun = ks.run(["analyze", "--wait"], env)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    # the immediate rerun finishes everything but the photos the killed run still holds
    states = ks.count(db, "SELECT count(*) FROM photo WHERE state NOT IN ('done', 'analyzing')")
    assert states == 0, "a photo was left pending or failed by the rerun"
    stats["stuck_claims"] = ks.count(db, "SELECT count(*) FROM photo WHERE state = 'analyzing'")
    if stats["stuck_claims"]:
        assert ks.reap_dead_claims(lib, data) == stats["stuck_claims"]
        assert ks.run(["analyze", "--wait"], env).returncode == 0
    assert ks.count(db, done_sql) == len(ANALYZE_FILES)
    stats["stale_jobs"] = ks.count(db, "SELECT count(*) FROM job WHERE state = 'running'")
    faces = ks.faces_by_path(db)
    ks.no_duplicates(faces)
    _same_faces(faces, reference, ANALYZE_FILES)
    con = sqlite3.connect(str(db))
    thumbs = [r[0] for r in con.execute("SELECT thumb FROM face")]
    con.close()
    assert all(t and (data / t).is_file() for t in thumbs), "a face without its thumbnail"
    assert ks.digests(lib) == originals
    return stats


def scan_cycle(tmp: Path, rng: random.Random, kills: int, folders: int = 10) -> dict[str, int]:
    """A library of hundreds of files (hard links: cheap) so a scan lasts long enough to be hit."""
    lib = tmp / "library"
    names = sorted(p.name for p in FACES.glob("*.jpg"))
    for folder in range(folders):
        (lib / f"f{folder:02d}").mkdir(parents=True)
        for name in names:
            os.link(FACES / name, lib / f"f{folder:02d}" / name)
    files = folders * len(names)
    data = tmp / "data"
    db = data / "tagmyphotos.db"
    env = ks.app_env(lib, data)
    killed = 0
    for _ in range(kills):
        killed += ks.kill_round(["scan", "--wait"], env, rng, max_delay_s=2.0 + folders * 0.25).killed
        ks.database_ok(db)
    assert ks.run(["scan", "--wait"], env).returncode == 0
    assert ks.count(db, "SELECT count(*) FROM photo") == files
    assert ks.count(db, "SELECT count(DISTINCT path) FROM photo WHERE state = 'pending'") == files
    again = ks.run(["scan", "--wait", "--json"], env)
    assert json.loads(again.stdout)["job"]["result"]["unchanged"] == files
    return {"rounds": kills, "killed": killed}


def _confirm_people(lib: Path, data: Path) -> None:
    from tagmyphotos.review.confirm import confirm

    core = Core(make_config(lib, data))
    try:
        for n, name in enumerate(WRITE_FILES):
            face = m.Face.select().join(m.Photo).where(m.Photo.path == name).order_by(m.Face.x).first()
            confirm(core, [face.id], f"Person {n % 4}")
    finally:
        core.close()


def _written_or_original(lib: Path, data: Path, originals: dict[str, bytes]) -> dict[str, int]:
    """Every photo is its original, or fully written with its name, same pixels, good backup."""
    from tagmyphotos.jpeg import jpeg_image_digest
    from tagmyphotos.metadata.backups import BackupStore
    from tagmyphotos.metadata.exiftool import ExifToolSession
    from tagmyphotos.metadata.read import read_photo

    seen = {"original": 0, "written": 0}
    store = BackupStore(data / "backups", lib)
    with ExifToolSession(str(EXIFTOOL)) as session:
        for name in WRITE_FILES:
            photo = lib / name
            if photo.read_bytes() == originals[name]:
                seen["original"] += 1
                continue
            meta = read_photo(session, photo)
            assert not meta.error, f"{name} no longer reads: {meta.error}"
            assert meta.image_data_hash == jpeg_image_digest(FACES / name), f"{name}: pixels changed"
            assert any(n.startswith("Person ") for n in meta.person_names()), f"{name}: half written"
            record = store.get(photo)
            assert record is not None and Path(str(record.backup)).read_bytes() == originals[name], name
            seen["written"] += 1
    return seen


def write_cycle(tmp: Path, rng: random.Random, kills: int, template: tuple[Path, Path]) -> dict[str, int]:
    lib, data = tmp / "library", tmp / "data"
    shutil.copytree(template[0], lib)
    shutil.copytree(template[1], data)
    _confirm_people(lib, data)
    originals = {name: (lib / name).read_bytes() for name in WRITE_FILES}
    untouched = {p: d for p, d in ks.digests(lib).items() if p not in WRITE_FILES}
    db = data / "tagmyphotos.db"
    env = ks.app_env(lib, data)
    audit_sql = "SELECT count(*) FROM write_audit WHERE result = 'ok'"
    stats = {"rounds": 0, "killed": 0, "written_when_killed": 0}
    for _ in range(kills):
        kill = ks.kill_round(["write", "--wait"], env, rng, max_delay_s=6.0,
                             progress=lambda: ks.count(db, audit_sql), progress_total=len(WRITE_FILES))  # fmt: skip
        stats["rounds"] += 1
        stats["killed"] += kill.killed
        ks.database_ok(db)
        stats["written_when_killed"] += _written_or_original(lib, data, originals)["written"]
    done = ks.run(["write", "--wait", "--json"], env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _written_or_original(lib, data, originals)["written"] == len(WRITE_FILES)
    again = ks.run(["write", "--wait", "--json"], env)
    assert json.loads(again.stdout)["job"]["result"]["files"] == 0  # nothing is written twice
    leftovers = [p for p in ks.digests(lib) if p not in WRITE_FILES and p not in untouched]
    assert leftovers == [], f"temporary files left in the library: {leftovers}"
    restored = ks.run(["restore", "--all", "--wait"], env)
    assert restored.returncode == 0, restored.stderr[-2000:]
    assert {name: (lib / name).read_bytes() for name in WRITE_FILES} == originals
    return stats


def _report(name: str, stats: dict[str, int]) -> None:
    print(f"kill-figures: {json.dumps({'cycle': name, **stats})}")


def test_kill_9_during_analysis(tmp_path: Path, reference: dict) -> None:
    _report("analyze", analyze_cycle(tmp_path, random.Random(9), 3, reference))


def test_kill_9_during_scan(tmp_path: Path) -> None:
    _report("scan", scan_cycle(tmp_path, random.Random(19), 1))


def test_kill_9_during_bulk_write(tmp_path: Path, analysed_template: tuple[Path, Path]) -> None:
    _report("write", write_cycle(tmp_path, random.Random(29), 2, analysed_template))


@pytest.mark.slow
@pytest.mark.timeout(7200)
def test_kill_9_many_rounds(tmp_path: Path, reference: dict, analysed_template: tuple[Path, Path]) -> None:
    """~200 kills: 60% in analysis, 20% in scans, 20% in bulk writes, five per cycle."""
    rng = random.Random(int(os.environ.get("TMP_KILL_SEED", "10")))
    totals: dict[str, dict[str, int]] = {}
    plan = ["analyze"] * 3 + ["scan", "write"]
    cycle = 0
    while sum(t["rounds"] for t in totals.values()) < SLOW_ROUNDS:
        kind = plan[cycle % len(plan)]
        here = tmp_path / f"cycle{cycle}"
        if kind == "analyze":
            stats = analyze_cycle(here, rng, 5, reference)
        elif kind == "scan":
            stats = scan_cycle(here, rng, 5, folders=24)
        else:
            stats = write_cycle(here, rng, 5, analysed_template)
        shutil.rmtree(here, ignore_errors=True)
        for key, value in stats.items():
            totals.setdefault(kind, {}).setdefault(key, 0)
            totals[kind][key] += value
        cycle += 1
    for kind, stats in totals.items():
        _report(f"{kind} (slow)", stats)
