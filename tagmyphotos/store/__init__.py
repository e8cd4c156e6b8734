"""The database: models, migrations, job rows, claims, run-time settings, views.

Why one package: every SQL statement of the core lives here or in the packages above that act on
the database (review, suggest, stages); nothing below (faces, matching, metadata) touches it.

Modules:
- db: open the database (SQLite default, PostgreSQL for scale-out); `chunked` ids for IN (...)
- models: the peewee models and state names
- migrations: versioned schema upgrades
- jobs: job rows: progress, per-file errors, results (the runner that moves them is stages/runner.py)
- claims: photos and jobs claimed by one worker at a time (leases)
- settings: settings edited at run time, laid over config.yaml
- views: JSON-friendly views of people, faces, suggestions, review results
"""

__all__ = ["claims", "db", "jobs", "migrations", "models", "settings", "views"]
