"""Benchmark: what each UI page reads from the database, on a small and a NAS-sized library.

Every row is a function of the read model (tagmyphotos/review/queries.py, suggested.py,
photos.py) that the page, its API route and the CLI share. The Photos page rows ("photos: ...")
are the photos-by-people query (the one GET /api/v1/photos uses): one page of 60 photos with
its total, its face counts and its people.

    scripts/bench ui [--photos 100000] [--small 1000]

Rows are synthetic (this measures the page queries, not analysis): two faces per photo in a mix
of states, suggestions spread over people, unknown faces in clusters. Every page loads one page
of items, so its cost should not grow with the library; the figure per page is the ratio of
its time on the large library to its time on the small one, both measured in this run.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tagmyphotos.config import load_config
from tagmyphotos.core import Core
from tagmyphotos.review.people import list_people
from tagmyphotos.review.photos import PhotoFilter, find_photos, photo_detail
from tagmyphotos.review.queries import FaceFilter, find_faces, header_counts
from tagmyphotos.review.suggested import review_summary, suggestion_groups
from tagmyphotos.store import models as m
from tagmyphotos.suggest.clusters import list_clusters
from tagmyphotos_lab.benchlib import best_of, emit, peak_rss_mb, print_table, timer
from ui.pages import review, unknown
from ui.pages.photos import PHOTOS_PER_PAGE

CHUNK = 5000

PEOPLE = 300
# (state, band) of the faces, in proportion; clusters hold a third of the unknown faces.
MIX = (
    [("confirmed", None)] * 3
    + [("suggested", "likely"), ("suggested", "maybe"), ("unknown", None)] * 2
    + [("ignored", None)]
)


def fill(n_photos: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with m.database.atomic():
        m.Person.insert_many([{"name": f"Person {i:04d}"} for i in range(PEOPLE)]).execute()
        for start in range(0, n_photos, CHUNK):
            m.Photo.insert_many(
                [
                    {"path": f"{i // 500:04d}/IMG_{i:07d}.jpg", "size": 3_000_000, "mtime": 1.6e9 + i * 600,
                     "state": m.PhotoState.DONE, "width": 4000, "height": 3000}
                    for i in range(start, min(n_photos, start + CHUNK))
                ]
            ).execute()  # fmt: skip
        rows = []
        for pid in range(1, n_photos + 1):
            for k in range(2):
                state, band = rnd.choice(MIX)
                person_id = rnd.randint(1, PEOPLE)
                rows.append({
                    "photo": pid, "x": 100 + 900 * k, "y": 200, "w": 400, "h": 400, "quality": rnd.random(),
                    "state": state, "band": band, "thumb": "thumbs/x.jpg",
                    "person": person_id if state == "confirmed" else None,
                    "suggested_person": person_id if state == "suggested" else None,
                    "confidence": rnd.uniform(0.5, 1.0) if state == "suggested" else None,
                    "cluster": rnd.randint(1, max(1, n_photos // 40)) if state == "unknown" and rnd.random() < 0.33
                    else None,
                })  # fmt: skip
            if len(rows) >= CHUNK:
                m.Face.insert_many(rows).execute()
                rows = []
        if rows:
            m.Face.insert_many(rows).execute()
    for person in m.Person.select():
        count = m.Face.select().where(m.Face.person == person.id).count()
        first = m.Face.select(m.Face.id).where(m.Face.person == person.id).first()
        m.Person.update(face_count=count, cover_face_id=first.id if first else None).where(
            m.Person.id == person.id
        ).execute()


PAGES: dict[str, Any] = {
    "header counts": header_counts,
    "review": lambda: suggestion_groups(review_summary().order[: review.GROUPS_PER_PAGE], review.FACES_PER_GROUP),
    "unknown: groups": lambda: list_clusters(unknown.CLUSTERS_PER_PAGE, 0, unknown.FACES_PER_CLUSTER),
    "unknown: single faces": lambda: find_faces(unknown.SINGLES, "quality", 0, unknown.SINGLES_PER_PAGE),
    "people": lambda: list_people(True, None),
    "person": lambda: (
        find_faces(FaceFilter(person=1), "quality", 0, 96), find_faces(FaceFilter(suggested=1), "confidence", 0, 96)
    ),
    "photo": lambda: photo_detail(1),
    "photos: A and B": lambda: find_photos(PhotoFilter(people=(1, 2), mode="all"), 0, PHOTOS_PER_PAGE),
    "photos: A or B": lambda: find_photos(PhotoFilter(people=(1, 2), mode="any"), 0, PHOTOS_PER_PAGE),
    "photos: only A": lambda: find_photos(PhotoFilter(people=(1,), mode="only"), 0, PHOTOS_PER_PAGE),
    "photos: unnamed faces newest": lambda: find_photos(
        PhotoFilter(has_unnamed_faces=True, order="-date"), 0, PHOTOS_PER_PAGE
    ),
    "photos: a month in a folder": lambda: find_photos(
        PhotoFilter(date_from=1.6e9, date_to=1.6e9 + 30 * 86400, folder="0000"), 0, PHOTOS_PER_PAGE
    ),
}  # fmt: skip


def measure(n_photos: int, repeat: int) -> dict[str, float]:
    base = Path(tempfile.mkdtemp(prefix="tmp-bench-ui-"))
    try:
        env = {"TAGMYPHOTOS_LIBRARY": str(base / "lib"), "TAGMYPHOTOS_DATA": str(base / "data")}
        (base / "lib").mkdir()
        core = Core(load_config(base / "none.yaml", env))
        try:
            with timer() as t:
                fill(n_photos)
            print(f"filled {n_photos:,} photos / {2 * n_photos:,} faces in {t['s']:.1f} s")
            return {name: best_of(repeat, fn) for name, fn in PAGES.items()}
        finally:
            core.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    small = measure(args.small, args.repeat)
    large = measure(args.photos, args.repeat)
    rows = [(name, small[name] * 1000, large[name] * 1000, large[name] / small[name]) for name in PAGES]
    print_table(["page data", f"ms at {args.small:,}", f"ms at {args.photos:,}", "ratio"], rows)
    figures: dict[str, object] = {"photos": args.photos, "small_photos": args.small, "peak_rss_mb": peak_rss_mb()}
    for name, _small_ms, l_ms, ratio in rows:
        key = name.replace(": ", "_").replace(" ", "_")
        figures[f"{key}_ms"] = round(l_ms, 2)
        figures[f"{key}_ratio_to_small"] = round(ratio, 2)
    emit(figures)


if __name__ == "__main__":
    main()
