"""Two photos never share one sidecar (issue 25, item 7): with `sidecar_naming: photo.xmp`,
`a.jpg` and `a.png` both wrote `a.xmp` (the last one's people and size won, the job said 2
written). Photos whose names differ only in the extension get `photo.ext.xmp`, and the write
preview and the job say so. Real images, real exiftool, the real write stage."""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from tagmyphotos.core import Core
from tagmyphotos.review import confirm
from tagmyphotos.stages.write import preview
from tagmyphotos.store import models as m
from tests.support.base import FACES, make_config, people_in, run, scan_and_analyze


def face_of(path: str) -> int:
    return int(m.Face.select().join(m.Photo).where(m.Photo.path == path).get().id)


def test_photos_sharing_a_stem_get_their_own_sidecars(tmp_path: Path) -> None:
    lib = tmp_path / "library"
    lib.mkdir()
    shutil.copyfile(FACES / "img1.jpg", lib / "a.jpg")
    Image.open(FACES / "img2.jpg").save(lib / "a.PNG")  # another person, another size, same stem
    shutil.copyfile(FACES / "img3.jpg", lib / "b.jpg")
    env = {"TAGMYPHOTOS_WRITE__MODE": "sidecar", "TAGMYPHOTOS_WRITE__SIDECAR_NAMING": "photo.xmp"}
    core = Core(make_config(lib, tmp_path / "data", **env))
    try:
        scan_and_analyze(core)
        confirm.confirm(core, [face_of("a.jpg")], "Alice")
        confirm.confirm(core, [face_of("a.PNG")], "Bob")
        confirm.confirm(core, [face_of("b.jpg")], "Cleo")

        total, files = preview(core)
        notes = {f.path: f.note for f in files}
        assert total == 3
        assert "a.jpg.xmp" in notes["a.jpg"] and "a.PNG" in notes["a.jpg"], notes
        assert "a.PNG.xmp" in notes["a.PNG"] and "a.jpg" in notes["a.PNG"], notes
        assert "shares" not in notes["b.jpg"]

        job = run(core, "write")
        assert job.result["written"] == 3 and job.result["failed"] == 0, job.result
        assert not (lib / "a.xmp").exists()
        alice = str(people_in(lib / "a.jpg.xmp").get("PersonInImage"))
        assert "Alice" in alice and "Bob" not in alice
        bob = str(people_in(lib / "a.PNG.xmp").get("PersonInImage"))
        assert "Bob" in bob and "Alice" not in bob
        assert "Cleo" in str(people_in(lib / "b.xmp").get("PersonInImage"))  # no collision: the chosen naming
        events = [(e.path, e.message) for e in m.JobEvent.select().where(m.JobEvent.job == job.id)]
        assert {p for p, msg in events if "shares" in msg} == {"a.jpg", "a.PNG"}, events

        assert run(core, "write").result.get("written", 0) == 0  # a rerun finds them written
    finally:
        core.close()
