"""One persistent exiftool process per worker, driven through pyexiftool's stay-open mode.

Why not a plain `exiftool` call per photo: starting Perl and ExifTool costs 250-400 ms, a
command to a running process ~10 ms. Why not pyexiftool's own `execute`: it loops forever if
exiftool dies mid-command (EOF is never detected) and reads stdout before stderr, which can
deadlock on a chatty file. So pyexiftool starts and stops the process, and `run` here speaks
the same `-execute{N}` protocol with a deadline, EOF detection and both pipes read together.

Safety: in stay-open mode every argument is one line on exiftool's stdin, so a newline inside
a value would start a new argument (the argument-injection bug another photo tool had). `run`
refuses any argument containing a line break or NUL; file paths must be absolute so none can
be read as an option.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import exiftool  # pyexiftool

from tagmyphotos.errors import TagMyPhotosError

# One exiftool command (read, write or verify of one photo) must answer within this many
# seconds, else the process is killed and restarted: a 100-MP TIFF takes ~2 s on a NAS core.
EXIFTOOL_TIMEOUT_S = 60.0

# ImageDataHash, our proof that the image data is untouched, needs ExifTool >= 12.58.
MIN_EXIFTOOL_VERSION = (12, 58)
_FORBIDDEN_IN_ARGS = ("\n", "\r", "\x00")
# `exiftool -ver` before each start must answer within this (s): a cold Perl start on a busy NAS.
PREFLIGHT_TIMEOUT_S = 30.0
_PREFLIGHT_PASSED: set[tuple[str, int, int, int]] = set()  # executables that answered -ver


class ExifToolError(TagMyPhotosError, RuntimeError):
    """exiftool is missing, too old, died, timed out, or refused a command."""


class UnsafeArgument(TagMyPhotosError, ValueError):
    """An argument that could be split into several exiftool arguments (line break, NUL)."""


def default_executable() -> str:
    """The ExifTool shipped in the virtualenv (scripts/install.sh), else the one on PATH."""
    bundled = Path(sys.prefix) / "opt" / "exiftool" / "exiftool"
    if bundled.is_file():
        return str(bundled)
    found = shutil.which("exiftool")
    return found or str(bundled)


def check_arg(arg: str) -> str:
    """Refuse an argument exiftool would split; return it unchanged otherwise."""
    if any(ch in arg for ch in _FORBIDDEN_IN_ARGS):
        raise UnsafeArgument(f"refused an exiftool argument containing a line break or NUL: {arg[:60]!r}")
    return arg


def path_arg(path: Path | str) -> str:
    """A file argument: absolute (so it can never look like an option) and single-line."""
    p = Path(path)
    if not p.is_absolute():
        p = p.resolve()
    text = str(p)
    if any(ch in text for ch in _FORBIDDEN_IN_ARGS):
        raise UnsafeArgument(f"cannot pass a file name containing a line break to exiftool: {text!r}")
    return text


@dataclass(frozen=True)
class RunResult:
    stdout: str
    stderr: str
    status: int  # exiftool exit status: 0 ok, 1 error, 2 -if condition failed


def loads_exact(text: str) -> Any:
    """JSON with numbers kept as their exact text ("0.100" stays "0.100", "007" stays "007")."""
    return json.loads(text, parse_float=str, parse_int=str)


class ExifToolSession:
    """A running exiftool for one worker. Not thread-safe: one caller at a time. The process
    dies with the THREAD that started it (pyexiftool sets PR_SET_PDEATHSIG on Linux), so
    start it in a thread that outlives its use."""

    def __init__(self, executable: str | Path | None = None, timeout_s: float = EXIFTOOL_TIMEOUT_S):
        self.executable = str(executable or default_executable())
        self.timeout_s = timeout_s
        self._et: exiftool.ExifTool | None = None
        self.version = ""
        self.commands = 0
        self._queued: list[int] = []  # tickets sent and not yet answered, in exiftool's order
        self._answers: dict[int, RunResult] = {}  # answered, not yet collected
        self._lost: dict[int, str] = {}  # tickets whose process died: why
        self._buffers: dict[int, bytearray] = {}  # pipe bytes read past the last answer

    def __enter__(self) -> ExifToolSession:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _alive(self) -> bool:
        with warnings.catch_warnings():  # pyexiftool warns when it finds its process dead
            warnings.simplefilter("ignore")
            return self._et is not None and bool(self._et.running)

    def start(self) -> None:
        if self._alive():
            return
        if not Path(self.executable).is_file():
            raise ExifToolError(f"exiftool not found at {self.executable} (set write.exiftool in the config)")
        self._preflight()
        et = exiftool.ExifTool(executable=self.executable, common_args=[])
        try:
            et.run()
        except Exception as exc:
            raise ExifToolError(f"cannot start exiftool at {self.executable}: {exc}") from exc
        self._et = et
        self.version = str(et.version)
        try:
            parts = tuple(int(p) for p in self.version.split(".")[:2])
        except ValueError:
            parts = (0, 0)
        if parts < MIN_EXIFTOOL_VERSION:
            self.close()
            need = ".".join(map(str, MIN_EXIFTOOL_VERSION))
            raise ExifToolError(
                f"ExifTool {self.version} is too old: {need} or newer is needed to verify that the "
                "image data is unchanged (ImageDataHash); install a current ExifTool"
            )

    def _preflight(self) -> None:
        """Run `exiftool -ver` first: pyexiftool's start-up read loops forever when the program
        dies at once (a crash, a broken Perl), which would hang the whole job. Once per
        executable file (as it is on disk) and process: it costs a Perl start (~50 ms)."""
        st = Path(self.executable).stat()
        identity = (self.executable, st.st_size, st.st_mtime_ns, st.st_ino)
        if identity in _PREFLIGHT_PASSED:
            return
        try:
            done = subprocess.run([self.executable, "-ver"], capture_output=True, timeout=PREFLIGHT_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ExifToolError(f"cannot start exiftool at {self.executable}: {exc}") from exc
        if done.returncode != 0 or not done.stdout.strip():
            how = f"killed by signal {-done.returncode}" if done.returncode < 0 else f"exit code {done.returncode}"
            raise ExifToolError(
                f"exiftool at {self.executable} does not run ({how}); reinstall it or fix write.exiftool"
            )
        _PREFLIGHT_PASSED.add(identity)

    def close(self) -> None:
        self._forget_queued("the exiftool session was closed")
        et, self._et = self._et, None
        if et is None:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if et.running:
                    et.terminate(timeout=5)
        except Exception:  # a dead process is closed too
            self._kill(et)

    @property
    def pid(self) -> int | None:
        proc = getattr(self._et, "_process", None)
        return proc.pid if proc is not None else None

    @staticmethod
    def _kill(et: exiftool.ExifTool) -> None:
        proc = getattr(et, "_process", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        with contextlib.suppress(Exception):
            et._flag_running_false()

    def run(self, args: Sequence[str]) -> RunResult:
        """Execute one exiftool command (the arguments of one command line) and wait for it."""
        return self.run_batch([args])[0]

    def run_batch(self, commands: Sequence[Sequence[str]]) -> list[RunResult]:
        """Send several commands at once and wait for their results, in order."""
        tickets = self.submit(commands)
        try:
            return [self.collect(t) for t in tickets]
        finally:
            for t in tickets:
                self._lost.pop(t, None)

    def submit(self, commands: Sequence[Sequence[str]]) -> list[int]:
        """Queue commands without waiting; returns one ticket per command for `collect`.

        exiftool runs them in order while the caller does other work (a bulk write backs up
        the next photo while exiftool writes this one). The caller keeps few commands queued:
        each answer waits in a pipe until collected."""
        for args in commands:
            for a in args:
                check_arg(a)
        proc = None if self._et is None else self._et._process
        if self._et is not None and (proc is None or proc.poll() is not None):
            # Died since the last command: what was queued to it is lost, not waited for on
            # the next process (it would never answer those tickets).
            self._abandon("exiftool had exited")
        self.start()
        assert self._et is not None and self._et._process is not None
        proc = self._et._process
        tickets = [self._new_ticket() for _ in commands]
        lines: list[str] = []
        for args, n in zip(commands, tickets, strict=True):
            lines += [*args, "-echo4", f"=${{status}}=post{n}", f"-execute{n}"]
        try:
            proc.stdin.write(("\n".join(lines) + "\n").encode("utf-8"))
            proc.stdin.flush()
        except OSError as exc:
            self._abandon(f"exiftool failed during a command: {exc}")
            raise ExifToolError(f"exiftool failed during a command: {exc}") from exc
        self._queued += tickets
        self.commands += len(commands)
        return tickets

    def _new_ticket(self) -> int:
        """Random (a photo's own text cannot forge the end marker of a command it cannot
        predict), six digits (no marker is a prefix of another) and not in use."""
        while True:
            n = 100000 + secrets.randbelow(900000)
            if n not in self._queued and n not in self._answers and n not in self._lost:
                return n

    def collect(self, ticket: int) -> RunResult:
        """The result of a submitted command; answers queued before it are read and kept."""
        while ticket not in self._answers:
            if ticket in self._lost:
                raise ExifToolError(self._lost.pop(ticket))
            if not self._queued or self._et is None or self._et._process is None:
                raise ExifToolError(f"no exiftool command {ticket} is waiting for an answer")
            n = self._queued[0]
            try:
                self._answers[n] = self._collect(self._et._process, self._buffers, n)
            except (OSError, ExifToolError) as exc:
                self._abandon(f"exiftool failed during a command: {exc}")
                continue
            self._queued.pop(0)
        return self._answers.pop(ticket)

    def drain(self) -> None:
        """Wait for every queued command and drop the answers (a caller that stops early)."""
        for n in list(self._queued):
            with contextlib.suppress(ExifToolError):
                self.collect(n)
        self._answers.clear()
        self._lost.clear()

    def _forget_queued(self, reason: str) -> None:
        """Commands queued to a process that is going away fail with `reason` when collected."""
        for n in self._queued:
            self._lost[n] = reason
        self._queued.clear()
        self._buffers = {}

    def _abandon(self, reason: str) -> None:
        """The process died or stopped answering: kill it; queued commands get `reason`."""
        self._forget_queued(reason)
        et, self._et = self._et, None
        if et is not None:
            self._kill(et)

    def _collect(self, proc: Any, buffers: dict[int, bytearray], n: int) -> RunResult:
        """Read until command `n` ended on both pipes (stdout '{readyN}', stderr '=status=postN')."""
        out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
        markers = {out_fd: f"{{ready{n}}}".encode(), err_fd: f"post{n}".encode()}
        for fd in markers:
            buffers.setdefault(fd, bytearray())
        parts: dict[int, bytes] = {}
        deadline = time.monotonic() + self.timeout_s
        while True:
            for fd, marker in markers.items():
                if fd not in parts and (i := buffers[fd].find(marker)) >= 0:
                    parts[fd] = bytes(buffers[fd][:i])
                    del buffers[fd][: i + len(marker)]
            if len(parts) == 2:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise ExifToolError(f"no answer within {self.timeout_s:.0f} s (killed)")
            readable, _, _ = select.select([fd for fd in markers if fd not in parts], [], [], left)
            for fd in readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise ExifToolError("exiftool exited unexpectedly")
                buffers[fd] += chunk
        stdout = parts[out_fd].decode("utf-8", "replace").strip()
        stderr = parts[err_fd].decode("utf-8", "replace").strip()
        # stderr ends with "=<status>="
        body, _, status_text = stderr[:-1].rpartition("=")
        try:
            status = int(status_text)
        except ValueError as exc:
            raise ExifToolError(f"unexpected exiftool status line: {stderr[-40:]!r}") from exc
        return RunResult(stdout, body.strip(), status)

    @staticmethod
    def parse_json(result: RunResult) -> list[dict[str, Any]]:
        """Entries of a `-j` result; numbers keep their exact text. Missing files give none."""
        if not result.stdout:
            return []
        try:
            data = loads_exact(result.stdout)
        except ValueError as exc:
            raise ExifToolError(f"exiftool returned unreadable JSON: {result.stdout[:200]!r}") from exc
        return data if isinstance(data, list) else [data]

    def read_json(self, args: Sequence[str]) -> tuple[list[dict[str, Any]], RunResult]:
        """Run a `-j` read; numbers keep their exact text. Missing files give no entry."""
        result = self.run(["-j", *args])
        return self.parse_json(result), result
