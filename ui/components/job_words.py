"""Jobs in the user's words: what a job does, what it found, and what to do next.

Why a table per job type instead of printing the result dict: a result is the stage's
bookkeeping ("clustered 65, clusters 14, seconds 0.019"); the user wants a sentence and the
next step ("14 groups of faces to name → Unknown faces").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tagmyphotos.states import JobState
from tagmyphotos.store.jobs import JobView

from ..frame import plural

# What each job type does, as a title.
TITLES = {
    "scan": "Looking for new and changed photos",
    "analyze": "Finding faces",
    "match": "Suggesting names and grouping look-alike faces",
    "write": "Writing names into photos",
    "notify": "Telling your photo apps to re-read the photos",
    "restore": "Putting back original files",
}
# The start buttons on the Jobs page.
START_LABELS = {
    "scan": "Scan the library",
    "analyze": "Find faces",
    "match": "Suggest names again",
}


@dataclass(frozen=True)
class NextStep:
    text: str
    target: str  # a page path


def title(job: JobView) -> str:
    return TITLES.get(job.type, job.type.capitalize())


def outcome(job: JobView) -> str:
    """What a finished job did, in a sentence ('' while it runs)."""
    if job.state in (JobState.QUEUED, JobState.RUNNING) or not job.result:
        return ""
    r: dict[str, Any] = job.result
    describe = _OUTCOMES.get(job.type)
    return describe(r) if describe is not None else ""


def next_step(job: JobView) -> NextStep | None:
    """Where the user goes after this job, when it finished well."""
    if job.state != JobState.DONE or not job.result:
        return None
    r = job.result
    if job.type == "match" and (r.get("likely") or r.get("maybe")):
        return NextStep("Review the suggestions", "/")
    if job.type == "match" and r.get("clusters"):
        return NextStep("Name the groups of unknown faces", "/unknown")
    if job.type == "analyze" and r.get("faces"):
        return NextStep("Name a few faces", "/unknown")
    if job.type == "write" and r.get("failed"):
        return NextStep("See which photos failed", "/write")
    return None


def _n(r: dict[str, Any], key: str) -> int:
    value = r.get(key)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _scan(r: dict[str, Any]) -> str:
    parts = [f"{plural(_n(r, 'seen'), 'photo')} in the library"]
    for key, word in (("new", "new"), ("changed", "changed"), ("moved", "moved"), ("missing", "missing")):
        if _n(r, key):
            parts.append(f"{_n(r, key):,} {word}")
    if _n(r, "errors"):
        parts.append(f"{plural(_n(r, 'errors'), 'file')} could not be read")
    return ", ".join(parts) + "."


def _analyze(r: dict[str, Any]) -> str:
    if not _n(r, "photos"):
        return "No photo was waiting for it."
    text = f"{plural(_n(r, 'faces'), 'face')} found in {plural(_n(r, 'photos'), 'photo')}"
    if _n(r, "imported"):
        text += f"; {plural(_n(r, 'imported'), 'name')} taken over from the photos' own tags"
    if _n(r, "failed"):
        text += f"; {plural(_n(r, 'failed'), 'photo')} could not be read"
    return text + "."


def _match(r: dict[str, Any]) -> str:
    suggested = _n(r, "likely") + _n(r, "maybe")
    text = f"{plural(suggested, 'suggestion')} to review ({_n(r, 'likely'):,} likely)"
    if _n(r, "clusters"):
        text += f"; {plural(_n(r, 'clusters'), 'group')} of look-alike faces to name"
    return text + "."


def _write(r: dict[str, Any]) -> str:
    if r.get("dry_run"):
        return f"Preview only: {plural(_n(r, 'files'), 'photo')} would change."
    text = f"{plural(_n(r, 'ok') or _n(r, 'written'), 'photo')} written"
    if _n(r, "failed"):
        text += f", {_n(r, 'failed'):,} failed and were put back as they were"
    return text + "."


def _notify(r: dict[str, Any]) -> str:
    targets = r.get("targets") or []
    if not targets:
        return str(r.get("note") or "No photo app is connected (Settings → Integrations).")
    told = [str(t.get("target", "")) for t in targets if isinstance(t, dict) and t.get("status") != "failed"]
    return f"Told {', '.join(told) or 'no app'} about {plural(_n(r, 'files'), 'photo')}."


def _restore(r: dict[str, Any]) -> str:
    text = f"{plural(_n(r, 'restored'), 'file')} put back"
    if _n(r, "failed"):
        text += f", {_n(r, 'failed'):,} could not be"
    return text + "."


_OUTCOMES: dict[str, Callable[[dict[str, Any]], str]] = {
    "scan": _scan, "analyze": _analyze, "match": _match, "write": _write, "notify": _notify,
    "restore": _restore,
}  # fmt: skip
