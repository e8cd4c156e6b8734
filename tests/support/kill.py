"""kill -9 of the whole app (its process group: the CLI, analysis workers, exiftool) at random
points, and the checks that must hold after each kill. Used by tests/reliability/test_reliability_kill.py.

A round starts `python -m tagmyphotos_app <command> --wait` in its own session and SIGKILLs the
group either after a random delay or when the database shows a random amount of progress (so
kills land inside commits, not only during start-up).
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tagmyphotos.core import Core
from tagmyphotos.geometry import iou
from tagmyphotos.store import claims
from tagmyphotos.store import models as m
from tagmyphotos_lab import appserver
from tests.support import dbtarget
from tests.support.base import ROOT, make_config

# Poll the database this often while waiting for the progress that triggers a kill (s).
POLL_S = 0.02
# A command that has not finished by then is a hang: fail instead of waiting forever (s).
COMMAND_TIMEOUT_S = 300


def app_env(lib: Path, data: Path, **extra: str) -> dict[str, str]:
    """The server's environment (tagmyphotos_lab.appserver) on this run's database target."""
    return appserver.app_env(lib, data, **{**dbtarget.database_env(data), **extra})


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tagmyphotos_app", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # one process group: the kill takes workers and exiftool too
    )


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command to its end (the recovery run)."""
    return subprocess.run(
        [sys.executable, "-m", "tagmyphotos_app", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )


def count(db: Path, sql: str) -> int:
    """One number from the app's database, read without taking part in its locking for long."""
    if not db.exists():
        return 0
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
    try:
        return int(con.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # tables not created yet, or busy: no progress seen
        return 0
    finally:
        con.close()


@dataclass
class Kill:
    command: str
    mode: str  # time | progress
    at: float  # seconds after start, or the progress count waited for
    killed: bool  # False when the command finished first
    seconds: float


def kill_round(
    args: list[str],
    env: dict[str, str],
    rng: random.Random,
    max_delay_s: float,
    progress: Callable[[], int] | None = None,
    progress_total: int = 0,
) -> Kill:
    """Start the command and SIGKILL its whole process group at a random point."""
    mode = "progress" if progress is not None and progress_total and rng.random() < 0.6 else "time"
    target = rng.randint(0, max(0, progress_total - 1)) if mode == "progress" else rng.uniform(0.2, max_delay_s)
    began = time.monotonic()
    proc = start(args, env)
    deadline = began + COMMAND_TIMEOUT_S
    while proc.poll() is None and time.monotonic() < deadline:
        elapsed = time.monotonic() - began
        if mode == "time" and elapsed >= target:
            break
        if mode == "progress" and progress is not None and progress() >= target:
            time.sleep(rng.uniform(0.0, 0.3))  # somewhere inside the next photo or commit
            break
        time.sleep(POLL_S)
    killed = proc.poll() is None
    if killed:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    _reap_group(proc.pid)
    return Kill(args[0], mode, round(target, 3), killed, round(time.monotonic() - began, 2))


def _reap_group(pgid: int) -> None:
    """Wait until no process of the killed group is left (workers die with their parent)."""
    for _ in range(200):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def database_ok(db: Path) -> None:
    """The database opens, passes SQLite's own checks and has no dangling references."""
    if not db.parent.exists():
        return  # killed before the data folder was made: nothing was written yet
    con = sqlite3.connect(str(db), timeout=30)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()


def digests(lib: Path) -> dict[str, str]:
    return {
        str(p.relative_to(lib)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(lib.rglob("*"))
        if p.is_file()
    }


# --- what every photo's faces must look like after the kills ---------------------------------
# Two boxes of one photo overlapping this much are one face stored twice.
DUPLICATE_IOU = 0.5


def faces_by_path(db: Path) -> dict[str, list[tuple[int, int, int, int]]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT p.path, f.x, f.y, f.w, f.h FROM face f JOIN photo p ON p.id = f.photo_id")
        out: dict[str, list[tuple[int, int, int, int]]] = {}
        for path, *box in rows:
            out.setdefault(path, []).append(tuple(box))  # type: ignore[arg-type]
        return out
    finally:
        con.close()


def no_duplicates(faces: dict[str, list[tuple[int, int, int, int]]]) -> None:
    for path, boxes in faces.items():
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert iou(a, b) < DUPLICATE_IOU, f"{path}: a face stored twice ({a} and {b})"


def reap_dead_claims(lib: Path, data: Path) -> int:
    """What housekeeping does once PHOTO_CLAIM_LEASE_S has passed: photos held by the killed
    run go back to pending (simulated by reaping with the lease already over)."""
    core = Core(make_config(lib, data))
    try:
        return claims.reap_photos(lease_s=0, now=m.utcnow())
    finally:
        core.close()
