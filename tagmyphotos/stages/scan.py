"""The scan stage: find new, changed, moved and missing photos (all, or the paths a job names).

It only calls the library's scanner (library/scan.py); the runner owns job state, progress
flushing and failure handling.
"""

from __future__ import annotations

from typing import Any

from tagmyphotos.core import Core
from tagmyphotos.library.paths import clean_relative
from tagmyphotos.library.scan import scan_library, walk_rules
from tagmyphotos.stages.runner import StageContext

# A scan of given paths lists at most this many of them in its result (the job row stays small;
# the count of files looked at is always there as `seen`).
SCAN_SCOPE_SHOWN = 50
# A cancel is noticed within this many seconds (asking is a query; a scan asks often).
CANCEL_ANSWER_MAX_AGE_S = 0.25


def scan_scope(params: dict[str, Any]) -> list[str] | None:
    """The files and folders a scan job looks at (params `paths` and `folder`); None = everything.

    An empty folder ("" or "/") means the whole library. Each path is checked again here (the API
    checks them too), so a job queued by any caller can never name a file outside the library.
    """
    raw = list(params.get("paths") or [])
    if params.get("folder") is not None:
        raw.append(params["folder"])
    if not raw:
        return None
    scope = [clean_relative(str(p), allow_empty=True) for p in raw]
    return None if "" in scope else sorted(set(scope))


def stage_scan(core: Core, ctx: StageContext) -> dict[str, Any]:
    """Scan the library (or the given paths): new and changed photos become 'pending' for the
    analyze stage."""
    cfg = core.cfg
    if not cfg.library.is_dir():
        raise FileNotFoundError(f"library folder {cfg.library} does not exist or is not a folder")
    rules = walk_rules(cfg.scan.extensions, cfg.scan.raw_extensions, cfg.scan.exclude, cfg.data)
    ctx.set_total(0)

    def should_stop() -> bool:  # asked every 500 files and before each file read
        return ctx.cancelled(within_s=CANCEL_ANSWER_MAX_AGE_S)

    scope = scan_scope(ctx.params)
    report = scan_library(cfg.library, rules, progress=ctx.grow, should_stop=should_stop, scope=scope)
    for rel, message in report.errors[:1000]:
        ctx.item_error(rel, message)
    ctx.errors = len(report.errors)
    ctx.total = ctx.done = report.seen
    summary: dict[str, Any] = report.as_dict()
    where = "" if scope is None else f" in {len(scope)} given paths"
    ctx.info(
        "scanned {seen} files{where}: {new} new, {changed} changed, {moved} moved, {missing} missing, "
        "{errors} errors".format(where=where, **summary)
    )
    summary["scope"] = "library" if scope is None else "paths"
    if scope is not None:
        summary["paths"] = scope[:SCAN_SCOPE_SHOWN]
    ctx.check_cancel()
    return summary
