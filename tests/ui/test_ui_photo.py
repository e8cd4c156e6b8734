"""The photo view: boxes over the preview, naming a face, removing the name, a missing photo."""

from __future__ import annotations

from typing import Any

import pytest

from tagmyphotos.core import Core
from tagmyphotos.store import models as m
from tests.support.ui_harness import simulated_ui
from ui.pages.photo import PREVIEW_PX, svg

pytestmark = pytest.mark.asyncio


def one_face_photo() -> tuple[m.Photo, m.Face]:
    for photo in m.Photo.select().order_by(m.Photo.path):
        faces = list(photo.faces)
        if len(faces) == 1:
            return photo, faces[0]
    raise AssertionError("the test library has single-face photos")


async def test_name_a_face_in_its_photo_then_remove_the_name(analysed_core: Core) -> None:
    photo, face = one_face_photo()
    async with simulated_ui(analysed_core) as user:
        await user.open(f"/photo/{photo.id}?face={face.id}")
        await user.should_see(photo.path)
        await user.should_see(marker=f"photo-face-{face.id}")
        user.find(marker=f"assign-{face.id}").type("Uncle Bob")
        user.find(marker=f"assign-{face.id}-go").click()
        await user.should_see("Named Uncle Bob", retries=30)
        face = m.Face.get_by_id(face.id)
        assert face.state == m.FaceState.CONFIRMED and face.person.name == "Uncle Bob"
        await user.should_see("Remove name", retries=20)
        user.find("Remove name").click()
        await user.should_see("Name removed", retries=30)
    face = m.Face.get_by_id(face.id)
    assert (face.state, face.person_id) == (m.FaceState.UNKNOWN, None)


async def test_boxes_are_scaled_to_the_preview(analysed_core: Core) -> None:
    from tagmyphotos.review.photos import photo_detail

    photo, face = one_face_photo()
    info = photo_detail(photo.id)
    assert info is not None and info.width and info.height
    scale = min(1.0, PREVIEW_PX / max(info.width, info.height))
    drawn = svg(info.face_list, scale, face.id, max(info.width, info.height) * scale)
    assert f'id="face-{face.id}"' in drawn
    assert f'x="{round(face.x * scale, 1)}"' in drawn and f'width="{round(face.w * scale, 1)}"' in drawn


async def test_missing_photo_says_so(core: Core) -> None:
    async with simulated_ui(core) as user:
        await user.open("/photo/999999")
        await user.should_see("No such photo")


async def test_the_image_urls_the_pages_use_load_with_the_ui_session(analysed_core: Core) -> None:
    from ui.components.face_grid import PREVIEW_URL, thumb_url

    photo, face = one_face_photo()
    async with simulated_ui(analysed_core) as user:
        thumb = await user.http_client.get(thumb_url(face.id))
        preview = await user.http_client.get(PREVIEW_URL.format(id=photo.id) + f"?size={PREVIEW_PX}")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert preview.status_code == 200 and preview.content[:2] == b"\xff\xd8"
    async with simulated_ui(analysed_core, logged_in=False) as anon:
        assert (await anon.http_client.get(thumb_url(face.id))).status_code == 401


def _pointer(user, kind: str, x: float, y: float) -> None:
    user.find(marker="photo-image").trigger("mouse", {"mouse_event_type": kind, "image_x": x, "image_y": y})


async def test_mark_a_missed_face_by_dragging_then_by_two_clicks(analysed_core: Core) -> None:
    from tagmyphotos.review.photos import photo_detail

    photo, detected = one_face_photo()
    box = (detected.x, detected.y, detected.w, detected.h)
    detected.delete_instance()  # the detector "missed" it
    info = photo_detail(photo.id)
    assert info is not None
    scale = min(1.0, PREVIEW_PX / max(info.width, info.height))
    async with simulated_ui(analysed_core) as user:
        await user.open(f"/photo/{photo.id}")
        await user.should_see("No faces found in this photo")
        user.find(marker="mark-face-start").click()
        await user.should_see("Drag a box around the face", retries=60)
        # a drag from corner to corner of the face, in preview pixels
        _pointer(user, "pointerdown", (box[0] + box[2]) * scale, (box[1] + box[3]) * scale)
        _pointer(user, "pointerup", box[0] * scale, box[1] * scale)
        await user.should_see(marker="mark-face-go", retries=60)
        user.find(marker="mark-face").type("Eve")
        user.find(marker="mark-face-go").click()
        await user.should_see("Marked a face as Eve", retries=60)
        face = m.Face.get(m.Face.photo == photo.id)
        assert (face.source, face.state, face.person.name) == ("manual", m.FaceState.CONFIRMED, "Eve")
        assert all(abs(a - b) <= 2 / scale for a, b in zip((face.x, face.y, face.w, face.h), box, strict=True))
        assert face.embedding is not None
        await user.should_see(marker=f"photo-face-{face.id}")
        # two clicks mark a background box; saved without a name, then its box is deleted
        await _start_marking(user)
        side = max(analysed_core.cfg.analysis.min_face_px * 2, 120) * scale
        x0 = 2 if face.x * scale > info.width * scale / 2 else info.width * scale - side - 2
        for point in ((x0, 2), (x0 + side, 2 + side)):
            _pointer(user, "pointerdown", *point)
            _pointer(user, "pointerup", *point)
        await user.should_see("Save without a name", retries=60)
        user.find(marker="mark-face-unnamed").click()
        await user.should_see("Marked a face: 1 face", retries=60)
        other = m.Face.select().where((m.Face.photo == photo.id) & (m.Face.id != face.id)).get()
        assert other.state == m.FaceState.UNKNOWN and other.source == "manual"
        await user.should_see(marker=f"photo-face-{other.id}")
        user.find(marker=f"delete-face-{other.id}").click()
        await user.should_see("Box deleted", retries=60)
    assert m.Face.get_or_none(m.Face.id == other.id) is None


async def _start_marking(user: Any) -> None:
    """Click "Mark a missed face" once the page has re-rendered after the last save (a click on
    the button of the page being replaced is lost, as it would be for a person)."""
    for _ in range(5):
        user.find(marker="mark-face-start").click()
        try:
            await user.should_see("Drag a box around the face", retries=20)
            return
        except AssertionError:
            continue
    raise AssertionError("the marking panel did not open")
