"""The core's stage functions: each does one step of the pipeline for a job (see pipeline.py).

They only call services; the runner owns job state, progress flushing and failure handling.
"""

from __future__ import annotations

from typing import Any

from tagmyphotos.core import Core
from tagmyphotos.library.scan import scan_library, walk_rules
from tagmyphotos.store.runner import StageContext


def stage_scan(core: Core, ctx: StageContext) -> dict[str, Any]:
    """Scan the library: new and changed photos become 'pending' for the analyze stage."""
    cfg = core.cfg
    if not cfg.library.is_dir():
        raise FileNotFoundError(f"library folder {cfg.library} does not exist or is not a folder")
    rules = walk_rules(cfg.scan.extensions, cfg.scan.raw_extensions, cfg.scan.exclude, cfg.data)
    ctx.set_total(0)

    def progress(seen: int) -> None:
        ctx.done = seen
        ctx.total = max(ctx.total, seen)
        ctx.advance(0)

    report = scan_library(cfg.library, rules, progress=progress, should_stop=ctx.cancelled)
    for rel, message in report.errors[:1000]:
        ctx.item_error(rel, message)
    ctx.errors = len(report.errors)
    ctx.total = ctx.done = report.seen
    summary = report.as_dict()
    ctx.info(
        "scanned {seen} files: {new} new, {changed} changed, {moved} moved, {missing} missing, "
        "{errors} errors".format(**summary)
    )
    ctx.check_cancel()
    return summary
