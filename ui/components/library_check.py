"""First-run library check: is the folder there, readable, writable, and are there photos in it?

Looks at no more than a sample of files (a 500k-photo NAS must not stall the welcome screen);
the scan job does the real, complete walk.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from tagmyphotos.config import Config
from tagmyphotos.library.scan import walk_rules
from tagmyphotos.library.walk import FoundFile, walk_library

# Stop sampling after this many photo files or this many seconds, whichever comes first.
SAMPLE_FILES = 200
SAMPLE_SECONDS = 2.0


@dataclass
class LibraryCheck:
    path: str
    exists: bool = False
    readable: bool = False
    writable: bool = False
    photos_seen: int = 0
    sample_complete: bool = False  # the walk ended before the sample limit: photos_seen is all
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.exists and self.readable and self.photos_seen > 0


def check_library(cfg: Config) -> LibraryCheck:
    root = cfg.library
    check = LibraryCheck(path=str(root))
    if not root.is_dir():
        check.problems.append(f"{root} does not exist or is not a folder: mount your photos there "
                              "or set `library` in config.yaml (TAGMYPHOTOS_LIBRARY).")  # fmt: skip
        return check
    check.exists = True
    check.readable = os.access(root, os.R_OK | os.X_OK)
    check.writable = os.access(root, os.W_OK)
    if not check.readable:
        check.problems.append(f"{root} cannot be read by this process (user id {os.getuid()}).")
        return check
    if not check.writable:
        check.problems.append("The library is read-only: names can be reviewed, but writing them into "
                              "files or sidecars needs write access.")  # fmt: skip
    rules = walk_rules(cfg.scan.extensions, cfg.scan.raw_extensions, cfg.scan.exclude, cfg.data)
    deadline = time.monotonic() + SAMPLE_SECONDS
    check.sample_complete = True
    for item in walk_library(root, rules):
        if isinstance(item, FoundFile):
            check.photos_seen += 1
        if check.photos_seen >= SAMPLE_FILES or time.monotonic() > deadline:
            check.sample_complete = False
            break
    if check.photos_seen == 0:
        check.problems.append("No photos found in the library folder (extensions: "
                              + ", ".join(cfg.scan.extensions) + ").")  # fmt: skip
    return check
