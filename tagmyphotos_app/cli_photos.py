"""Photos by people and merge suggestions from the shell (the read model the UI and API use).

    tagmyphotos photos --person Anna --person Bob [--mode all|any|only] [--folder F]
                       [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--unnamed yes|no] [--json]
    tagmyphotos merge-suggestions [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import Any

from .cli import command, count
from .cli_people import run_action

PHOTOS_DEFAULT_LIMIT = 50


def add_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add("photos", "find photos by the people in them (all, any or only them), folder, dates, unnamed faces")
    p.add_argument("--person", action="append", default=[], metavar="NAME", help="a person (repeat for several)")
    p.add_argument("--mode", choices=["all", "any", "only"], default="all", help="how several people combine")
    p.add_argument("--folder", help="library-relative folder (sub-folders included)")
    p.add_argument("--from", dest="first", type=dt.date.fromisoformat, metavar="DATE",
                   help="first day, YYYY-MM-DD (the file's modification date)")  # fmt: skip
    p.add_argument("--to", dest="last", type=dt.date.fromisoformat, metavar="DATE", help="last day, inclusive")
    p.add_argument("--unnamed", choices=["yes", "no"], help="only photos with (yes) or without (no) unnamed faces")
    p.add_argument("--order", choices=["path", "-path", "date", "-date"], default="path")
    p.add_argument("--limit", type=count(1), default=PHOTOS_DEFAULT_LIMIT, help="photos listed")
    p.add_argument("--offset", type=count(0), default=0)
    p = add("merge-suggestions", "people who are probably one person named twice, closest first")
    p.add_argument("--limit", type=count(1), default=20, help="suggestions listed (default 20)")


def _photos(core: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from tagmyphotos.review.people import NotFound, find_person
    from tagmyphotos.review.photos import PhotoFilter, day_bounds, find_photos

    ids = []
    for name in args.person:
        found = find_person(name)
        if found is None:
            raise NotFound(f"no person named {name!r}")
        ids.append(int(found.id))
    start, end = day_bounds(args.first, args.last)
    flt = PhotoFilter(
        people=tuple(ids), mode=args.mode, folder=args.folder, date_from=start, date_to=end,
        has_unnamed_faces={"yes": True, "no": False}.get(args.unnamed or ""), order=args.order,
    )  # fmt: skip
    page = find_photos(flt, args.offset, args.limit)
    lines = [f"{c.path}  {', '.join(t.name for t in c.people)}" + (f"  (+{c.unnamed_faces} unnamed)"
             if c.unnamed_faces else "") for c in page.items]  # fmt: skip
    lines.append(f"{page.total} photos" + (f" (showing {len(page.items)})" if page.total > len(page.items) else ""))
    photos = [{**c.__dict__, "people": [t.__dict__ for t in c.people]} for c in page.items]
    data = {"total": page.total, "photos": photos}
    return data, "\n".join(lines)


def _merge_suggestions(core: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from tagmyphotos.review.merges import merge_suggestions

    found, total = merge_suggestions(core, 0, args.limit, sample=1)
    lines = [f"{s.a.name} ({s.a.face_count} faces) ~ {s.b.name} ({s.b.face_count} faces): distance {s.distance:.3f}"
             for s in found]  # fmt: skip
    lines.append(f"{total} suggestions (merge: POST /api/v1/people/merge-suggestions/merge, or the People page)")
    data = {"total": total, "suggestions": [
        {"a": s.a.to_dict(), "b": s.b.to_dict(), "distance": s.distance, "closest_distance": s.closest_distance,
         "threshold": s.threshold, "model": s.model} for s in found]}  # fmt: skip
    return data, "\n".join(lines)


command("photos")(run_action(_photos))
command("merge-suggestions")(run_action(_merge_suggestions))
