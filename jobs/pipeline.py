"""The pipeline, in the order the product works: one list, read top to bottom.

scan → analyze → match   (automatic, after a scan or on a schedule)
  → auto-name → write    (review.auto_accept: sure; write.auto: after_match) — no click needed
write → notify           (after the user accepted names, automatically, or daily at a set time)
import-names             (names given in Immich / PhotoPrism; then write puts them in the files)

Each row names a job type (the string stored on the job row) and its stage function: one module
per job type in tagmyphotos/stages/ (notify and import-names in integrations/stages/), run by
tagmyphotos/stages/runner.py; jobs/tasks.py carries job ids to it, jobs/schedules.py starts jobs
by the clock.
"""

from __future__ import annotations

from integrations.stages.import_names import stage_import_names
from integrations.stages.notify import stage_notify
from integrations.webhook.job_events import announce_job
from tagmyphotos.stages.analyze import stage_analyze
from tagmyphotos.stages.auto_name import stage_auto_name
from tagmyphotos.stages.match import stage_match
from tagmyphotos.stages.restore import stage_restore
from tagmyphotos.stages.runner import Stage
from tagmyphotos.stages.scan import stage_scan
from tagmyphotos.stages.teach import stage_teach
from tagmyphotos.stages.write import stage_write

ANNOUNCE = (announce_job,)  # job.done / job.failed to the webhook (integrations.webhook.job_events)

PIPELINE: tuple[Stage, ...] = (
    Stage("scan", stage_scan, then=("analyze",), summary="find new, changed, moved, missing photos",
          after=ANNOUNCE),  # fmt: skip
    Stage("analyze", stage_analyze, then=("match",), summary="detect, align, thumbnail and embed faces",
          shared=True, after=ANNOUNCE),  # fmt: skip
    Stage("match", stage_match, summary="suggest names from confirmed faces; cluster unknown faces", after=ANNOUNCE),
    Stage("auto-name", stage_auto_name, summary="name the sure faces without a click (one undoable batch)",
          after=ANNOUNCE),  # fmt: skip
    Stage("write", stage_write, then=("notify",), summary="write people into the photos (backup, verify)",
          after=ANNOUNCE),  # fmt: skip
    Stage("notify", stage_notify, summary="ask Immich / PhotoPrism / a webhook to re-read the files"),
    Stage("restore", stage_restore, summary="put back the original files from their backups"),
    Stage("teach", stage_teach, summary="learn people from reference photos (a folder per person, or uploads)"),
    Stage("import-names", stage_import_names, summary="take the names people gave in Immich / PhotoPrism"),
)

STAGES: dict[str, Stage] = {stage.name: stage for stage in PIPELINE}
JOB_TYPES = tuple(STAGES)
