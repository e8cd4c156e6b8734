"""scripts/bench integrations: HTTP requests and time to notify Immich and PhotoPrism of one write job.

A fake Immich (real HTTP on 127.0.0.1, requests validated against the OpenAPI spec) holds a
library of F folders x A photos; one write job touched W photos in every folder. Our client
(folder search + batched refresh) is compared in the same run with the naive baseline of one
search and one refresh per file (IMMICH_FOLDER_SEARCH_MIN_FILES and IMMICH_JOB_BATCH_SIZE
forced to disable grouping), and PhotoPrism's folder indexing with one index call per file.
Request counts are the figure that matters on a NAS: each costs Immich a database query.

Name import (`--import-faces`, default 10,000): a fake Immich holds that many named faces on
photos of ours (two per photo, 100 people), and our SQLite library has the same faces detected.
The import reads pages of assets with their people and boxes (POST /api/search/metadata,
withPeople) and confirms every face; the baseline in the same run reads the same names the way
a server without boxes in search answers force (one GET /api/faces per asset). A second import
changes nothing.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from integrations.immich import client as immich
from integrations.immich import names as immich_names
from integrations.immich.client import ImmichClient, notify_immich
from integrations.photoprism.client import notify_photoprism
from integrations.stages.import_names import run_import
from tagmyphotos.config import load_config
from tagmyphotos.core import Core
from tagmyphotos.review.imported_names import known_photos
from tagmyphotos.store import models as m
from tagmyphotos_lab.benchlib import emit, print_table, timer
from tagmyphotos_lab.fakes.builders import batch, integrations_cfg, written
from tagmyphotos_lab.fakes.immich import FakeImmich
from tagmyphotos_lab.fakes.photoprism import FakePhotoPrism


def run_immich(fake: FakeImmich, files: list[str], group: bool) -> tuple[int, float, int]:
    saved = (immich.IMMICH_FOLDER_SEARCH_MIN_FILES, immich.IMMICH_JOB_BATCH_SIZE)
    if not group:
        immich.IMMICH_FOLDER_SEARCH_MIN_FILES, immich.IMMICH_JOB_BATCH_SIZE = 10**9, 1
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
        immich.IMMICH_FOLDER_SEARCH_MIN_FILES, immich.IMMICH_JOB_BATCH_SIZE = saved


PHOTO_W, PHOTO_H, PREVIEW_W, PREVIEW_H = 4000, 3000, 1440, 1080
BOXES = ((400, 600, 300, 300), (2000, 600, 300, 300))  # our faces, full-resolution pixels


def import_library(base: Path, photos: int) -> Core:
    """A real SQLite library of analysed photos with two detected faces each (no image files:
    the import only reads the database)."""
    env = {"TAGMYPHOTOS_LIBRARY": str(base / "library"), "TAGMYPHOTOS_DATA": str(base / "data")}
    (base / "library").mkdir()
    core = Core(load_config(path=base / "none.yaml", environ=env))
    rows = [{"path": f"{i // 1000}/IMG_{i:05}.jpg", "size": 1, "mtime": 0.0, "width": PHOTO_W, "height": PHOTO_H,
             "orientation": 1, "state": m.PhotoState.DONE} for i in range(photos)]  # fmt: skip
    with core.db.atomic():
        for i in range(0, len(rows), 500):
            m.Photo.insert_many(rows[i : i + 500]).execute()
        ids = [pid for (pid,) in m.rows(m.Photo.select(m.Photo.id).order_by(m.Photo.id))]
        faces = [{"photo": pid, "x": x, "y": y, "w": w, "h": h} for pid in ids for x, y, w, h in BOXES]
        for i in range(0, len(faces), 500):
            m.Face.insert_many(faces[i : i + 500]).execute()
    return core


def immich_with_names(fake: FakeImmich, photos: int) -> None:
    people = [fake.add_person(f"Person {n:03}") for n in range(100)]
    k = PREVIEW_W / PHOTO_W
    for i in range(photos):
        asset = fake.add_asset(f"/mnt/photos/{i // 1000}/IMG_{i:05}.jpg", PHOTO_W, PHOTO_H)
        for j, (x, y, w, h) in enumerate(BOXES):
            box = (round(x * k), round(y * k), round((x + w) * k), round((y + h) * k))
            fake.add_face(asset, box, (PREVIEW_W, PREVIEW_H), people[(2 * i + j) % len(people)])


def bench_import(faces: int) -> dict[str, float]:
    photos = faces // len(BOXES)
    with tempfile.TemporaryDirectory() as tmp, FakeImmich(validate_responses=False) as fake:
        core = import_library(Path(tmp), photos)
        immich_with_names(fake, photos)
        core.cfg.integrations.immich.url = fake.url
        core.cfg.integrations.immich.api_key = fake.api_key  # type: ignore[assignment]
        core.cfg.integrations.immich.path_map.remote_prefix = "/mnt/photos"
        icfg, cfg = core.cfg.integrations.immich, core.cfg.integrations
        try:
            fake.faces_in_search = False
            with ImmichClient(icfg, cfg.timeout_s, 0) as client, timer() as t_base:
                base = immich_names.fetch_names(client, icfg, core.cfg.library, known_photos())
            fake.faces_in_search = True
            with ImmichClient(icfg, cfg.timeout_s, 0) as client, timer() as t_fetch:
                ours = immich_names.fetch_names(client, icfg, core.cfg.library, known_photos())
            assert sum(len(p.names) for p in ours.photos) == sum(len(p.names) for p in base.photos) == faces
            with timer() as t_import:
                first = run_import(core, "immich")
            assert first["imported"] == faces, first
            with timer() as t_again:
                again = run_import(core, "immich")
            assert again["imported"] == 0 and again["already"] == faces, again
        finally:
            core.close()
    print_table(
        ["name import", "faces", "requests", "seconds", "faces/s"],
        [
            ["read: ours (pages of assets with people and boxes)", faces, ours.requests, t_fetch["s"],
             faces / t_fetch["s"]],
            ["read: baseline (one GET /api/faces per asset)", faces, base.requests, t_base["s"], faces / t_base["s"]],
            ["import: read + confirm every face", faces, first["requests"], t_import["s"], faces / t_import["s"]],
            ["import again (nothing changes)", faces, again["requests"], t_again["s"], faces / t_again["s"]],
        ],
    )  # fmt: skip
    return {
        "import_faces": faces,
        "import_assets": photos,
        "import_page_size": immich_names.IMMICH_IMPORT_PAGE_SIZE,
        "import_requests": first["requests"],
        "import_requests_baseline": base.requests,
        "import_requests_ratio": round(ours.requests / base.requests, 4),
        "import_read_seconds_ratio": round(t_fetch["s"] / t_base["s"], 4),
        "import_seconds": round(t_import["s"], 3),
        "import_faces_per_s": round(faces / t_import["s"], 1),
        "import_again_seconds": round(t_again["s"], 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folders", type=int, default=50)
    ap.add_argument("--per-folder", type=int, default=100, help="photos per folder in Immich")
    ap.add_argument("--written", type=int, default=20, help="written photos per folder")
    ap.add_argument("--import-faces", type=int, default=10_000, help="named faces in Immich for the name import")
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
    figures = bench_import(args.import_faces) if args.import_faces else {}
    emit(
        {
            **figures,
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
