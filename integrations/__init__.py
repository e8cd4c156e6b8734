"""The other apps: Immich, PhotoPrism and a webhook told after a write; names imported from them.

Why a package per app, like the core's packages: everything one app's API needs (its client,
what it does with faces, how its names are read) is in one place, and the pieces every app uses
sit beside them once. Nothing here decides about the database: the core does
(review/imported_names.py); these modules only talk HTTP.

Packages:
- immich: client (notify, check), faces (push our faces, drop duplicates), names (read its names)
- photoprism: client (re-index, check), names (read its subjects and markers)
- webhook: client (signed write document, check), job_events (job.done / job.failed)
- stages: the two job types that talk to other apps: notify, import_names

Shared modules:
- http: one HTTP client for every app (timeouts, bounded retries, readable errors)
- pathmap: our library paths as the other app sees them
- batch: what a write job wrote (the document every target is told)
- reading: the bounds of reading one name import (pages, items, cancel)
- notify: one notification round to every enabled target, or a connection test of one
"""

__all__ = ["batch", "http", "immich", "notify", "pathmap", "photoprism", "reading", "stages", "webhook"]
