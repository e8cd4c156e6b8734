"""The one launcher of the real app (`tagmyphotos serve`) in a subprocess on a free port, for the
tests that need the whole process (its huey consumer threads, its signal handling, its log) and
for `scripts/bench load`.

Why one: "start serve, poll /healthz, stop" was written six times with different timeouts,
clients and ways to stop; a slow start on the loaded test machine failed one copy and not
another. Here there is one start timeout, one poll, one stop (the process group: SIGTERM, then
SIGKILL), and the log's tail in the error when the server does not come up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tagmyphotos_lab.paths import EXIFTOOL, ROOT
from tagmyphotos_lab.servers import free_port

START_TIMEOUT_S = 120  # a cold start on two shared, loaded cores (imports, migrations, NiceGUI)
STOP_TIMEOUT_S = 20
POLL_S = 0.3
API_KEY = "tmpk_test-key-for-the-real-server-0123456789"


class ServerDidNotStart(RuntimeError):
    """`tagmyphotos serve` exited or did not answer /healthz in time; the message ends with its log."""


@dataclass
class App:
    base: str
    proc: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def client(self, key: str | None = API_KEY) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"X-API-Key": key} if key else {}, timeout=30)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def clean_environ() -> dict[str, str]:
    """This process's environment without settings of its own: no TAGMYPHOTOS_*, and no PYTEST_*
    or NICEGUI_* (NiceGUI takes a process with PYTEST_CURRENT_TEST for its own screen test)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("TAGMYPHOTOS_", "PYTEST", "NICEGUI"))}


def app_env(library: Path, data: Path, **settings: str) -> dict[str, str]:
    """The environment of a server on `library` and `data` with the periodic scan off (a test or a
    benchmark starts its scans itself); `settings` (TAGMYPHOTOS_*) last."""
    return periodic_scan_env(library, data, **{"TAGMYPHOTOS_SCAN__INTERVAL_MINUTES": "0", **settings})


def periodic_scan_env(library: Path, data: Path, **settings: str) -> dict[str, str]:
    """The same with the periodic scan as configured (on by default, as a user's first start has it):
    no config file, this checkout's code, the pinned exiftool; `settings` last."""
    env = clean_environ()
    env.update(
        TAGMYPHOTOS_CONFIG=str(data.parent / "none.yaml"), TAGMYPHOTOS_LIBRARY=str(library),
        TAGMYPHOTOS_DATA=str(data), PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )  # fmt: skip
    if EXIFTOOL.exists():
        env["TAGMYPHOTOS_WRITE__EXIFTOOL"] = str(EXIFTOOL)
    env.update(settings)
    return env


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll `url` (a /healthz) until it answers 200; raise with the log's tail if `proc` exits first
    or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url, timeout=2, verify=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            state = f"exited with {proc.returncode}" if proc.poll() is not None else f"no answer in {timeout_s:.0f} s"
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise ServerDidNotStart(f"{url}: {state}\n{tail}")
        time.sleep(POLL_S)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (its workers and exiftools too), SIGKILL if it lingers.
    A process not started in a session of its own (start_new_session) is signalled alone."""
    own_group = _leads_group(proc)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        _signal(proc, sig, own_group)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            continue
    if own_group:
        _signal(proc, signal.SIGKILL, own_group)  # anything the server left behind in its group
    proc.wait()


def _leads_group(proc: subprocess.Popen[bytes]) -> bool:
    try:
        return os.getpgid(proc.pid) == proc.pid
    except ProcessLookupError:
        return False


def _signal(proc: subprocess.Popen[bytes], sig: int, own_group: bool) -> None:
    with contextlib.suppress(ProcessLookupError):
        if own_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)


@contextlib.contextmanager
def run_server(env: dict[str, str], cwd: Path, log: Path | None = None) -> Iterator[App]:
    """`tagmyphotos serve` with `env` on a free port, run in `cwd`, until the block ends; its output
    goes to `log` (default: cwd/serve-PORT.log)."""
    port = free_port()
    log = log or cwd / f"serve-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tagmyphotos_app", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True,
        )  # fmt: skip
    app = App(f"http://127.0.0.1:{port}", proc, log, env)
    try:
        wait_healthy(app.base + "/healthz", proc, log)
        yield app
    finally:
        stop(proc)


@contextlib.contextmanager
def serve(library: Path, data: Path, **settings: str) -> Iterator[App]:
    """Serve `library` with `data` (the periodic scan off, the test API key); `settings` adds or
    overrides TAGMYPHOTOS_* variables. The log is data's sibling serve-PORT.log."""
    data.mkdir(parents=True, exist_ok=True)
    env = app_env(library, data, TAGMYPHOTOS_AUTH__API_KEY=API_KEY, **settings)
    with run_server(env, cwd=data.parent) as app:
        yield app
