"""The pipeline, in the order the product works: one list, read top to bottom.

scan → analyze → match   (automatic, after a scan or on a schedule)
write → notify           (after the user accepted names)
"""

from __future__ import annotations

from tagmyphotos import stages
from tagmyphotos.analysis import stage_analyze
from tagmyphotos.pipeline import Stage

PIPELINE: tuple[Stage, ...] = (
    Stage("scan", stages.stage_scan, then=("analyze",), summary="find new, changed, moved, missing photos"),
    Stage("analyze", stage_analyze, summary="detect, align, thumbnail and embed faces"),
)

STAGES: dict[str, Stage] = {stage.name: stage for stage in PIPELINE}
JOB_TYPES = tuple(STAGES)
