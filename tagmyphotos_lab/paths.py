"""Where the repository, the shared testdata and the pinned exiftool are, for the lab and the tests.

Why one module: the benchmarks, the evaluations, the fakes' specs and the test helpers all
need these paths; computed once here they cannot drift (TMP_SHARED_DIR as scripts/test sets it).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TMP_SHARED_DIR", ROOT.parent / "shared"))
TESTDATA = SHARED / "testdata"
FACES = TESTDATA / "faces"
EXIFTOOL = ROOT / ".venv" / "opt" / "exiftool" / "exiftool"
CACHE_DIR = ROOT / ".cache"
