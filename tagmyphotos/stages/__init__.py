"""One module per job type: what a job of the pipeline does (jobs/pipeline.py lists them in order).

Why one module each: a new stage is a new file here plus one row in jobs/pipeline.py; the runner
(store/runner.py) owns progress, cancel and errors, so a stage only does its work.

Modules:
- scan: find new, changed, moved, missing photos
- analyze: faces, thumbnails and embeddings for waiting photos
- match: suggestions, clusters, index
- write: confirmed names into the files
- restore: originals back from the backups
- teach: a folder per person becomes confirmed faces
- teach_job: teach from the API and UI: a client's folder (library or data), uploads, the job
- purge: forget photos marked missing, after a dry-run count
- import_tags: people other tools already wrote into the files
"""

__all__ = ["analyze", "import_tags", "match", "purge", "restore", "scan", "teach", "teach_job", "write"]
