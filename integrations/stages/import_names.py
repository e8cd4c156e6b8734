"""The import-names stage: bring the names people gave in Immich or PhotoPrism onto our faces.

A job with params {"source": "immich" | "photoprism", "dry_run": bool}. The integration reads
(a few paged requests); the core decides and applies (review.imported_names: conflicts listed, never
applied; idempotent), then people are kept in step (renames there taken here; ours pushed to
Immich when push_renames is on). Safe to rerun: a second run changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from integrations.http import ApiClient, IntegrationError
from integrations.immich import client as immich
from integrations.immich import names as immich_names
from integrations.photoprism import client as photoprism
from integrations.photoprism import names as photoprism_names
from integrations.reading import Fetched, Reading
from tagmyphotos.core import Core
from tagmyphotos.library.paths import PathNotFound, PathRefused, resolve_inside
from tagmyphotos.review.imported_names import ImportOutcome, import_names, known_photos
from tagmyphotos.review.imported_people import PeopleSync, remember, sync_people
from tagmyphotos.stages.runner import StageContext
from tagmyphotos.stages.steps.takeout_names import import_takeout

SOURCES = ("immich", "photoprism", "takeout")
# An import's notes (skipped names, limits reached) shown as warning events of its job, at most.
NOTES_AS_EVENTS = 50

# An app's fetch_names with its client and config bound: (library, our photos, reading) -> what it read.
FetchNames = Callable[[Path, dict[str, int], Reading], Fetched]
# An app's push_rename with its client bound: (their person id, our name).
PushRename = Callable[[str, str], None]


def takeout_folder(core: Core, folder: str | None) -> Path:
    """The Takeout folder of a job: the library when none is given; an absolute one comes only
    from the command line (the API and the page accept folders inside the library), whose user
    can read that folder anyway; a relative one is resolved inside the library (no link out)."""
    if not folder:
        return core.cfg.library
    if folder.startswith("/"):
        return Path(folder)
    try:
        return resolve_inside(core.cfg.library, folder)
    except (PathRefused, PathNotFound) as exc:
        raise ValueError(f"the Takeout folder: {exc}") from exc


def run_import(
    core: Core, source: str, dry_run: bool = False, reading: Reading | None = None, folder: str | None = None
) -> dict[str, Any]:
    """Fetch, apply and report one import; raises IntegrationError or ValueError with a sentence.
    `reading` bounds what is read from Immich/PhotoPrism (and carries the job's cancel check);
    `folder` is the Takeout folder."""
    cfg = core.cfg.integrations
    reading = reading or Reading.of(cfg)
    if source == "takeout":
        return import_takeout(core, takeout_folder(core, folder), dry_run)
    if source == "immich":
        problem = immich.config_problem(cfg.immich)
        if problem:
            raise ValueError(problem)
        with immich.ImmichClient(cfg.immich, cfg.timeout_s, cfg.retries) as client:
            fetch = partial(immich_names.fetch_names, client, cfg.immich)
            push = partial(immich_names.push_rename, client) if cfg.immich.push_renames else None
            return import_from(core, source, client.api, fetch, reading, dry_run, push)
    if source == "photoprism":
        problem = photoprism.config_problem(cfg.photoprism)
        if problem:
            raise ValueError(problem)
        with photoprism.PhotoPrismClient(cfg.photoprism, cfg.timeout_s, cfg.retries) as pclient:
            pfetch = partial(photoprism_names.fetch_names, pclient, cfg.photoprism)
            return import_from(core, source, pclient.api, pfetch, reading, dry_run)
    raise ValueError(f"unknown source {source!r}; one of {', '.join(SOURCES)}")


def import_from(core: Core, source: str, api: ApiClient, fetch: FetchNames, reading: Reading, dry_run: bool,
                push: PushRename | None = None) -> dict[str, Any]:  # fmt: skip
    """One app's import, whichever app: fetch its names and people (through `api`), apply them,
    keep people in step, and with `push` (not in a dry run) send our renames there."""
    fetched = fetch(core.cfg.library, known_photos(), reading)
    outcome = import_names(core, source, fetched.photos, dry_run)
    people = sync_people(core, source, fetched.people, dry_run)
    pushed: list[str] = []
    if push is not None and not dry_run:
        for rename in people.to_push:
            push(rename.external_id, rename.name)
            remember(source, rename.external_id, rename.name, rename.name)
            pushed.append(rename.name)
    outcome.notes[:0] = reading.notes
    return report(outcome, people, pushed, dict(fetched.skipped), api.requests)


def report(outcome: ImportOutcome, people: PeopleSync, pushed: list[str], skipped: dict[str, int],
           requests: int) -> dict[str, Any]:  # fmt: skip
    out = outcome.to_dict()
    out["skipped"] = skipped
    out["renamed_here"] = people.renamed_here
    out["renames_to_push"] = [p.name for p in people.to_push if p.name not in pushed]
    out["pushed"] = pushed
    out["notes"] += people.notes
    out["requests"] = requests
    return out


def takeout_text(result: dict[str, Any]) -> str:
    """The outcome of a Takeout import in words (CLI, job events, Settings)."""
    verb = "would place" if result.get("dry_run") else "placed"
    return (
        f"Google Takeout: {result.get('names', 0)} names on {result.get('photos', 0)} photos; {verb} "
        f"{result.get('placed', 0)} on faces, {result.get('suggested', 0)} suggested to review, "
        f"{result.get('photo_level', 0)} left as names of the photo, {result.get('conflicts', 0)} conflicts, "
        f"{result.get('unreadable', 0)} unreadable files, {result.get('not_in_library', 0)} files for photos "
        "not in the library"
    )


def stage_import_names(core: Core, ctx: StageContext) -> dict[str, Any]:
    source = str(ctx.params.get("source") or "")
    dry_run = bool(ctx.params.get("dry_run"))
    try:
        result = run_import(core, source, dry_run, Reading.of(core.cfg.integrations, ctx.check_cancel),
                            ctx.params.get("folder"))  # fmt: skip
    except IntegrationError as exc:
        raise RuntimeError(str(exc)) from exc
    notes = result.get("notes", [])
    for note in notes[:NOTES_AS_EVENTS]:  # names skipped, limits reached: said, not hidden
        ctx.warning(None, note)
    if len(notes) > NOTES_AS_EVENTS:
        ctx.warning(None, f"... and {len(notes) - NOTES_AS_EVENTS} more (see the job's result)")
    ctx.total = ctx.done = result["photos"]
    if source == "takeout":
        ctx.info(takeout_text(result))
        for item in result["unreadable_items"]:
            ctx.warning(item["file"], item["why"])
        return result
    ctx.info(
        "{verb} from {source}: {imported} names on our faces, {marked} hand-marked, {already} already there, "
        "{conflicts} conflicts, {unmatched} unmatched".format(verb="would import" if dry_run else "imported", **result)
    )
    return result
