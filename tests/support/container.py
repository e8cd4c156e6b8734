"""Real Docker for the container suite: build the image once, run containers, talk to their API.

Why a module of small helpers and no mocks: the suite proves the image a user pulls, so every
step goes through the docker CLI, the container's published port and the host's file system.
`scripts/docker-setup` installs Docker, QEMU and nginx and starts the daemon on a fresh machine.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.base import ROOT

IMAGE = os.environ.get("TMP_TEST_IMAGE", "tagmyphotos:test")
BUILD_TIMEOUT_S = 40 * 60
ARM64_BUILD_TIMEOUT_S = 150 * 60  # every instruction of the build emulated: ~1 h on 2 shared cores
HEALTHY_TIMEOUT_S = 240
API_KEY = "tmp_test_" + secrets.token_hex(16)


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and out.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return out


def setup_docker(*arches: str) -> list[str]:
    """Docker, QEMU and nginx installed and running; the base image tag(s), amd64 first."""
    args = [a for arch in arches for a in ("--arch", arch)]
    out = subprocess.run([str(ROOT / "scripts" / "docker-setup"), *args], capture_output=True, text=True,
                         timeout=30 * 60, check=False)  # fmt: skip
    if out.returncode != 0:
        pytest.fail(f"scripts/docker-setup failed:\n{out.stderr[-3000:]}")
    return out.stdout.split()


def build_image(arch: str, tag: str, *build_args: str, timeout: float = BUILD_TIMEOUT_S) -> float:
    """scripts/docker-build (the documented command: base image + docker build of the checkout,
    layer cache reused) for one architecture; the seconds the build took."""
    cmd = [str(ROOT / "scripts" / "docker-build"), "--arch", arch, "-t", tag, "--", *build_args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if out.returncode != 0:
        pytest.fail(f"scripts/docker-build failed:\n{(out.stdout + out.stderr)[-5000:]}")
    return float(out.stdout.split()[-1])


def image_size_mb(tag: str = IMAGE) -> float:
    return int(docker("image", "inspect", "-f", "{{.Size}}", tag).stdout.strip()) / 1e6


@dataclass
class Container:
    """One running container of the image, its published port and its API."""

    name: str
    run_args: list[str]
    port: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)

    def start_new(self) -> None:
        """docker run (a new container from the image), port published on 127.0.0.1."""
        docker("rm", "-f", self.name, check=False)
        docker("run", "-d", "--name", self.name, "-p", "127.0.0.1::8765", *self.run_args, IMAGE)
        self._read_port()

    def _read_port(self) -> None:
        mapping = docker("port", self.name, "8765/tcp").stdout.split()[0]
        self.port = int(mapping.rsplit(":", 1)[1])

    def start(self) -> None:
        docker("start", self.name)
        self._read_port()

    def stop(self, grace_s: int) -> float:
        start = time.monotonic()
        docker("stop", "-t", str(grace_s), self.name, timeout=grace_s + 60)
        return time.monotonic() - start

    def remove(self) -> None:
        docker("rm", "-f", self.name, check=False)

    def state(self) -> dict[str, Any]:
        return json.loads(docker("inspect", "-f", "{{json .State}}", self.name).stdout)  # type: ignore[no-any-return]

    def logs(self) -> str:
        out = docker("logs", "--tail", "200", self.name, check=False)
        return out.stdout + out.stderr

    def wait_healthy(self, timeout_s: float = HEALTHY_TIMEOUT_S) -> float:
        """Seconds until Docker's HEALTHCHECK reports healthy (fails with the logs otherwise)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            state = self.state()
            health = (state.get("Health") or {}).get("Status")
            if health == "healthy":
                return time.monotonic() - start
            if not state.get("Running"):
                break
            time.sleep(2)
        raise AssertionError(f"{self.name} not healthy: {self.state()}\n{self.logs()[-4000:]}")

    def processes(self) -> list[tuple[int, int, str]]:
        """(uid, gid, command) of every process in the container, as the host sees them."""
        out = docker("top", self.name, "-eo", "pid,uid,gid,args").stdout.splitlines()[1:]
        rows = []
        for line in out:
            _pid, uid, gid, args = line.split(None, 3)
            rows.append((int(uid), int(gid), args))
        return rows

    # --- the REST API through the published port ---

    def api(self, method: str, path: str, body: Any = None, timeout: float = 60) -> Any:
        url = f"http://127.0.0.1:{self.port}/api/v1{path}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={"X-API-Key": API_KEY})
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from None
        return json.loads(raw) if raw else None

    def jobs(self, state: str) -> list[dict[str, Any]]:
        return self.api("GET", f"/jobs?state={state}&limit=100")["items"]  # type: ignore[no-any-return]

    def wait_idle(self, timeout_s: float) -> None:
        """Until no job is queued or running (the scan -> analyze -> match chain included)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.jobs("running") and not self.jobs("queued"):
                return
            time.sleep(2)
        raise AssertionError(f"jobs still busy after {timeout_s}s: {self.jobs('running') + self.jobs('queued')}")

    def wait_job(self, job_id: int, timeout_s: float, states: tuple[str, ...] = ("done",)) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        job: dict[str, Any] = {}
        while time.monotonic() < deadline:
            job = self.api("GET", f"/jobs/{job_id}")
            if job["state"] in ("done", "failed", "cancelled"):
                break
            time.sleep(1)
        assert job.get("state") in states, f"job {job_id}: {job}\n{self.logs()[-3000:]}"
        return job


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int
    mode: int


def owners(folder: Path) -> dict[str, Owner]:
    out = {}
    for path in sorted(folder.iterdir()):
        st = path.stat()
        out[path.name] = Owner(st.st_uid, st.st_gid, st.st_mode & 0o7777)
    return out


def running_container(name: str, run_args: list[str]) -> Iterator[Container]:
    box = Container(name, run_args)
    try:
        yield box
    finally:
        box.remove()


# --- the image's Python on another CPU: QEMU user mode -------------------------------------------

QEMU_X86 = "/usr/bin/qemu-x86_64-static"
# Analysis in one emulated process: a worker process would be exec'd natively, outside QEMU.
ANALYZE_SCRIPT = """
import contextlib, io, json, time
from tagmyphotos_app.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["scan", "--wait"]) == 0
start = time.monotonic()
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["analyze", "--wait"]) == 0
seconds = time.monotonic() - start
out = io.StringIO()
with contextlib.redirect_stdout(out):
    main(["status", "--json"])
