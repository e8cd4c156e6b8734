"""The `tagmyphotos` command: the composition root that wires core, queue, jobs and web app.

Exit codes scripts can rely on: 0 ok, 1 the work ran but failed or had errors, 2 bad usage or
configuration, 3 something named was not found. A product error (tagmyphotos.errors) carries its
own exit code: `main` turns it into a message and that code, the one place the CLI maps errors.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from tagmyphotos import VERSION
from tagmyphotos.config import Config, load_config
from tagmyphotos.errors import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_USAGE, TagMyPhotosError
from tagmyphotos.store import migrations

from .output import say

EXIT_OK = 0
__all__ = ["EXIT_FAILED", "EXIT_NOT_FOUND", "EXIT_OK", "EXIT_USAGE", "command", "count", "emit", "main", "open_core"]

Handler = Callable[[argparse.Namespace, Config], int]
COMMANDS: dict[str, Handler] = {}


def count(least: int) -> Callable[[str], int]:
    """An argparse type for a count of at least `least`: `--limit -5` is a usage error (exit 2)
    naming the option, never a negative LIMIT that lists everything."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be {least} or more (got {value})")
        return value

    return parse


def command(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = fn
        return fn

    return register


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tagmyphotos",
        description="Face recognition for your photo library; writes people into the photos.",
    )
    parser.add_argument("--config", help="config file (default: $TAGMYPHOTOS_CONFIG or ./config.yaml)")
    parser.add_argument("--version", action="version", version=f"tagmyphotos {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str, json_flag: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if json_flag:
            p.add_argument("--json", action="store_true", help="print one JSON object")
        return p

    p = add("serve", "run the web app, the REST API and a job worker in one process", json_flag=False)
    p.add_argument("--host", help="listen address (default from config, $TAGMYPHOTOS_HOST)")
    p.add_argument("--port", type=int, help="port (default from config, $TAGMYPHOTOS_PORT)")
    p = add("worker", "run only a job worker (for extra machines in scale-out)", json_flag=False)
    p.add_argument("--workers", type=count(1), default=2, help="worker threads")
    for name, what in (("scan", "scan the library for new, changed and missing photos"),
                       ("analyze", "find and embed faces in photos waiting for analysis"),
                       ("match", "refresh name suggestions and clusters")):  # fmt: skip
        p = add(name, what)
        p.add_argument("--wait", action="store_true", help="run now in this process and wait")
        if name == "scan":
            p.add_argument("paths", nargs="*", metavar="PATH", help="only these files or folders (in the library)")
    add("status", "counts of photos, faces, people and recent jobs")
    add("version", "the release, and the database schema versions this release reads and writes")
    p = add("purge", "forget photos marked missing (their faces and names too)")
    p.add_argument("--yes", action="store_true", help="do it (otherwise only count)")
    p = add("config", "configuration tools")
    p.add_argument("action", choices=["check"], help="check: validate and print the effective config")
    for module in _command_modules():
        module.add_commands(add)
    return parser


def _command_modules() -> list[Any]:
    """Command families in their own modules (each registers its handlers with @command)."""
    import importlib

    return [importlib.import_module(f"{__package__}.{name}") for name in EXTRA_COMMAND_MODULES]


EXTRA_COMMAND_MODULES: tuple[str, ...] = ("cli_keys", "cli_people", "cli_photos", "cli_write", "cli_import")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        cfg = load_config(args.config)
    except TagMyPhotosError as exc:  # ConfigError: a sentence on stderr, exit 2
        say(str(exc), err=True)
        return exc.exit_code
    handler = COMMANDS[args.command]
    try:
        return handler(args, cfg)
    except TagMyPhotosError as exc:
        return report_error(args, exc)
    except KeyboardInterrupt:
        return EXIT_FAILED
    except Exception as exc:  # a locked database or a full disk is a sentence, not a traceback
        from tagmyphotos.store.db import storage_problem

        problem = storage_problem(exc)
        if problem is None:
            raise
        say(f"error: {problem}", err=True)
        return EXIT_FAILED


def report_error(args: argparse.Namespace, exc: TagMyPhotosError) -> int:
    """A product error as the user sees it, and its exit code: the sentence on stderr, and with
    --json also `{"error": ...}` on stdout for the script that reads it."""
    if getattr(args, "json", False):
        say(json.dumps({"error": str(exc)}, sort_keys=True))
    say(f"error: {exc}", err=True)
    return exc.exit_code


def emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    """Print JSON with --json, else the human text."""
    if getattr(args, "json", False):
        say(json.dumps(data, default=str, sort_keys=True))
    else:
        say(text)


def open_core(cfg: Config) -> Any:
    from tagmyphotos.core import Core

    return Core(cfg)


@command("config")
def cmd_config(args: argparse.Namespace, cfg: Config) -> int:
    masked = cfg.masked()
    if args.json:
        say(json.dumps(masked, sort_keys=True))
    else:
        import yaml

        say("# configuration is valid; effective values (secrets masked):")
        say(yaml.safe_dump(masked, sort_keys=False).rstrip())
    return EXIT_OK


@command("status")
def cmd_status(args: argparse.Namespace, cfg: Config) -> int:
    from tagmyphotos.system.stats import library_stats

    core = open_core(cfg)
    try:
        data = library_stats()
    finally:
        core.close()
    p, f = data["photos"], data["faces"]
    lines = [
        f"library: {cfg.library}",
        f"photos: {p['total']} ({', '.join(f'{k} {v}' for k, v in p['by_state'].items())})",
        f"faces: {f['total']} ({', '.join(f'{k} {v}' for k, v in f['by_state'].items())})",
        f"people: {data['people']['total']}",
        "recent jobs:",
    ] + [
        f"  #{j['id']} {j['type']:<8} {j['state']:<9} {j['done']}/{j['total']}"
        + (f" errors {j['errors']}" if j["errors"] else "")
        + (f" — {j['error']}" if j["error"] else "")
        for j in data["jobs"]["recent"]
    ]
    emit(args, data, "\n".join(lines))
    return EXIT_OK


@command("purge")
def cmd_purge(args: argparse.Namespace, cfg: Config) -> int:
    from tagmyphotos.stages.steps.purge import purge_missing

    core = open_core(cfg)
    try:
        report = purge_missing(core, dry_run=not args.yes)
    finally:
        core.close()
    verb = "purged" if args.yes else "would purge (add --yes)"
    emit(
        args,
        {"missing": report.missing, "purged": report.purged, "faces": report.faces, "named_faces": report.named_faces},
        f"{verb} {report.missing} missing photos ({report.faces} faces, {report.named_faces} of them named)",
    )
    return EXIT_OK


@command("version")
def cmd_version(args: argparse.Namespace, cfg: Config) -> int:
    """No database is opened: it answers also beside a database it would refuse."""
    data = {"version": VERSION, "schema_version": migrations.LATEST,
            "oldest_upgradable_schema": migrations.OLDEST_UPGRADABLE}  # fmt: skip
    emit(args, data, f"tagmyphotos {VERSION} (database schema {migrations.LATEST}, "
                     f"upgrades from schema {migrations.OLDEST_UPGRADABLE})")  # fmt: skip
    return EXIT_OK


@command("serve")
def cmd_serve(args: argparse.Namespace, cfg: Config) -> int:
    from .web import serve

    host = args.host or cfg.server.host
    port = args.port or cfg.server.port
    return serve(cfg, host, port)


@command("worker")
def cmd_worker(args: argparse.Namespace, cfg: Config) -> int:
    from .boot import run_worker

    return run_worker(cfg, args.workers)


def _stage_command(job_type: str) -> Handler:
    def handler(args: argparse.Namespace, cfg: Config) -> int:
        from .boot import run_job_command

        params = {"paths": list(args.paths)} if getattr(args, "paths", None) else {}
        return run_job_command(cfg, job_type, params, wait=args.wait, as_json=args.json)

    return handler


for _name in ("scan", "analyze", "match"):
    COMMANDS[_name] = _stage_command(_name)
