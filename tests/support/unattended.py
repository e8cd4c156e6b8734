"""The unattended scenario of issue 26, run against any topology through the REST API.

The owner taught three people from reference photos (two each, in the data folder) and set
review.auto_accept: sure, write.auto: after_match. Then new photos arrive in the library (every
other photo of the testdata: the three taught people, ten people nobody named, two group photos)
and an uploader calls the scan hook. With no further action: the sure faces are named and
written into the files, every name right, no unnamed person's face named; undoing the batch
puts every file back byte for byte.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tagmyphotos.store import models as m
from tests.support.base import EXIFTOOL, FACES

TAUGHT = {"person01": "Ann", "person03": "Bo", "person10": "Cy"}
ENV = {"TAGMYPHOTOS_REVIEW__AUTO_ACCEPT": "sure", "TAGMYPHOTOS_WRITE__AUTO": "after_match"}
FINAL = (m.JobState.DONE, m.JobState.FAILED, m.JobState.CANCELLED)
# Photos identities.csv leaves out, looked at by a person: where person01's face is in each
# (left, top, right, bottom, as fractions of the photo); nobody else there is one of TAUGHT.
UNLABELLED = {
    "couple.jpg": ("person01", (0.0, 0.0, 0.45, 1.0)),
    "selfie-many-people.jpg": ("person01", (0.08, 0.4, 0.4, 0.75)),
    "img11_reflection.jpg": ("person01", (0.0, 0.0, 1.0, 1.0)),
}
Api = Callable[..., Any]


def labels() -> dict[str, str]:
    """File -> person of every photo whose person is known (identities.csv, UNLABELLED)."""
    with open(FACES / "identities.csv", encoding="utf-8") as fh:
        return {**{r["file"]: r["identity"] for r in csv.DictReader(fh)}, **{f: p for f, (p, _) in UNLABELLED.items()}}


def where_expected(face: m.Face) -> bool:
    """A face of an UNLABELLED photo lies where that photo's person is (any face elsewhere)."""
    name = face.photo.path.rsplit("/", 1)[-1]
    if name not in UNLABELLED:
        return True
    left, top, right, bottom = UNLABELLED[name][1]
    cx = (face.x + face.w / 2) / face.photo.width
    cy = (face.y + face.h / 2) / face.photo.height
    return left <= cx <= right and top <= cy <= bottom


def reference_folder(data: Path) -> dict[str, str]:
    """<data>/people/<Name>/ with two photos of each taught person; returns file -> name taught."""
    taught: dict[str, str] = {}
    for who, name in TAUGHT.items():
        folder = data / "people" / name
        folder.mkdir(parents=True, exist_ok=True)
        for f in sorted(f for f, i in labels().items() if i == who and f not in UNLABELLED)[:2]:
            shutil.copyfile(FACES / f, folder / f)
            taught[f] = name
    return taught


def new_photos(library: Path, taught: dict[str, str]) -> dict[str, str]:
    """Every other testdata photo arrives in <library>/new/; returns path -> sha256."""
    folder = library / "new"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for src in sorted(FACES.glob("*.jpg")):
        if src.name not in taught:
            shutil.copyfile(src, folder / src.name)
            out[f"new/{src.name}"] = hashlib.sha256(src.read_bytes()).hexdigest()
    return out


def settled() -> bool:
    jobs = list(m.Job.select())
    return bool(jobs) and all(j.state in FINAL for j in jobs)


def wait(what: str, check: Callable[[], Any], timeout_s: float, alive: Callable[[], None]) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive()
        if result := check():
            return result
        time.sleep(0.5)
    jobs = [(j.id, j.type, j.state, j.error) for j in m.Job.select()]
    raise AssertionError(f"timed out waiting for {what}; jobs: {jobs}")


def run(api: Api, library: Path, data: Path, alive: Callable[[], None], timeout_s: float) -> None:
    taught = reference_folder(data)
    api("POST", "/teach/folder", json={"root": "data", "folder": "people"})
    wait("teaching", lambda: settled() and m.Person.select().count() == len(TAUGHT), timeout_s, alive)
    before = new_photos(library, taught)
    api("POST", "/hooks/scan", json={"folder": "new"})  # an uploader says "these just arrived"
    wait("scan -> analyze -> match -> auto-name -> write -> notify", lambda: settled() and m.Job.select().where(
        (m.Job.type == "write") & (m.Job.state == m.JobState.DONE)).exists(), timeout_s, alive)  # fmt: skip
    jobs = list(m.Job.select())
    assert {j.state for j in jobs} == {m.JobState.DONE}, [(j.id, j.type, j.state, j.error) for j in jobs]
    assert [j.type for j in jobs if j.type == "auto-name"], "the match handed over to the auto-name stage"

    # one run per match (several when the analysis of a big arrival is shared out in parts)
    batches = api("GET", "/auto/batches")["items"]
    assert batches and all(b["write_job_id"] for b in batches), batches
    ids = [b["id"] for b in batches]
    ident = labels()
    faces = list(m.Face.select(m.Face, m.Photo, m.Person).join(m.Photo).switch(m.Face).join(m.Person)
                 .where(m.Face.auto_batch.in_(ids)))  # fmt: skip
    assert len(faces) == sum(b["faces"] for b in batches)
    assert all(where_expected(f) for f in faces), [(f.photo.path, f.x, f.y) for f in faces if not where_expected(f)]
    named = {f.photo.path: f.person.name for f in faces}
    wrong = {p: n for p, n in named.items() if TAUGHT.get(ident.get(p.removeprefix("new/"), "")) != n}
    assert not wrong, f"named wrongly by itself: {wrong}"
    others = [p for p in before if TAUGHT.get(ident.get(p.removeprefix("new/"), "")) is None]
    expected = [p for p in before if p not in others]
    assert len(set(named) & set(expected)) >= 0.5 * len(expected), (sorted(named), expected)

    # no click: the names are in the files (or the sidecar the write chose for a file it cannot write)
    for path, name in named.items():
        sidecar = library / f"{path}.xmp"
        target = sidecar if sidecar.exists() else library / path
        found = json.loads(subprocess.run([str(EXIFTOOL), "-j", "-XMP-iptcExt:PersonInImage", str(target)],
                                          capture_output=True, text=True, check=True).stdout)[0]  # fmt: skip
        assert name in str(found.get("PersonInImage")), (path, found)
    for path in others:  # the photos of the ten people nobody named: untouched
        assert _sha(library / path) == before[path] and not (library / f"{path}.xmp").exists(), path

    for batch_id in ids:  # newest first, as the page lists them
        job_id = api("POST", f"/auto/batches/{batch_id}/undo")["restore_job"]["id"]
        wait("the undo's restore", lambda j=job_id: m.Job.get_by_id(j).state in FINAL and settled(), timeout_s, alive)
        assert m.Job.get_by_id(job_id).state == m.JobState.DONE, m.Job.get_by_id(job_id).error
        assert api("GET", f"/auto/batches/{batch_id}")["undone_at"]
    changed = [p for p in before if _sha(library / p) != before[p]]
    sidecars = sorted(str(p.relative_to(library)) for p in (library / "new").glob("*.xmp"))
    assert not changed and not sidecars, (changed, sidecars)
    assert m.Face.select().where(m.Face.auto_batch.is_null(False)).count() == 0


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
