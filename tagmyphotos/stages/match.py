"""The match stage: suggestions for every unknown face, clusters of the rest, a fresh Annoy index.

Why a stage module of its own: suggestions (suggest/refresh.py) and clusters (suggest/clusters.py)
are services the review actions call one face at a time; the stage is the one place that runs
both over the whole library in product order, reports progress and obeys a cancel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tagmyphotos.stages.steps.place_names import place_library, suggest_placements
from tagmyphotos.stages.write import has_pending_writes
from tagmyphotos.suggest.clusters import refresh_clusters
from tagmyphotos.suggest.refresh import rebuild_index, refresh_suggestions

if TYPE_CHECKING:
    from tagmyphotos.core import Core
    from tagmyphotos.stages.runner import StageContext


def stage_match(core: Core, ctx: StageContext) -> dict[str, Any]:
    """Refresh every suggestion, then the clusters of unknown faces, then the Annoy index.

    Job params: {"full": true} re-clusters from scratch instead of incrementally.
    """

    def progress(done: int, total: int) -> None:
        ctx.total = total
        ctx.done = done
        ctx.advance(0)  # flushes progress and raises JobCancelled when asked to stop

    ctx.set_total(0)
    placed = place_library(core)  # names without boxes first: what it confirms is learnt from at once
    report = refresh_suggestions(core, None, progress)
    placed.suggested = suggest_placements(placed.pending)
    ctx.check_cancel()
    clusters = refresh_clusters(core, full=bool(ctx.params.get("full")))
    ctx.check_cancel()
    built = rebuild_index(core)
    ctx.info(
        f"judged {report.considered} faces: {report.likely} likely, {report.maybe} maybe, "
        f"{report.unknown} unknown ({report.changed} changed); names without boxes: {placed.placed} placed, "
        f"{placed.suggested} suggested; {clusters.clusters} clusters of "
        f"{clusters.clustered} faces; index {'rebuilt' if built else 'unchanged'}"
    )
    result: dict[str, Any] = {
        "faces": report.considered,
        "sure": report.sure,
        "likely": report.likely,
        "maybe": report.maybe,
        "unknown": report.unknown,
        "changed": report.changed,
        "placed": placed.to_dict(),
        "clusters": clusters.clusters,
        "clustered": clusters.clustered,
        "index_generations": [meta.generation for meta in built],
    }
    # One follow-up at most: the automatic naming run writes after itself (stages/auto_name.py),
    # so two write jobs never run side by side.
    if core.cfg.review.auto_accept == "sure" and report.sure:
        result["follow"] = [{"type": "auto-name"}]
    elif core.cfg.write.auto == "after_match" and has_pending_writes(core.cfg):
        result["follow"] = [{"type": "write", "params": {"trigger": "auto"}}]
    return result
