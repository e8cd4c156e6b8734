"""Making a rename survive a power cut: the folder that holds the new name is synced too.

Why here, in the bottom layer: the photo backups (metadata.backups) and the database copy taken
before an upgrade (store.backup) both rename a synced file into place, and the rename itself is
only on disk once its folder is synced. The store sits below metadata, so the one helper both
call lives below both.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Sync a folder's entries (after a rename or a create in it); file systems that cannot
    sync a folder (some network mounts) are left as they are."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
