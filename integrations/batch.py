"""What a write job hands to the integrations, and what each target answers.

Why plain frozen dataclasses: the write job builds one WriteBatch per job from its own records
(the integrations never touch the database), and the results are stored on the job as plain
data (`TargetResult.to_dict()`), so both sides stay decoupled and easy to test.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["ok", "warning", "failed", "skipped"]
Target = Literal["immich", "photoprism", "webhook"]
TARGETS: tuple[Target, ...] = ("immich", "photoprism", "webhook")


@dataclass(frozen=True)
class FaceBox:
    """A face rectangle, normalized 0..1, top-left origin, in the *oriented* (displayed) image."""

    x: float
    y: float
    w: float
    h: float

    def __post_init__(self) -> None:
        if not (0 <= self.x <= 1 and 0 <= self.y <= 1 and 0 < self.w <= 1 and 0 < self.h <= 1):
            raise ValueError(f"face box out of range (normalized 0..1 expected): {self}")

    def corners(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, min(1.0, self.x + self.w), min(1.0, self.y + self.h))


@dataclass(frozen=True)
class WrittenFace:
    name: str
    box: FaceBox


@dataclass(frozen=True)
class WrittenFile:
    """One photo whose metadata was written.

    rel_path is POSIX and relative to the library root. image_width/height are the oriented
    (as displayed) pixel size; they are needed only to push faces into Immich. sidecar_created
    says an XMP sidecar was created by this write (Immich only reads it after sidecar discovery).
    """

    rel_path: str
    people: tuple[str, ...] = ()
    faces: tuple[WrittenFace, ...] = ()
    image_width: int = 0
    image_height: int = 0
    sidecar_created: bool = False

    def __post_init__(self) -> None:
        norm = posixpath.normpath(self.rel_path)
        if posixpath.isabs(norm) or norm == ".." or norm.startswith("../") or norm == ".":
            raise ValueError(f"rel_path must be relative to the library root: {self.rel_path!r}")
        object.__setattr__(self, "rel_path", norm)
        object.__setattr__(self, "people", tuple(self.people))
        object.__setattr__(self, "faces", tuple(self.faces))


@dataclass(frozen=True)
class WriteBatch:
    """All files written by one write job: the unit of one notification round."""

    job_id: str
    library_root: Path
    files: tuple[WrittenFile, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", tuple(self.files))
        object.__setattr__(self, "library_root", Path(self.library_root))

    @property
    def people(self) -> list[str]:
        """Every person name in the batch, sorted, once."""
        names = {n for f in self.files for n in f.people} | {fc.name for f in self.files for fc in f.faces}
        return sorted(names)


@dataclass(frozen=True)
class TargetResult:
    """The outcome for one target; `message` is one readable sentence for the job page."""

    target: Target
    status: Status
    message: str
    counts: dict[str, int] = field(default_factory=dict)
    details: tuple[str, ...] = ()
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "warning", "skipped")

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "status": self.status,
            "message": self.message,
            "counts": dict(self.counts),
            "details": list(self.details),
            "duration_s": round(self.duration_s, 3),
        }


def limited(items: Iterable[str], limit: int = 20) -> tuple[str, ...]:
    """At most `limit` items for a result's details, with a '... and N more' tail."""
    items = list(items)
    if len(items) <= limit:
        return tuple(items)
    return (*items[:limit], f"... and {len(items) - limit} more")
