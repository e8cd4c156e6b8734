"""The persistent exiftool session: version gate, argument safety, death and timeout recovery."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tagmyphotos.metadata.exiftool import ExifToolError, ExifToolSession, UnsafeArgument, check_arg, path_arg
from tests.support.base import FACES

PHOTO = FACES / "img1.jpg"


def test_runs_commands_and_reports_status() -> None:
    with ExifToolSession() as s:
        assert tuple(int(p) for p in s.version.split(".")[:2]) >= (12, 58)
        entries, result = s.read_json(["-FileType", str(PHOTO)])
        assert result.status == 0 and entries[0]["FileType"] == "JPEG"
        missing = s.run(["-FileType", "/nonexistent/x.jpg"])
        assert missing.status == 1 and "File not found" in missing.stderr
        assert s.commands == 2


def test_debian_exiftool_12_57_is_refused() -> None:
    """Debian 12's exiftool prints nothing for ImageDataHash: verification would be blind."""
    old = Path("/usr/bin/exiftool")
    if not old.is_file():
        pytest.skip("no system exiftool on this machine")
    s = ExifToolSession(old)
    version = os.popen(f"{old} -ver").read().strip()
    if tuple(int(p) for p in version.split(".")[:2]) >= (12, 58):
        pytest.skip(f"the system exiftool is {version}, new enough")
    with pytest.raises(ExifToolError, match="too old"):
        s.start()


def test_missing_executable_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExifToolError, match="not found"):
        ExifToolSession(tmp_path / "exiftool").start()


def test_arguments_that_exiftool_would_split_are_refused() -> None:
    for bad in ("-Subject+=a\n-execute", "x\r-@", "nul\x00"):
        with pytest.raises(UnsafeArgument):
            check_arg(bad)
    assert check_arg("-XMP-dc:Subject+=-overwrite_original") == "-XMP-dc:Subject+=-overwrite_original"
    assert path_arg("-rel.jpg").startswith("/")  # a file never looks like an option
    with pytest.raises(UnsafeArgument):
        path_arg("/lib/a\nb.jpg")


def test_a_killed_exiftool_is_restarted() -> None:
    with ExifToolSession() as s:
        first = s.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        os.waitpid(first, 0)
        entries, _ = s.read_json(["-FileType", str(PHOTO)])  # noticed before sending: restarted
        assert entries[0]["FileType"] == "JPEG" and s.pid != first


def test_a_command_over_the_deadline_kills_the_process() -> None:
    with ExifToolSession(timeout_s=0.001) as s:
        first = s.pid
        with pytest.raises(ExifToolError, match="no answer"):
            s.run(["-ImageDataHash", "-api", "ImageHashType=SHA512", str(PHOTO)])
        s.timeout_s = 60
        entries, _ = s.read_json(["-FileType", str(PHOTO)])
        assert entries[0]["FileType"] == "JPEG" and s.pid != first
