"""The CLI's progress bar: drawn on a terminal (a real pseudo-terminal from python's pty module),
absent when stderr is piped or with --json, so scripts get clean output."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.support.base import EXIFTOOL, FACES, copy_tree

CLI = [sys.executable, "-m", "tagmyphotos_app"]
BAR = "━"  # rich's bar segments


def _env(tmp_path: Path) -> dict[str, str]:
    lib = copy_tree(FACES, tmp_path / "library", "img[1-6].jpg")
    env = {**os.environ, "TAGMYPHOTOS_LIBRARY": str(lib), "TAGMYPHOTOS_DATA": str(tmp_path / "data"),
           "TAGMYPHOTOS_CONFIG": str(tmp_path / "absent.yaml"), "TAGMYPHOTOS_SCAN__INTERVAL_MINUTES": "0",
           "TAGMYPHOTOS_ANALYSIS__WORKERS": "1", "COLUMNS": "100", "TERM": "xterm-256color"}  # fmt: skip
    env.pop("NO_COLOR", None)
    if EXIFTOOL.exists():
        env["TAGMYPHOTOS_WRITE__EXIFTOOL"] = str(EXIFTOOL)
    return env


def _in_terminal(args: list[str], env: dict[str, str], timeout_s: float = 300) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (stdout piped); returns (code, stdout, terminal)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(CLI + args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    screen = bytearray()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: the program ended
                    break
                if not chunk:
                    break
                screen += chunk
            elif proc.poll() is not None:
                break
        out = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))[0]
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out.decode(), screen.decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_and_none_when_piped(tmp_path: Path) -> None:
    env = _env(tmp_path)
    piped = subprocess.run(CLI + ["scan", "--wait"], env=env, capture_output=True, text=True, timeout=300)
    assert piped.returncode == 0, piped.stderr
    assert BAR not in piped.stderr and "\x1b[" not in piped.stderr  # no bar, no escape codes in a log
    assert piped.stdout.startswith("scan job #")

    code, out, screen = _in_terminal(["analyze", "--wait"], env)
    assert code == 0, screen
    assert "analyze" in screen and BAR in screen  # the bar, labelled with the job
    assert "%" in screen  # rich's percentage column, once the total is known
    assert "\x1b[" in screen  # drawn in place with terminal control codes
    assert out.startswith("analyze job #") and "done" in out  # the summary stays on stdout

    code, out, screen = _in_terminal(["match", "--wait", "--json"], env)
    assert code == 0 and BAR not in screen  # --json: machine output only
    assert json.loads(out.strip().splitlines()[-1])["job"]["state"] == "done"
