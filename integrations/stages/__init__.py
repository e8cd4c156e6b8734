"""The job types that talk to other apps, so the core cannot hold them (jobs/pipeline.py lists them).

Why here and not in tagmyphotos/stages/: the core imports nothing from integrations/; these run
through the same runner (tagmyphotos/stages/runner.py) with the same StageContext.

Modules (job type in brackets):
- notify [notify]: after a write job, one notification round to Immich, PhotoPrism, webhook
- import_names [import-names]: names imported from Immich, PhotoPrism or a Google Takeout export
"""

__all__ = ["import_names", "notify"]
