"""What tests share, in one place (tests import from here, never from another test module).

Shared with the benchmarks, in tagmyphotos_lab: appserver (`tagmyphotos serve` in a subprocess, the
one launcher), servers (real PostgreSQL and redis-server from the Debian packages), fakes
(Immich, PhotoPrism and a webhook receiver, validated against the services' specs), paths.

- base: paths (ROOT, the shared testdata), writable copies, a real Config, stages run in-process
- dbtarget: SQLite or (--db=postgres) a fresh PostgreSQL database per data folder
- api: the real app (FastAPI + web.mount) over an analysed library, as pytest fixtures
- ui_harness: NiceGUI's simulated user against a real Core
- browser, e2e: a real server (tagmyphotos_lab.appserver) and headless Chromium for tests/browser
- review, vectors: synthetic faces, people and vectors with exact distances
- immich: the fake Immich as a fixture; container: the Docker image run for real
- kill, badinputs, rawfiles, security: kill -9 rounds, hostile files, RAW files, route enumeration
- scaleout_worker: `tagmyphotos worker` with a probe stage (run as a module)
"""
