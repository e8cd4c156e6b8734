"""Naming by itself (issue 26) through the real stages: match -> auto-name -> write on the
analysed testdata, then the batch undone (names back to suggestions, files byte for byte).

A few people are named by hand on two photos each, the others are named by nobody: the
product names only "sure" faces, every one of them right, none of an unnamed person; the
write puts them into the files; the undo restores those files exactly and the same faces are
never named automatically again."""

from __future__ import annotations

import csv
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tagmyphotos.core import Core
from tagmyphotos.review.auto import list_batches, undo_batch
from tagmyphotos.review.confirm import confirm, reject
from tagmyphotos.stages.write import desired_tags
from tagmyphotos.store import models as m
from tests.support import dbtarget
from tests.support.base import FACES, make_config, people_in, run
from tests.support.unattended import UNLABELLED, where_expected

NAMED = {"person01": "Ann", "person03": "Bo", "person10": "Cy"}  # the rest stay unnamed


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(lib: Path) -> dict[str, str]:
    """Every file of the library (photos and the sidecars a write made) and its digest."""
    return {p.name: sha(p) for p in lib.iterdir() if p.is_file()}


def photo_of(name: str) -> str:
    """The photo a file belongs to (itself, or the photo of its photo.jpg.xmp sidecar)."""
    return name[: -len(".xmp")] if name.endswith(".xmp") else name


def identities() -> dict[str, str]:
    with open(FACES / "identities.csv", encoding="utf-8") as fh:
        return {**{r["file"]: r["identity"] for r in csv.DictReader(fh)}, **{f: p for f, (p, _) in UNLABELLED.items()}}



def largest_face(path: str) -> m.Face:
    return m.Face.select().join(m.Photo).where(m.Photo.path == path).order_by((m.Face.w * m.Face.h).desc()).first()


@pytest.fixture
def auto_core(analysed_template: tuple[Path, Path], tmp_path: Path) -> Iterator[Core]:
    lib, data = analysed_template
    shutil.copytree(lib, tmp_path / "library")
    dbtarget.copy_data(data, tmp_path / "data")
    cfg = make_config(tmp_path / "library", tmp_path / "data", TAGMYPHOTOS_REVIEW__AUTO_ACCEPT="sure",
                      TAGMYPHOTOS_WRITE__AUTO="after_match")  # fmt: skip
    c = Core(cfg)
    try:
        yield c
    finally:
        c.close()


def name_two_each(core: Core) -> set[str]:
    """The owner names two photos of each NAMED person; returns the files named by hand."""
    ident = identities()
    by_hand: set[str] = set()
    for who, name in NAMED.items():
        files = sorted(f for f, i in ident.items() if i == who and f not in UNLABELLED)[:2]
        confirm(core, [largest_face(f).id for f in files], name)
        by_hand.update(files)
    return by_hand


def test_sure_faces_are_named_written_and_undone_byte_for_byte(auto_core: Core) -> None:
    core, lib = auto_core, auto_core.cfg.library
    ident = identities()
    by_hand = name_two_each(core)
    before = files(lib)

    match = run(core, "match")
    assert match.result["sure"] > 0, match.result
    job = run(core, "auto-name")
    assert job.state == m.JobState.DONE and job.result["named"] > 0, job.result
    batch_id = job.result["batch"]
    named = list(m.Face.select(m.Face, m.Photo).join(m.Photo).where(m.Face.auto_batch == batch_id))
    assert all(where_expected(f) for f in named), [(f.photo.path, f.x, f.y) for f in named if not where_expected(f)]
    seen = {f.photo.path: f.person.name for f in named}
    assert len(seen) == job.result["named"]
    for path, name in seen.items():  # every automatic name is right, none is an unnamed person's
        assert path not in by_hand
        assert NAMED.get(ident.get(path, "")) == name, (path, name, ident.get(path))
    share = len(set(seen) - set(UNLABELLED)) / sum(1 for f, i in ident.items() if i in NAMED and f not in by_hand)
    assert share >= 0.5, f"only {share:.0%} of the named people's other photos were named"

    write = run(core, "write", batch=batch_id, trigger="auto")
    assert write.state == m.JobState.DONE and write.result["written"] >= len(seen), write.result
    for path, name in seen.items():
        sidecar = lib / f"{path}.xmp"
        assert name in str(people_in(sidecar if sidecar.exists() else lib / path)["PersonInImage"])
    assert m.AutoBatch.get_by_id(batch_id).write_job == write.id

    # the owner renames one person afterwards: handled as if they had named those faces
    done = undo_batch(core, batch_id)
    assert sorted(done.faces) == sorted(m.AutoBatch.get_by_id(batch_id).face_ids)
    restore = run(core, "restore", batch=batch_id, paths=done.written_paths)
    assert restore.state == m.JobState.DONE and restore.result["restored"] == len(done.written_paths), restore.result
    assert restore.result["undone_faces"] == len(seen)
    after = files(lib)
    changed = {photo_of(p) for p in after.keys() | before.keys() if after.get(p) != before.get(p)}
    # every photo with a face of the batch is back byte for byte; a name given by hand in one of
    # them left the file with the rest and is written again by the next write
    assert changed == by_hand - set(seen), changed ^ (by_hand - set(seen))
    assert {t.path for t in desired_tags(core.cfg) if t.needs_write} == by_hand & set(seen)
    assert m.Face.select().where(m.Face.auto_batch == batch_id).count() == 0
    assert list_batches()[1][0].undone_at is not None

    # the same faces come back as suggestions, but are never named automatically again
    run(core, "match")
    again = run(core, "auto-name")
    assert again.result["named"] == 0, again.result


def test_always_ask_and_hidden_people_are_never_named_automatically(auto_core: Core) -> None:
    from tagmyphotos.review.people import find_person, set_ask_first, set_hidden

    core = auto_core
    name_two_each(core)
    ann, bo = find_person("Ann"), find_person("Bo")
    assert ann is not None and bo is not None
    set_ask_first(core, ann.id, True)
    set_hidden(core, bo.id, True)
    run(core, "match")
    run(core, "auto-name")
    named = {f.person_id for f in m.Face.select().where(m.Face.auto_batch.is_null(False))}
    assert ann.id not in named and bo.id not in named
    waiting = m.Face.select().where((m.Face.suggested_person == ann.id) & (m.Face.certainty == "sure")).count()
    assert waiting > 0, "Ann's sure faces wait in Review"


def test_a_person_acting_on_an_automatic_face_makes_it_theirs(auto_core: Core) -> None:
    core = auto_core
    name_two_each(core)
    run(core, "match")
    batch_id = run(core, "auto-name").result["batch"]
    face = m.Face.select().where(m.Face.auto_batch == batch_id).first()
    confirm(core, [face.id], "Somebody Else")  # moved by hand: a person's name now
    assert m.Face.get_by_id(face.id).auto_batch is None
    other = m.Face.select().where(m.Face.auto_batch == batch_id).first()
    reject(core, [other.id])
    row = m.Face.get_by_id(other.id)
    assert row.auto_batch is None and row.state != m.FaceState.CONFIRMED
    done = undo_batch(core, batch_id)
    assert face.id in done.kept and other.id in done.kept  # undo never clobbers what a person did
    assert m.Face.get_by_id(face.id).person.name == "Somebody Else"
