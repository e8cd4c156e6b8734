"""`tagmyphotos write` and `tagmyphotos restore`: people into the files, and originals back."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import Any

from tagmyphotos.config import Config

from .cli import EXIT_OK, EXIT_USAGE, command, count, emit, open_core
from .output import say

AddFn = Callable[..., argparse.ArgumentParser]


def add_commands(add: AddFn) -> None:
    p = add("write", "write confirmed people into the photos (backup, write, verify)")
    p.add_argument("paths", nargs="*", metavar="PATH", help="only these photos (relative to the library)")
    p.add_argument("--dry-run", action="store_true", help="show per file the tags before and after; write nothing")
    p.add_argument("--wait", action="store_true", help="run now in this process and wait")
    p.add_argument("--limit", type=count(1), default=20, help="files shown by --dry-run")
    p = add("restore", "put back the original files from their backups (byte-identical)")
    p.add_argument("paths", nargs="*", metavar="PATH", help="photos to restore (relative to the library)")
    p.add_argument("--all", action="store_true", help="restore every file we ever wrote")
    p.add_argument("--since", help="restore files first written at or after this date (YYYY-MM-DD[THH:MM])")
    p.add_argument("--wait", action="store_true", help="run now in this process and wait")


@command("write")
def cmd_write(args: argparse.Namespace, cfg: Config) -> int:
    if args.dry_run:
        from tagmyphotos.stages.write import preview

        core = open_core(cfg)
        try:
            total, files = preview(core, args.paths or None, limit=args.limit)
        finally:
            core.close()
        lines = [f"{total} files would change" + (f" (first {len(files)} shown)" if total > len(files) else "")]
        for f in files:
            lines.append(f"{f.path}  [{f.mode}] {f.note}" + (f" ERROR {f.error}" if f.error else ""))
            for change in f.changes:
                lines.append(f"    {change['tag']}: {change['before']!r} -> {change['after']!r}")
        emit(args, {"total": total, "files": [f.__dict__ for f in files]}, "\n".join(lines))
        return EXIT_OK
    from .boot import run_job_command

    params: dict[str, Any] = {"paths": args.paths} if args.paths else {}
    return run_job_command(cfg, "write", params, wait=args.wait, as_json=args.json)


@command("restore")
def cmd_restore(args: argparse.Namespace, cfg: Config) -> int:
    if not (args.paths or args.all or args.since):
        say("restore: name PATHs, or --all, or --since DATE", flush=True)
        return EXIT_USAGE
    params: dict[str, Any] = {"paths": args.paths, "all": args.all}
    if args.since:
        from tagmyphotos.stages.restore import usable_since

        try:
            params["since"] = usable_since(dt.datetime.fromisoformat(args.since)).isoformat()
        except ValueError:
            say(f"restore: --since {args.since!r} is not a date like 2026-11-26 or 2026-11-26T18:00")
            return EXIT_USAGE
    from .boot import run_job_command

    return run_job_command(cfg, "restore", params, wait=args.wait, as_json=args.json)
