"""A file name is data, never terminal control (issue 25, item 9): `tagmyphotos photos` and the
other listings print control characters escaped, so a file named with ESC sequences cannot
clear the screen, recolour the output or hide lines from the person reading it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tagmyphotos.core import Core
from tests.support import dbtarget
from tests.support.base import FACES, ROOT, make_config, run

CLI = [sys.executable, "-m", "tagmyphotos_app"]
HOSTILE = "a\x1b[2J\x1b[31mred\x07\u202egpj.jpg"


def test_photos_listing_escapes_control_characters(tmp_path: Path) -> None:
    library, data = tmp_path / "library", tmp_path / "data"
    library.mkdir()
    shutil.copyfile(FACES / "img1.jpg", library / HOSTILE)
    core = Core(make_config(library, data))
    try:
        assert run(core, "scan").state == "done"
    finally:
        core.close()
    env = {**os.environ, "TAGMYPHOTOS_LIBRARY": str(library), "TAGMYPHOTOS_DATA": str(data),
           "TAGMYPHOTOS_CONFIG": str(data / "absent.yaml"), **dbtarget.database_env(data)}  # fmt: skip
    proc = subprocess.run([*CLI, "photos"], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout and "\u202e" not in proc.stdout
    assert "a\\x1b[2J\\x1b[31mred\\x07\\u202egpj.jpg" in proc.stdout  # still readable, and findable
    assert "1 photos" in proc.stdout

    as_json = subprocess.run([*CLI, "photos", "--json"], env=env, capture_output=True, text=True, timeout=120,
                             cwd=ROOT)  # fmt: skip
    assert "\x1b" not in as_json.stdout and '"a\\u001b[2J' in as_json.stdout  # JSON escapes its own way
