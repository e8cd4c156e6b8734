"""The product's domain words as types: the states of photos, faces and jobs, the match band of
a suggestion, and the certainty level a person sees.

Why StrEnums: each member *is* its string ("done" == JobState.DONE), so the values stored in the
database, sent by the API and the webhooks and read by scripts stay the same strings, while the
code names a closed set that mypy and a reader can check. Why here, at the bottom of the core:
the pure matching code (bands, certainty) and the database models (states) both use them.

Two words are easy to mix up, so they have two types: MatchBand is how close a suggestion is by
the calibrated thresholds ("likely" | "maybe", Face.band); Certainty is what the user is told
("sure" | "likely" | "check", Face.certainty): "sure" is the part of the likely band that
matching/sure.py's rule vouches for, "check" is the maybe band.

In Python 3.11 `"done" in JobState` raises TypeError: test membership against `tuple(JobState)`.
"""

from __future__ import annotations

from enum import StrEnum


class PhotoState(StrEnum):
    """Where a photo is in the pipeline (Photo.state)."""

    PENDING = "pending"  # new or changed: waits for face analysis
    ANALYZING = "analyzing"  # claimed by one worker (store.claims); back to pending if it dies
    DONE = "done"  # analysed (zero or more faces)
    FAILED = "failed"  # analysis failed; retried only when the file changes
    ERROR = "error"  # the scanner could not read it (zero-byte, truncated, not an image, ...)
    MISSING = "missing"  # gone from the library; kept until `tagmyphotos purge`


class FaceState(StrEnum):
    """Whose face it is, as far as the library knows (Face.state)."""

    UNKNOWN = "unknown"  # nobody suggested
    SUGGESTED = "suggested"  # a name is suggested (Face.band, Face.certainty say how strongly)
    CONFIRMED = "confirmed"  # named by a person (or by auto-naming, Face.auto_batch)
    IGNORED = "ignored"  # not a face anyone wants named


class JobState(StrEnum):
    """A job's life (Job.state): queued, running, then one of the three ends."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class MatchBand(StrEnum):
    """How close a suggestion is by the calibrated confidence thresholds (Face.band)."""

    LIKELY = "likely"  # confidence >= matching.likely
    MAYBE = "maybe"  # confidence >= matching.maybe


class Certainty(StrEnum):
    """How sure a suggestion is, as the user sees it (Face.certainty; matching/sure.py)."""

    SURE = "sure"  # the likely band, and the sure rule holds: auto-accept may name it
    LIKELY = "likely"  # the rest of the likely band
    CHECK = "check"  # the maybe band: a person should look
