"""scripts/evaluate --takeout [--groups N] [--seeds N]: names without boxes placed across a library.

Builds the test library of tagmyphotos_lab/takeout_library.py (group pictures of 2-4 people's portraits
named in a Google Takeout JSON, named single portraits, photos with no names; nobody named by
hand), runs the real scan, analyze and match stages, and scores every face of the group
pictures: placed (confirmed) rightly or wrongly, suggested rightly or wrongly, left. The same
again with PersonInImage tags (exiftool) instead of JSON. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tagmyphotos import tuning
from tagmyphotos.config import load_config
from tagmyphotos.core import Core
from tagmyphotos.stages.runner import run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos_lab.benchlib import emit, print_table
from tagmyphotos_lab.paths import EXIFTOOL, FACES
from tagmyphotos_lab.takeout_library import build, score


def run_library(mode: str, base: Path, groups: int | None, seed: int, singles: int) -> dict[str, float | int]:
    from jobs.pipeline import STAGES

    lib = base / f"{mode}-{seed}" / "library"
    built = build(FACES, lib, mode, groups=groups, seed=seed, singles_per_person=singles,
                  exiftool=str(EXIFTOOL) if EXIFTOOL.exists() else "exiftool")  # fmt: skip
    environ = {"TAGMYPHOTOS_LIBRARY": str(lib), "TAGMYPHOTOS_DATA": str(lib.parent / "data"),
               "TAGMYPHOTOS_SCAN__INTERVAL_MINUTES": "0"}  # fmt: skip
    if EXIFTOOL.exists():
        environ["TAGMYPHOTOS_WRITE__EXIFTOOL"] = str(EXIFTOOL)
    core = Core(load_config(path=lib.parent / "no-config.yaml", environ=environ))
    try:
        for stage in ("scan", "analyze", "match"):
            run_stage(core, STAGES[stage], jobs_store.create_job(stage, {"no_follow": True}))
        return score(built)
    finally:
        core.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--groups", type=int, default=None, help="group pictures per library (default: as many as fit)")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--singles", type=int, default=1, help="named single portraits per person (0: groups only)")
    ap.add_argument("--modes", default="json,personinimage", help="where the names are: json, personinimage")
    ap.add_argument("--sure-distance", type=float, help="calibration: tuning.PLACE_SURE_DISTANCE for this run")
    ap.add_argument("--sure-margin", type=float, help="calibration: tuning.PLACE_SURE_MARGIN for this run")
    args = ap.parse_args()
    if args.sure_distance is not None:
        tuning.PLACE_SURE_DISTANCE = args.sure_distance
    if args.sure_margin is not None:
        tuning.PLACE_SURE_MARGIN = args.sure_margin
    rows, figures = [], {}
    with tempfile.TemporaryDirectory(prefix="takeout-eval-") as tmp:
        for mode in args.modes.split(","):
            total: dict[str, float | int] = {}
            for seed in range(args.seeds):
                for k, v in run_library(mode, Path(tmp), args.groups, seed, args.singles).items():
                    total[k] = total.get(k, 0) + v
            faces = max(int(total["group_faces"]), 1)
            total["share_right"] = round((total["placed_right"] + total["suggested_right"]) / faces, 3)
            total["share_placed"] = round(total["placed_right"] / faces, 3)
            figures[mode] = total
            keys = ("group_photos", "group_faces", "placed_right", "placed_wrong", "suggested_right",
                    "suggested_wrong", "left", "share_right", "wrong_confirmed_all")  # fmt: skip
            rows.append([mode, *(total[k] for k in keys)])
    print_table(["names in", "group photos", "faces", "placed right", "placed wrong", "suggested right",
                 "suggested wrong", "left", "share right", "wrong confirmed (all)"], rows)  # fmt: skip
    emit({"takeout": figures, "seeds": args.seeds, "singles": args.singles,
          "sure_distance": tuning.PLACE_SURE_DISTANCE, "sure_margin": tuning.PLACE_SURE_MARGIN})  # fmt: skip


if __name__ == "__main__":
    main()
