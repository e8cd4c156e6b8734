"""scripts/bench load [--clients 50] [--seconds 60]: the real server under many clients while a
bulk analysis runs.

Starts `python -m tagmyphotos_app serve` on 127.0.0.1 (never another interface; tagmyphotos_lab.appserver) over a
throwaway library (the test photos hard-linked into folders), scans it, starts the analysis
through the API, then measures in the same run: a baseline of 1 client for --baseline-seconds,
then --clients concurrent clients for --seconds, each looping over a mix of API reads, review
writes (confirm / unassign a face) and UI pages. Reports p50/p95 latency, errors (5xx,
timeouts, refused connections), database-locked failures (503 "locked" answers and "database
is locked" lines in the server log) and the analysis throughput in each phase; load figures
are ratios to the 1-client baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tagmyphotos_lab.appserver import App, app_env, run_server
from tagmyphotos_lab.benchlib import FACES_DIR, ROOT, emit, print_table

# The request mix: (weight, kind). UI pages are NiceGUI renders: the heaviest GETs.
MIX = [
    (20, "photos"),
    (10, "photo"),
    (15, "faces"),
    (8, "thumb"),
    (4, "preview"),
    (8, "stats"),
    (6, "jobs"),
    (6, "people"),
    (5, "confirm"),
    (5, "unassign"),
    (3, "health"),
    (5, "ui"),
    (5, "ui_people"),
]
REQUEST_TIMEOUT_S = 30.0
UI_PAGES = ("/", "/people", "/jobs", "/unknown", "/settings")


@dataclass
class Phase:
    name: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    locked: int = 0
    analysed: int = 0
    seconds: float = 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    def row(self) -> list[object]:
        n = len(self.latencies) + len(self.errors)
        return [self.name, self.clients, n, round(n / self.seconds, 1) if self.seconds else 0, round(self.pct(0.5), 1),
                round(self.pct(0.95), 1), round(self.pct(0.99), 1), len(self.errors), self.locked,
                round(self.analysed / self.seconds * 60, 1) if self.seconds else 0]  # fmt: skip


def build_library(lib: Path, photos: int) -> None:
    sources = sorted(FACES_DIR.glob("*.jpg"))
    for n in range(photos):
        folder = lib / f"batch{n // len(sources):02d}"
        folder.mkdir(parents=True, exist_ok=True)
        os.link(sources[n % len(sources)], folder / sources[n % len(sources)].name)


def done_count(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(con.execute("SELECT count(*) FROM photo WHERE state = 'done'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


class Load:
    def __init__(self, base: str, key: str, session: str, photo_ids: list[int], face_ids: list[int]) -> None:
        self.base, self.photo_ids, self.face_ids = base, photo_ids, face_ids
        self.headers = {"X-API-Key": key}
        self.cookies = {"tagmyphotos_session": session}
        self.kinds = [k for w, k in MIX for _ in range(w)]

    def request(self, rng: random.Random) -> tuple[str, str, dict]:
        kind = rng.choice(self.kinds)
        pid, fid = rng.choice(self.photo_ids), rng.choice(self.face_ids)
        api: dict = {"headers": self.headers}
        requests: dict[str, tuple[str, str, dict]] = {
            "photos": ("GET", f"/api/v1/photos?limit=50&offset={rng.randrange(0, len(self.photo_ids))}", api),
            "photo": ("GET", f"/api/v1/photos/{pid}", api),
            "faces": ("GET", f"/api/v1/faces?limit=50&offset={rng.randrange(0, max(1, len(self.face_ids)))}", api),
            "thumb": ("GET", f"/api/v1/faces/{fid}/thumb", api),
            "preview": ("GET", f"/api/v1/photos/{pid}/preview?size=256", api),
            "stats": ("GET", "/api/v1/stats", api),
            "jobs": ("GET", "/api/v1/jobs?limit=20", api),
            "people": ("GET", "/api/v1/people", api),
            "confirm": ("POST", "/api/v1/faces/confirm", {**api, "json": {"face_ids": [fid], "name": "Load Test"}}),
            "unassign": ("POST", "/api/v1/faces/unassign", {**api, "json": {"face_ids": [fid]}}),
            "health": ("GET", "/healthz", {}),
            "ui": ("GET", rng.choice(UI_PAGES), {"cookies": self.cookies}),
            "ui_people": ("GET", "/people", {"cookies": self.cookies}),
        }
        return requests[kind]

    async def client(self, http: httpx.AsyncClient, phase: Phase, until: float, seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < until:
            method, url, kw = self.request(rng)
            cookies = kw.pop("cookies", None)
            started = time.monotonic()
            try:
                if cookies:
                    http.cookies.set("tagmyphotos_session", cookies["tagmyphotos_session"])
                resp = await http.request(method, url, **kw)
                elapsed = time.monotonic() - started
                if resp.status_code >= 500 or resp.status_code in (401, 403, 404, 405, 422):
                    phase.errors.append(f"{method} {url} {resp.status_code}")
                    if "locked" in resp.text:
                        phase.locked += 1
                else:
                    phase.latencies.append(elapsed)
            except httpx.HTTPError as exc:
                phase.errors.append(f"{method} {url} {type(exc).__name__}")

    async def run(self, phase: Phase, seconds: float, db: Path) -> None:
        limits = httpx.Limits(max_connections=phase.clients, max_keepalive_connections=phase.clients)
        async with httpx.AsyncClient(base_url=self.base, limits=limits, timeout=REQUEST_TIMEOUT_S) as http:
            before, started = done_count(db), time.monotonic()
            until = started + seconds
            await asyncio.gather(*(self.client(http, phase, until, n) for n in range(phase.clients)))
            phase.seconds = time.monotonic() - started
            phase.analysed = done_count(db) - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50, at most 200)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the loaded phase")
    parser.add_argument("--baseline-seconds", type=float, default=15.0, help="length of the 1-client phase")
    parser.add_argument("--photos", type=int, default=640, help="library size: enough to outlast both phases")
    parser.add_argument("--keep", action="store_true", help="keep the temporary library and data")
    args = parser.parse_args()
    if not 1 <= args.clients <= 200 or not 1 <= args.seconds <= 600:
        parser.error("bounded: 1-200 clients, 1-600 seconds")
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    lib, data = tmp / "library", tmp / "data"
    build_library(lib, args.photos)
    password = "bench-" + os.urandom(8).hex()
    env = app_env(lib, data, TAGMYPHOTOS_PASSWORD=password)
    subprocess.run([sys.executable, "-m", "tagmyphotos_app", "scan", "--wait"], env=env, cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    key, session, photo_ids = _credentials(env, lib, data)
    try:
        with run_server(env, cwd=ROOT, log=tmp / "server.log") as app:
            phases, still_running, server_locked = _measure(app, args, Load(app.base, key, session, photo_ids, []))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    base_p, load_p = phases
    print_table(["phase", "clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "locked",
                 "photos analysed/min"], [p.row() for p in phases])  # fmt: skip
    for p in phases:
        for err in sorted(set(p.errors))[:10]:
            print(f"  {p.name} error: {err} (x{p.errors.count(err)})")
    print(f"analysis still running at the end: {still_running}; 'database is locked' in the server log: "
          f"{server_locked}")  # fmt: skip
    ratio = lambda a, b: round(a / b, 2) if b else None  # noqa: E731
    emit({
        "clients": args.clients, "seconds": round(load_p.seconds, 1), "requests": len(load_p.latencies),
        "errors": len(load_p.errors), "db_locked": load_p.locked + server_locked,
        "p50_ms": round(load_p.pct(0.5), 1), "p95_ms": round(load_p.pct(0.95), 1),
        "baseline_p50_ms": round(base_p.pct(0.5), 1), "baseline_p95_ms": round(base_p.pct(0.95), 1),
        "p50_vs_baseline": ratio(load_p.pct(0.5), base_p.pct(0.5)),
        "p95_vs_baseline": ratio(load_p.pct(0.95), base_p.pct(0.95)),
        "throughput_vs_baseline": ratio(len(load_p.latencies) / load_p.seconds, len(base_p.latencies) / base_p.seconds),
        "analysis_per_min_vs_baseline": ratio(load_p.analysed / load_p.seconds, base_p.analysed / base_p.seconds),
        "analysis_ran_throughout": still_running,
    })  # fmt: skip
    return 0 if not load_p.errors and not (load_p.locked + server_locked) else 1


def _measure(app: App, args: argparse.Namespace, load: Load) -> tuple[list[Phase], bool, int]:
    """Start the analysis through the API, then the 1-client and the loaded phase while it runs."""
    db = Path(app.env["TAGMYPHOTOS_DATA"]) / "tagmyphotos.db"
    job = httpx.post(app.base + "/api/v1/jobs", json={"type": "analyze"}, headers=load.headers,
                     timeout=30)  # fmt: skip
    job.raise_for_status()
    deadline = time.monotonic() + 300
    while done_count(db) < 16 and time.monotonic() < deadline:  # faces to review exist
        time.sleep(0.5)
    load.face_ids = _face_ids(db)
    phases = [Phase("baseline", 1), Phase("load", args.clients)]
    asyncio.run(load.run(phases[0], args.baseline_seconds, db))
    asyncio.run(load.run(phases[1], args.seconds, db))
    still_running = done_count(db) < args.photos
    return phases, still_running, app.log.read_text(errors="replace").count("database is locked")


def _credentials(env: dict[str, str], lib: Path, data: Path) -> tuple[str, str, list[int]]:
    """An API key, a UI session cookie and the photo ids, made on the server's database."""
    from tagmyphotos.config import load_config
    from tagmyphotos.core import Core
    from tagmyphotos.store import models as m
    from tagmyphotos.system import auth

    core = Core(load_config(path=Path(env["TAGMYPHOTOS_CONFIG"]), environ=env))
    try:
        _, key = auth.create_api_key("bench load")
        auth.sync_configured_password(core.cfg)
        session = auth.make_session(core.cfg)
        ids = [p.id for p in m.Photo.select(m.Photo.id)]
    finally:
        core.close()
    return key, session, ids


def _face_ids(db: Path) -> list[int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return [int(r[0]) for r in con.execute("SELECT id FROM face ORDER BY id LIMIT 200")] or [1]
    finally:
        con.close()


if __name__ == "__main__":
    sys.exit(main())
