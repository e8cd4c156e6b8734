"""One module per job type: what a job of the pipeline does (jobs/pipeline.py lists them in order).

Why one module each: a new stage is a new file here plus one row in jobs/pipeline.py; the runner
(stages/runner.py, beside the stages it runs) owns claim, progress, cancel, errors and hand-off,
so a stage only does its work. What several jobs (or the CLI and the API) share and is no job of
its own lives apart, in stages/steps/.

Where a job lives, end to end: its type and order in jobs/pipeline.py; its work here (or, for
the two that talk to other apps, in integrations/stages/); its run in stages/runner.py; its
database row in store/jobs.py; the huey task that carries its id in jobs/tasks.py; what starts
it by the clock in jobs/schedules.py; the CLI's `--wait` run and worker boot in
tagmyphotos_app/boot.py.

Modules (job type in brackets):
- runner: the stage runner (`run_stage`, `Stage`, `StageContext`)
- scan [scan]: find new, changed, moved, missing photos
- analyze [analyze]: faces, thumbnails and embeddings for waiting photos (and the names embedded
  in the files: steps/embedded_names)
- match [match]: suggestions, clusters, index
- auto_name [auto-name]: the sure faces named without a click, one undoable batch
- write [write]: confirmed names into the files
- restore [restore]: originals back from the backups
- teach [teach]: teach from the API and UI: a client's folder (library or data), uploads
"""

__all__ = ["analyze", "auto_name", "match", "restore", "runner", "scan", "steps", "teach", "write"]
