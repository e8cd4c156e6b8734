"""serve + worker processes on a shared database and queue, as a user who outgrew one box runs
them (the scale-out suites): started, watched, asked through the REST API, stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tagmyphotos.config import load_config
from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tagmyphotos.system import auth
from tagmyphotos_lab.servers import free_port
from tests.support.base import EXIFTOOL, ROOT

# Seconds for the whole pipeline on 64 photos with three processes on a shared 2-core machine.
PIPELINE_TIMEOUT_S = 600
FINAL = (m.JobState.DONE, m.JobState.FAILED, m.JobState.CANCELLED)


class Topology:
    """serve + workers as real processes; this test process reads the shared database."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.env, self.tmp = env, tmp
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.port = int(env["TAGMYPHOTOS_PORT"])
        self.core = Core(load_config(path=tmp / "absent.yaml", environ=env))  # creates the schema
        _, self.key = auth.create_api_key("scale-out test", auth.SCOPE_FULL)
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.port}/api/v1", timeout=60,
                                 headers={"X-API-Key": self.key})  # fmt: skip

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115
        # no PYTEST_*: NiceGUI takes a process with PYTEST_CURRENT_TEST for its own screen test
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TAGMYPHOTOS_", "PYTEST"))}
        proc = subprocess.Popen([sys.executable, "-m", "tagmyphotos_app", *args], cwd=ROOT,
                                env={**base, **self.env}, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        log.close()
        self.procs[name] = proc
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n" + (self.tmp / f"{n}.log").read_text()[-3000:] for n in self.procs)

    def wait_until(self, what: str, check: Any, timeout_s: float = PIPELINE_TIMEOUT_S) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if result := check():
                return result
            dead = [n for n, p in self.procs.items() if p.poll() is not None and n != "victim"]
            assert not dead, f"{dead} exited while waiting for {what}:\n{self.logs()}"
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}:\n{self.logs()}")

    def api(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.http.request(method, path, **kw)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def settled(self) -> bool:
        """Every job finished and nothing queued behind them."""
        jobs = list(m.Job.select())
        return bool(jobs) and all(j.state in FINAL for j in jobs)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.http.close()
        self.core.close()


def scaleout_env(tmp: Path, library: Path, database_url: str, redis_url: str, **more: str) -> dict[str, str]:
    """The environment every process of a scale-out topology shares (PostgreSQL, Redis, one
    library and data folder, a free port for serve, one analysis process each)."""
    return {
        "TAGMYPHOTOS_CONFIG": str(tmp / "absent-config.yaml"),
        "TAGMYPHOTOS_LIBRARY": str(library),
        "TAGMYPHOTOS_DATA": str(tmp / "data"),
        "TAGMYPHOTOS_SCAN__INTERVAL_MINUTES": "0",
        "TAGMYPHOTOS_DATABASE_URL": database_url,
        "TAGMYPHOTOS_QUEUE__BACKEND": "redis",
        "TAGMYPHOTOS_REDIS_URL": redis_url,
        "TAGMYPHOTOS_HOST": "127.0.0.1",
        "TAGMYPHOTOS_PORT": str(free_port()),
        "TAGMYPHOTOS_ANALYSIS__WORKERS": "1",  # three processes on two shared cores
        "TAGMYPHOTOS_WRITE__EXIFTOOL": str(EXIFTOOL),
        **more,
    }


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
