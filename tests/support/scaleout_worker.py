"""The `tagmyphotos` CLI with one extra stage, `probe`, for the scale-out tests.

    python -m tests.support.scaleout_worker worker --workers 1

runs exactly what `tagmyphotos worker` runs (same CLI, same consumer, same stage runner, same
queue and database from the TAGMYPHOTOS_* environment), and can also run `probe` jobs: a stand-in
for analysis that claims photos through tagmyphotos.store.claims, reads and hashes each file (real
work, checkable: the hash must equal the scanner's), and logs one "processed" event per photo
in the same transaction that finishes the claim. A photo processed twice shows as two events.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import xxhash

from tagmyphotos.config import load_config
from tagmyphotos.core import Core
from tagmyphotos.stages.runner import Stage, StageContext
from tagmyphotos.store import claims
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m

# Photos per claim: small, so two workers interleave on a 64-photo library.
PROBE_BATCH = 4
# Seconds of "work" per photo in the claim race (real analysis takes far longer).
RACE_WORK_S = 0.005


def file_hash(path: Any) -> str:
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def stage_probe(core: Core, ctx: StageContext) -> dict[str, Any]:
    delay = float(ctx.params.get("delay_s", 0))
    ctx.set_total(m.Photo.select().where(m.Photo.state != m.PhotoState.DONE).count())
    processed = lost = 0
    while True:
        claim = claims.claim_photos(PROBE_BATCH)
        if not claim:
            break
        for photo_id in list(claim.ids):
            photo = m.Photo.get_by_id(photo_id)
            digest = file_hash(core.cfg.library / photo.path)
            time.sleep(delay)
            with core.db.atomic() as tx:
                if claims.finish_photo(claim, photo_id, m.PhotoState.DONE, analyzed_hash=digest):
                    jobs_store.log_event(ctx.job_id, f"processed by {claims.worker_name()}", path=photo.path)
                    processed += 1
                else:
                    tx.rollback()
                    lost += 1
            claims.renew_photos(claim)
            ctx.advance()
    return {"processed": processed, "lost": lost}


def claim_all(environ: dict[str, str], batch: int, start: Any = None) -> tuple[list[int], list[int]]:
    """One process of the claim race: claim until nothing is left; (claimed, finished) ids.

    `start`, a shared barrier, lines the processes up so they really race (spawned processes
    start a second apart: the first one could otherwise take every photo alone)."""
    core = Core(load_config(path="/nonexistent.yaml", environ=environ), upgrade=False)
    claimed: list[int] = []
    finished: list[int] = []
    if start is not None:
        start.wait(60)
    try:
        while True:
            claim = claims.claim_photos(batch)
            if not claim:
                return claimed, finished
            claimed += claim.ids
            for photo_id in list(claim.ids):
                time.sleep(RACE_WORK_S)  # the work on a photo: without it one process takes the lock back-to-back
                with core.db.atomic():
                    if claims.finish_photo(claim, photo_id, m.PhotoState.DONE):
                        finished.append(photo_id)
    finally:
        core.close()


def main(argv: list[str]) -> int:
    from jobs.pipeline import STAGES  # heavy (the analysis stack): only in worker processes
    from tagmyphotos_app.cli import main as cli_main

    STAGES["probe"] = Stage("probe", stage_probe, summary="claim, hash and log every pending photo")
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
