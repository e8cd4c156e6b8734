"""`tagmyphotos apikey create|list|revoke`: manage the REST API's keys from the shell.

The key itself is printed once by `create` and stored only as a hash; `list` shows the
non-secret prefix so a key in a script can be matched to its row and revoked.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from tagmyphotos.config import Config

from .cli import EXIT_NOT_FOUND, EXIT_OK, command, emit, open_core


def add_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    parser = add("apikey", "create, list and revoke REST API keys", json_flag=False)
    sub = parser.add_subparsers(dest="apikey_action", metavar="ACTION", required=True)
    create = sub.add_parser("create", help="make a key and print it (once)")
    create.add_argument("--name", required=True, help="what the key is for, e.g. 'backup script'")
    create.add_argument("--scope", choices=["read", "full"], default="full",
                        help="read: GET requests only; full: everything (default)")  # fmt: skip
    listing = sub.add_parser("list", help="list keys (never the keys themselves)")
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    revoke = sub.add_parser("revoke", help="revoke a key by id or by its prefix")
    revoke.add_argument("key", help="the key's id or the prefix shown by `apikey list`")
    for p in (create, listing, revoke):
        p.add_argument("--json", action="store_true", help="print one JSON object")


@command("apikey")
def cmd_apikey(args: argparse.Namespace, cfg: Config) -> int:
    from tagmyphotos.system import auth

    core = open_core(cfg)
    try:
        if args.apikey_action == "create":
            info, secret = auth.create_api_key(args.name, args.scope)  # AuthError: cli.main, exit 2
            emit(
                args,
                {"key": info.__dict__, "secret": secret},
                f"created {info.scope} key #{info.id} '{info.name}':\n{secret}\n"
                "Store it now: it is not shown again. Send it as 'X-API-Key: <key>'.",
            )
            return EXIT_OK
        if args.apikey_action == "list":
            keys = auth.list_api_keys(include_revoked=args.all)
            emit(args, {"keys": [k.__dict__ for k in keys]}, _table(keys))
            return EXIT_OK
        revoked = auth.revoke_api_key(args.key)
        if revoked is None:
            emit(args, {"error": f"no active key {args.key!r}"}, f"no active key matches {args.key!r}")
            return EXIT_NOT_FOUND
        emit(args, {"key": revoked.__dict__}, f"revoked key #{revoked.id} '{revoked.name}'")
        return EXIT_OK
    finally:
        core.close()


def _table(keys: list[Any]) -> str:
    if not keys:
        return "no API keys; create one with `tagmyphotos apikey create --name NAME`"
    lines = [f"{'id':>4}  {'prefix':<14} {'scope':<5} {'last used':<20} name"]
    for k in keys:
        used = (k.last_used_at or "never")[:19]
        state = " (revoked)" if k.revoked_at else ""
        lines.append(f"{k.id:>4}  {k.prefix:<14} {k.scope:<5} {used:<20} {k.name}{state}")
    return "\n".join(lines)
