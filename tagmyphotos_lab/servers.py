"""Real redis-server and PostgreSQL servers for the scale-out tests, started from the Debian
packages (scripts/install.sh --test installs them) in throwaway folders on free ports.

Each start function raises ServerUnavailable with the reason when the server cannot be
started here (package missing, no user to run PostgreSQL as); the fixtures turn that into a
skip, so the suite stays green on a machine without them.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Seconds a server may take to accept connections after start.
START_TIMEOUT_S = 30


class ServerUnavailable(RuntimeError):
    """This machine cannot run the server (the reason is the message)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerUnavailable(f"{what} exited with status {proc.returncode} at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise ServerUnavailable(f"{what} did not accept connections within {START_TIMEOUT_S} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@dataclass
class Redis:
    port: int
    proc: subprocess.Popen[bytes]
    folder: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_redis() -> Redis:
    exe = shutil.which("redis-server")
    if exe is None:
        raise ServerUnavailable("redis-server is not installed (apt-get install redis-server)")
    folder = Path(tempfile.mkdtemp(prefix="tmp-redis-"))
    port = free_port()
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(folder), "--logfile", str(folder / "redis.log")]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, proc, "redis-server")
    except ServerUnavailable:
        _stop(proc)
        raise
    return Redis(port, proc, folder)


@dataclass
class Postgres:
    port: int
    proc: subprocess.Popen[bytes]
    folder: Path
    database: str = "tagmyphotos"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def stop(self) -> None:
        _stop(self.proc)
        shutil.rmtree(self.folder, ignore_errors=True)


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise ServerUnavailable("PostgreSQL is not installed (apt-get install postgresql)")
    return Path(found[-1]).parent


def _as_postgres_user() -> tuple[list[str], int | None]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` system user."""
    if os.geteuid() != 0:
        return [], None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailable("running as root, and no 'postgres' user to run PostgreSQL as") from None
    prefix = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]
    return prefix, user.pw_uid


def start_postgres() -> Postgres:
    bindir = _pg_bin()
    prefix, uid = _as_postgres_user()
    folder = Path(tempfile.mkdtemp(prefix="tmp-pg-"))
    data = folder / "data"
    if uid is not None:
        os.chown(folder, uid, -1)
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
    init = subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--no-sync"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise ServerUnavailable(f"initdb failed: {init.stderr.strip()[-300:]}")
    port = free_port()
    args = [*prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
            "-k", str(folder), "-c", "fsync=off", "-c", "max_connections=100"]  # fmt: skip
    log = open(folder / "postgres.log", "wb")  # noqa: SIM115 (lives as long as the server)
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()
    try:
        _wait_port(port, proc, "postgres")
        _psql(bindir, port, "postgres", "CREATE DATABASE tagmyphotos")
    except ServerUnavailable:
        _stop(proc)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Postgres(port, proc, folder)


def _psql(bindir: Path, port: int, database: str, sql: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:  # the port opens a moment before the server accepts logins
        out = subprocess.run(
            [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
             "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise ServerUnavailable(f"psql failed: {out.stderr.strip()[-300:]}")
        time.sleep(0.2)


def new_database(pg: Postgres, name: str) -> str:
    """A fresh, empty database on the server; returns its URL."""
    _psql(_pg_bin(), pg.port, "postgres", f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres@127.0.0.1:{pg.port}/{name}"