status = json.loads(out.getvalue())
print(json.dumps({"analysed": status["photos"]["analysed"], "faces": status["faces"]["total"], "seconds": seconds}))
"""


@dataclass(frozen=True)
class Emulated:
    """How to run the image's Python on another CPU: docker run options and a command prefix."""

    options: tuple[str, ...]
    prefix: tuple[str, ...]


def no_avx_cpu(model: str = "Denverton-v2") -> Emulated:
    """x86-64 without AVX (an Atom C3000, a NAS CPU): Debian's static qemu mounted into the
    container. --init: as PID 1 QEMU would ignore the SIGILL it raises and hang; seccomp=unconfined:
    QEMU user mode needs system calls Docker's default profile refuses."""
    return Emulated(
        ("--init", "--security-opt", "seccomp=unconfined", "-v", f"{QEMU_X86}:{QEMU_X86}:ro", "--entrypoint", QEMU_X86),
        ("-cpu", model, "/app/.venv/bin/python"),
    )  # fmt: skip


# /proc/cpuinfo of a 2-core Cortex-A72 (Raspberry Pi 4 class). QEMU 7.2 user mode shows the
# host's x86 /proc/cpuinfo to arm64 programs; onnxruntime's cpuinfo library finds no "CPU part"
# in it and dereferences NULL while importing (SIGSEGV under emulation only: a real arm64
# kernel writes these lines), so the test mounts this one.
ARM64_CPUINFO = "".join(
    f"processor\t: {i}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
    "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n"
    for i in range(2)
)  # fmt: skip


def emulated_arm64() -> Emulated:
    """An arm64 image run through the host's binfmt_misc QEMU, with an arm64 /proc/cpuinfo.
    --init: a crash of PID 1 under QEMU would leave the container hanging instead of exiting."""
    cpuinfo = Path(tempfile.gettempdir()) / "tmp-test-arm64-cpuinfo"
    cpuinfo.write_text(ARM64_CPUINFO)
    mount = f"{cpuinfo}:/proc/cpuinfo:ro"
    return Emulated(("--init", "--platform", "linux/arm64", "-v", mount, "--entrypoint", "/app/.venv/bin/python"), ())


def run_python(image: str, how: Emulated, args: list[str], mounts: tuple[str, ...] = (),
               timeout: float = 1800) -> subprocess.CompletedProcess[str]:  # fmt: skip
    env = ("-e", "TAGMYPHOTOS_DATA=/tmp/data", "-e", "TAGMYPHOTOS_ANALYSIS__WORKERS=1",
           "-e", "TAGMYPHOTOS_ANALYSIS__EXECUTOR=thread", "-e", "TAGMYPHOTOS_SCAN__INTERVAL_MINUTES=0")  # fmt: skip
    cmd = ["run", "--rm", *how.options, *env, *[a for m in mounts for a in ("-v", m)], image, *how.prefix, *args]
    return docker(*cmd, timeout=timeout, check=False)


def last_json(out: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    assert out.returncode == 0 and lines, f"exit {out.returncode}:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return json.loads(lines[-1])  # type: ignore[no-any-return]
