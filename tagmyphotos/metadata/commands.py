"""The exiftool commands of one write, built from its plan; and whether exiftool says it wrote.

Why apart from the writer: write.py orders the safety steps (read, back up, write, verify,
undo); this module only says what exiftool is told. So the argument rules sit in one place:
numeric values (-n), the modification time kept on request (-P), structures sent as a JSON
file (-j=) with every value meant literally, every path through `path_arg`; never a string
concatenated from user data.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tagmyphotos.metadata.exiftool import RunResult, path_arg
from tagmyphotos.metadata.plan import WritePlan
from tagmyphotos.metadata.target import WriteError

# What exiftool prints for a file it wrote (or created, for a new sidecar).
_WROTE = ("1 image files updated", "1 image files created")


@dataclass(frozen=True)
class WriteCommand:
    args: list[str]
    json_file: Path | None  # the structures sent with -j=; delete it once exiftool is done


def json_literal(value: Any) -> Any:
    """Values for exiftool's JSON import, meant literally: it decodes a string that starts with
    "base64:", so such a string (a person named "base64:…") is sent base64-encoded itself."""
    if isinstance(value, str) and value.startswith("base64:"):
        return "base64:" + base64.b64encode(value.encode("utf-8")).decode("ascii")
    if isinstance(value, dict):
        return {k: json_literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_literal(v) for v in value]
    return value


def write_command(plan: WritePlan, target: Path, preserve_mtime: bool, tmp_dir: Path) -> WriteCommand:
    """The arguments that write `plan` into `target`, replacing it (exiftool writes a temporary
    file and renames it over the old one)."""
    args = ["-overwrite_original", "-n"] + (["-P"] if preserve_mtime else []) + plan.args
    json_file = None
    if plan.json_tags:
        fd, name = tempfile.mkstemp(prefix="tagmyphotos-", suffix=".json", dir=tmp_dir)
        json_file = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump([{"SourceFile": "*", **json_literal(plan.json_tags)}], f, ensure_ascii=False)
        args.append("-j=" + path_arg(json_file))
    return WriteCommand([*args, path_arg(target)], json_file)


def seed_sidecar_command(photo: Path, sidecar: Path) -> list[str]:
    """A new sidecar starts as a copy of the photo's own XMP (so no name it carries is lost)."""
    return ["-tagsfromfile", path_arg(photo), "-xmp:all", path_arg(sidecar)]


def check_wrote(target: Path, results: Sequence[RunResult]) -> None:
    """WriteError unless exiftool reports each of these writes as done."""
    for res in results:
        said = res.stdout + "\n" + res.stderr  # the summary goes to stderr when -j= is used
        if res.status != 0 or not any(done in said for done in _WROTE):
            raise WriteError(target, f"exiftool did not write: {res.stderr or res.stdout}")
