"""scripts/bench integrations: HTTP requests and time to notify Immich and PhotoPrism of one write job.

A fake Immich (real HTTP on 127.0.0.1, requests validated against the OpenAPI spec) holds a
library of F folders x A photos; one write job touched W photos in every folder. Our client
(folder search + batched refresh) is compared in the same run with the naive baseline of one
search and one refresh per file (IMMICH_FOLDER_SEARCH_MIN_FILES and IMMICH_JOB_BATCH_SIZE
forced to disable grouping), and PhotoPrism's folder indexing with one index call per file.
Request counts are the figure that matters on a NAS: each costs Immich a database query.
"""

from __future__ import annotations

import argparse

from benchlib import emit, print_table, timer

from integrations.immich import notify_immich
from integrations.photoprism import notify_photoprism
from tagmyphotos import tuning
from tests.fakes.builders import batch, integrations_cfg, written
from tests.fakes.immich import FakeImmich
from tests.fakes.photoprism import FakePhotoPrism


def run_immich(fake: FakeImmich, files: list[str], group: bool) -> tuple[int, float, int]:
    saved = (tuning.IMMICH_FOLDER_SEARCH_MIN_FILES, tuning.IMMICH_JOB_BATCH_SIZE)
    if not group:
        tuning.IMMICH_FOLDER_SEARCH_MIN_FILES, tuning.IMMICH_JOB_BATCH_SIZE = 10**9, 1
    try:
        fake.requests.clear()
        fake.job_runs.clear()
        cfg = integrations_cfg(
            immich={"url": fake.url, "api_key": fake.api_key, "path_map": {"remote_prefix": "/mnt/photos"}},
            timeout_s=30,
        )
        with timer() as t:
            res = notify_immich(cfg, batch(*[written(f) for f in files]))
        assert res.status == "ok", res.message
        assert len(set(fake.refreshed_ids())) == len(files)
        return len(fake.requests), t["s"], res.counts["refresh_calls"]
    finally:
        tuning.IMMICH_FOLDER_SEARCH_MIN_FILES, tuning.IMMICH_JOB_BATCH_SIZE = saved


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folders", type=int, default=50)
    ap.add_argument("--per-folder", type=int, default=100, help="photos per folder in Immich")
    ap.add_argument("--written", type=int, default=20, help="written photos per folder")
    args = ap.parse_args()
    folders = [f"{2000 + i // 5}/{i % 5:02}" for i in range(args.folders)]
    files = [f"{d}/IMG_{j:04}.jpg" for d in folders for j in range(args.written)]

    with FakeImmich(validate_responses=False) as im, FakePhotoPrism() as pp:
        for d in folders:
            for j in range(args.per_folder):
                im.add_asset(f"/mnt/photos/{d}/IMG_{j:04}.jpg")
        ours_req, ours_s, ours_refresh = run_immich(im, files, group=True)
        base_req, base_s, base_refresh = run_immich(im, files, group=False)
        assert im.violations == [], im.violations[:3]
        cfg = integrations_cfg(photoprism={"url": pp.url, "token": pp.token})
        with timer() as t_pp:
            res = notify_photoprism(cfg, batch(*[written(f) for f in files]))
        assert res.status == "ok" and pp.violations == []
        pp_calls = len(pp.indexed)

    n = len(files)
    print_table(
        ["target", "variant", "files", "requests", "refresh/index calls", "seconds"],
        [
            ["immich", "ours (folder search, batched refresh)", n, ours_req, ours_refresh, ours_s],
            ["immich", "baseline (per file)", n, base_req, base_refresh, base_s],
            ["photoprism", "ours (per folder)", n, pp_calls, pp_calls, t_pp["s"]],
            ["photoprism", "baseline (per file)", n, n, n, float("nan")],
        ],
    )
    emit(
        {
            "files": n,
            "immich_requests": ours_req,
            "immich_requests_baseline": base_req,
            "immich_requests_ratio": round(ours_req / base_req, 4),
            "immich_seconds": round(ours_s, 3),
            "immich_seconds_ratio": round(ours_s / base_s, 4),
            "immich_refresh_calls": ours_refresh,
            "photoprism_index_calls": pp_calls,
            "photoprism_calls_ratio": round(pp_calls / n, 4),
        }
    )


if __name__ == "__main__":
    main()
