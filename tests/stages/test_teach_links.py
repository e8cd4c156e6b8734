"""Teach never follows a link out of its root (issue 25, item 6): a person folder that is a
symlink to an outside folder, and a photo that is a symlink to an outside file, were both
taught, and the outside image's face thumbnail was served. Each file is checked where it
leads when it is read; links that stay inside the library still work. Real images, the real
analysis and teach job."""

from __future__ import annotations

import shutil
from pathlib import Path

from tagmyphotos.core import Core
from tagmyphotos.stages.steps import teach_folder as teach
from tagmyphotos.store import models as m
from tests.support.base import FACES, make_config, run
from tests.support.review import labelled


def files_of(identity: str) -> list[str]:
    return sorted(f for f, who in labelled().items() if who == identity)


def test_teach_job_refuses_links_out_of_the_library(tmp_path: Path) -> None:
    lib, outside = tmp_path / "library", tmp_path / "outside"
    anna, bob, cleo = files_of("person01")[:2], files_of("person02")[:2], files_of("person10")[:1]
    (lib / "people" / "Bob").mkdir(parents=True)
    (outside / "Anna").mkdir(parents=True)
    for f in anna:
        shutil.copyfile(FACES / f, outside / "Anna" / f)  # a private folder elsewhere on the server
    shutil.copyfile(FACES / bob[0], lib / "people" / "Bob" / bob[0])
    shutil.copyfile(FACES / bob[1], outside / bob[1])
    (lib / "people" / "Anna").symlink_to(outside / "Anna", target_is_directory=True)  # folder link out
    (lib / "people" / "Bob" / "out.jpg").symlink_to(outside / bob[1])  # photo link out
    (lib / "elsewhere").mkdir()
    shutil.copyfile(FACES / cleo[0], lib / "elsewhere" / cleo[0])
    (lib / "people" / "Cleo").symlink_to(lib / "elsewhere", target_is_directory=True)  # stays inside: fine
    core = Core(make_config(lib, tmp_path / "data"))
    try:
        job = run(core, "teach", root="library", folder="people")
        assert job.state == m.JobState.DONE, job.error
        assert job.result["people"] == {"Bob": 1, "Cleo": 1}, job.result
        reasons = {r["path"]: r["reason"] for r in job.result["rejected"]}
        assert set(reasons) == {"people/Anna", "people/Bob/out.jpg"}, reasons
        assert all("outside" in r for r in reasons.values())
        assert not m.Person.select().where(m.Person.name == "Anna").exists()
        read = {p.path for p in m.Photo.select()}
        assert not any("Anna" in p or "out.jpg" in p for p in read), read  # never analysed
        thumbs = [f.thumb for f in m.Face.select() if f.thumb]
        assert len(thumbs) == 2  # Bob's and Cleo's faces only: no thumbnail of an outside image

        # the CLI: a folder in the library has the library as its root, like the job
        report = teach.teach_folder(core, lib / "people")
        assert {Path(r["path"]).name for r in report.rejected} == {"Anna", "out.jpg"}
    finally:
        core.close()


def test_teach_cli_folder_outside_the_library_is_its_own_root(core: Core, tmp_path: Path) -> None:
    folder, elsewhere = tmp_path / "refs", tmp_path / "private"
    (folder / "Dan").mkdir(parents=True)
    elsewhere.mkdir()
    dan = files_of("person10")[:2]
    shutil.copyfile(FACES / dan[0], folder / "Dan" / dan[0])
    shutil.copyfile(FACES / dan[1], elsewhere / dan[1])
    (folder / "Dan" / "linked.jpg").symlink_to(elsewhere / dan[1])
    report = teach.teach_folder(core, folder)
    assert report.people == {"Dan": 1}
    assert [Path(r["path"]).name for r in report.rejected] == ["linked.jpg"]
