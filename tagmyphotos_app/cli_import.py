"""`tagmyphotos import-names`: take the names people already gave in Immich or PhotoPrism, or
in Google Photos (`--from takeout [DIR]`: a Takeout export, stages/steps/takeout_names.py).

It runs the import-names job here and now (the names are in the database when it returns) and
prints what it did; --dry-run only counts. The JSON has imported, marked, already, conflicts,
unmatched (and their items), people_created and requests. --conflicts lists the open ones.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from tagmyphotos.config import Config
from tagmyphotos.metadata.takeout import SOURCE

from .cli import EXIT_FAILED, EXIT_OK, command, emit, open_core
from .output import say

AddFn = Callable[..., argparse.ArgumentParser]


def add_commands(add: AddFn) -> None:
    p = add("import-names", "take the names given in Immich, PhotoPrism or Google Photos (Takeout) onto our faces")
    p.add_argument("--from", dest="source", choices=["immich", "photoprism", "takeout"], required=True)
    p.add_argument("folder", nargs="?", help="takeout: the folder of the Takeout export (default: the library)")
    p.add_argument("--dry-run", action="store_true", help="only count what would change")
    p.add_argument("--conflicts", action="store_true", help="list the open conflicts of that source and stop")


def _text(result: dict[str, Any]) -> str:
    from integrations.stages.import_names import takeout_text

    if result.get("source") == SOURCE:
        items = [f"  unreadable: {u['file']}: {u['why']}" for u in result.get("unreadable_items", [])[:20]]
        return "\n".join([takeout_text(result), *items])
    verb = "would import" if result["dry_run"] else "imported"
    lines = [
        f"{verb} from {result['source']}: {result['imported']} names on our faces, {result['marked']} hand-marked "
        f"faces, {result['already']} already there, {result['conflicts']} conflicts, {result['unmatched']} unmatched "
        f"({result.get('requests', 0)} requests)"
    ]
    lines += [f"  conflict: photo {c['photo_id']}: there {c['name_there']!r}, here {c['name_here']!r}"
              + (f" ({c['note']})" if c["note"] else "") for c in result["conflict_items"][:20]]  # fmt: skip
    lines += [
        f"  unmatched: photo {u['photo_id']} {u['name_there']!r}: {u['why']}" for u in result["unmatched_items"][:20]
    ]
    if result["conflicts"]:
        lines.append("decide conflicts in Settings > Immich/PhotoPrism names, or POST /api/v1/imports/conflicts/{id}")
    return "\n".join(lines)


@command("import-names")
def cmd_import_names(args: argparse.Namespace, cfg: Config) -> int:
    from jobs.pipeline import STAGES
    from tagmyphotos.review.imported_names import list_conflicts
    from tagmyphotos.stages.runner import run_stage
    from tagmyphotos.store import jobs as jobs_store
    from tagmyphotos.store import models as m

    core = open_core(cfg)
    try:
        if args.conflicts:
            items, total = list_conflicts(args.source, limit=500)
            rows = [c.__dict__ for c in items]
            text = "\n".join(f"#{c['id']} {c['photo_path']}: there {c['name_there']!r}, here {c['name_here']!r}"
                             for c in rows) or "no open conflicts"  # fmt: skip
            emit(args, {"total": total, "items": rows}, text)
            return EXIT_OK
        params: dict[str, Any] = {"source": args.source, "dry_run": args.dry_run}
        if args.folder:
            if args.source != "takeout":
                say("error: a folder is only for --from takeout", err=True)
                return EXIT_FAILED
            params["folder"] = os.path.abspath(args.folder)
        job_id = jobs_store.create_job("import-names", params)
        run_stage(core, STAGES["import-names"], job_id)
        job = m.Job.get_by_id(job_id)
        if job.state != m.JobState.DONE:
            emit(args, {"job_id": job_id, "state": job.state, "error": job.error}, "import-names failed")
            say(f"error: {job.error}", err=True)
            return EXIT_FAILED
        result = {"job_id": job_id, **(job.result or {})}
        emit(args, result, _text(result))
        return EXIT_OK
    finally:
        core.close()
