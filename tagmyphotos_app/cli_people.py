"""People and review from the shell: people, suggestions, accept, reject, clusters, teach, undo.

Each command prints a short human summary, or one JSON object with --json (the same views the
REST API returns). Exit codes as in cli.py: 2 for a request that cannot be done as asked,
3 when a named person, face or cluster does not exist.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tagmyphotos.config import Config
from tagmyphotos.errors import PeopleError, TagMyPhotosError

from .cli import EXIT_OK, command, count, emit, open_core

Handler = Callable[[argparse.Namespace, Config], int]


def add_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add("people", "list people with their face counts and pending suggestions")
    p.add_argument("--search", help="only names (or old names) containing this")
    p.add_argument("--hidden", action="store_true", help="include hidden people")
    p = add("suggestions", "suggested names waiting for review, grouped per person")
    p.add_argument("--person", help="only suggestions for this person")
    p.add_argument("--band", choices=["likely", "maybe"], help="only this confidence band")
    p.add_argument("--limit", type=count(1), default=50, help="faces shown per person (default 50)")
    p = add("accept", "accept suggestions (confirm the suggested names)")
    p.add_argument("--likely", action="store_true", required=True, help='accept every "likely" suggestion')
    p.add_argument("--person", help="only this person's suggestions")
    p = add("reject", "this face is not this person (remembered: never suggested again)")
    p.add_argument("face_id", type=int, metavar="FACE_ID")
    p.add_argument("--person", required=True, help="the person the face is not")
    p = add("clusters", "groups of unknown faces that look alike (name them with name-cluster)")
    p.add_argument("--limit", type=count(1), default=20, help="clusters shown (default 20)")
    p = add("name-cluster", "confirm every face of a cluster as one person (created when new)")
    p.add_argument("cluster_id", type=int, metavar="CLUSTER_ID")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--drop-outliers", action="store_true", help="leave faces far from the others unknown")
    p.add_argument("--drop", type=int, nargs="*", default=[], metavar="FACE_ID", help="leave these faces out")
    p = add("teach", "learn people from a folder with one sub-folder of photos per person")
    p.add_argument("folder", type=Path, metavar="FOLDER")
    add("undo", "undo the last review action (accept, reject, name-cluster, teach, merge, ...)")


def run_action(action: Callable[[Any, argparse.Namespace], tuple[dict[str, Any], str]]) -> Handler:
    """Open the core, run, print. Errors of the family reach cli.main, which maps them."""

    def handler(args: argparse.Namespace, cfg: Config) -> int:
        core = open_core(cfg)
        try:
            data, text = action(core, args)
        except TagMyPhotosError:
            raise
        except ValueError as exc:  # a plain ValueError from deeper code (a bad date, ...): refused as asked
            raise PeopleError(str(exc)) from exc
        finally:
            core.close()
        emit(args, data, text)
        return EXIT_OK

    return handler


def _people(core: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from tagmyphotos.review.people import ignored_count, list_people

    views = list_people(include_hidden=args.hidden, search=args.search)
    lines = [f"{'id':>5}  {'faces':>6}  {'likely':>6}  {'maybe':>6}  name"]
    for v in views:
        extra = (f"  (was {', '.join(v.aliases)})" if v.aliases else "") + ("  [hidden]" if v.hidden else "")
        lines.append(f"{v.id:>5}  {v.face_count:>6}  {v.likely:>6}  {v.maybe:>6}  {v.name}{extra}")
    ignored = ignored_count()
    lines.append(f"{len(views)} people; {ignored} ignored faces")
    return {"people": [v.to_dict() for v in views], "ignored": ignored}, "\n".join(lines)


def _suggestions(core: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from tagmyphotos.review.suggested import suggestion_counts, suggestion_groups

    groups = suggestion_groups(suggestion_counts(args.person, args.band), args.limit, args.band)
    lines = []
    for g in groups:
        lines.append(f"{g.person.name} (#{g.person.id}): {g.likely} likely, {g.maybe} maybe")
        for f in g.faces:
            exp = f.explanation or {}
            why = f"distance {exp.get('distance')}, {exp.get('agreeing')}/{exp.get('k')} nearest agree"
            if exp.get("conflict_person_name"):
                why += f", next {exp['conflict_person_name']} at {exp.get('conflict_distance')}"
            lines.append(f"  face {f.id:>6}  {f.band:<6} {f.confidence:.2f}  {f.photo_path}  ({why})")
    if not groups:
        lines.append("no suggestions waiting")
    return {"groups": [g.to_dict() for g in groups]}, "\n".join(lines)


def _summary(result: Any) -> str:
    text = f"{result.action}: {len(result.changed)} faces changed"
    if result.person is not None:
        text += f" ({result.person.name}: {result.person.face_count} faces)"
    if result.skipped:
        text += f"; {len(result.skipped)} skipped"
        text += "".join(f"\n  face {s.face_id}: {s.reason}" for s in result.skipped[:20])
    text += "".join(f"\n{w}" for w in result.warnings)
    return text


def _accept(core: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from tagmyphotos.review.confirm import accept_likely

    result = accept_likely(core, args.person)
    return {"result": result.to_dict()}, _summary(result)


def _reject(core: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from tagmyphotos.review.confirm import reject

    result = reject(core, [args.face_id], args.person)
    return {"result": result.to_dict()}, f"face {args.face_id} is not {args.person}: remembered"


def _clusters(core: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from tagmyphotos.suggest.clusters import list_clusters

    views = list_clusters(limit=args.limit, sample=5)
    lines = [
        f"cluster {c.id}: {c.size} faces in {c.photos} photos, e.g. faces {[f.id for f in c.faces]}" for c in views
    ]
    return {"clusters": [c.to_dict() for c in views]}, "\n".join(lines) or "no clusters of unknown faces"


def _name_cluster(core: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from tagmyphotos.review.confirm import name_cluster

    result = name_cluster(core, args.cluster_id, args.name, drop=args.drop, drop_outliers=args.drop_outliers)
    return {"result": result.to_dict()}, _summary(result)


def _teach(core: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from tagmyphotos.stages.steps.teach_folder import teach_folder

    report = teach_folder(core, args.folder)
    lines = [f"{name}: {n} faces" + (" (new)" if name in report.created else "") for name, n in report.people.items()]
    lines += [f"not used: {r['path']}: {r['reason']}" for r in report.rejected]
    lines.append(
        f"taught {sum(report.people.values())} faces of {len(report.people)} people; "
        f"{len(report.rejected)} photos not used; {report.skipped} unchanged since the last teach"
    )
    return {"teach": report.to_dict()}, "\n".join(lines)


def _undo(core: Any, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    from tagmyphotos.review.confirm import undo_last

    result = undo_last(core)
    return {"result": result.to_dict()}, _summary(result)


for _name, _action in (
    ("people", _people),
    ("suggestions", _suggestions),
    ("accept", _accept),
    ("reject", _reject),
    ("clusters", _clusters),
    ("name-cluster", _name_cluster),
    ("teach", _teach),
    ("undo", _undo),
):
    command(_name)(run_action(_action))
