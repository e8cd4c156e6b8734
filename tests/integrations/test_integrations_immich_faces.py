"""Immich push mode (people + faces) and removal of duplicate unnamed ML faces, against the fake."""

from __future__ import annotations

import pytest

from integrations.batch import FaceBox
from integrations.immich.client import notify_immich
from integrations.immich.faces import iou
from tagmyphotos_lab.fakes.builders import batch, written
from tagmyphotos_lab.fakes.immich import FakeImmich
from tests.support.immich import cfg_for

pytest_plugins = ("tests.support.immich",)


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.http.HTTP_BACKOFF_BASE_S", 0.05)

ANN = ("Ann", (0.10, 0.20, 0.10, 0.15))  # normalized x, y, w, h
BOB = ("Bob", (0.60, 0.25, 0.12, 0.16))


def px(box: tuple[float, float, float, float], size: tuple[int, int]) -> tuple[int, int, int, int]:
    x, y, w, h = box
    return (round(x * size[0]), round(y * size[1]), round((x + w) * size[0]), round((y + h) * size[1]))


def names_on(fake: FakeImmich, asset_id: str) -> list[str]:
    return sorted(fake.people[f["personId"]]["name"] for f in fake.live_faces(asset_id) if f["personId"])


def test_iou_basics() -> None:
    a = FaceBox(0.1, 0.1, 0.2, 0.2).corners()
    assert iou(a, a) == pytest.approx(1.0)
    assert iou(a, FaceBox(0.5, 0.5, 0.2, 0.2).corners()) == 0.0
    assert iou(a, FaceBox(0.2, 0.1, 0.2, 0.2).corners()) == pytest.approx(1 / 3)


def test_push_creates_people_and_faces_once(immich: FakeImmich) -> None:
    asset = immich.add_asset("/mnt/photos/p/1.jpg", 4000, 3000)
    immich.add_person("Ann")  # exists already: must be reused, not duplicated
    immich.add_person("Annabel")  # prefix decoy returned by Immich's person search
    job = batch(written("p/1.jpg", faces=(ANN, BOB)))

    first = notify_immich(cfg_for(immich, push_faces=True), job)
    assert first.counts["faces_created"] == 2 and first.counts["people_created"] == 1
    assert names_on(immich, asset) == ["Ann", "Bob"]
    created = {f["personId"]: f for f in immich.live_faces(asset)}
    ann_id = next(p["id"] for p in immich.people.values() if p["name"] == "Ann")
    assert (
        created[ann_id]["boundingBoxX1"],
        created[ann_id]["boundingBoxY1"],
        created[ann_id]["boundingBoxX2"],
        created[ann_id]["boundingBoxY2"],
    ) == px(ANN[1], (4000, 3000))
    assert created[ann_id]["sourceType"] == "manual"

    second = notify_immich(cfg_for(immich, push_faces=True), job)
    assert second.counts["faces_created"] == 0 and second.counts["faces_present"] == 2
    assert second.counts["people_created"] == 0
    assert len(immich.live_faces(asset)) == 2
    assert sorted(p["name"] for p in immich.people.values()) == ["Ann", "Annabel", "Bob"]
    assert len(immich.calls("POST", "/api/faces")) == 2  # nothing created the second time


def test_push_respects_a_face_named_in_immich(immich: FakeImmich) -> None:
    asset = immich.add_asset("/mnt/photos/p/2.jpg", 2000, 1500)
    # The user named this ML face "Ann" in Immich already; a slightly larger box (other detector).
    ann = immich.add_person("ann")
    x1, y1, x2, y2 = px(ANN[1], (1440, 1080))
    immich.add_face(asset, (x1 - 10, y1 - 12, x2 + 8, y2 + 10), (1440, 1080), person_id=ann)
    # Someone else at Bob's place: a conflict, left alone.
    carl = immich.add_person("Carl")
    immich.add_face(asset, px(BOB[1], (1440, 1080)), (1440, 1080), person_id=carl)
    res = notify_immich(
        cfg_for(immich, push_faces=True), batch(written("p/2.jpg", faces=(ANN, BOB), size=(2000, 1500)))
    )
    assert res.counts["faces_present"] == 1 and res.counts["faces_conflicting"] == 1
    assert res.counts["faces_created"] == 0
    assert "another name in Immich" in res.message
    assert names_on(immich, asset) == ["Carl", "ann"]


def test_push_then_remove_duplicate_ml_face(immich: FakeImmich) -> None:
    asset = immich.add_asset("/mnt/photos/p/3.jpg", 4000, 3000)
    preview = (1440, 1080)
    x1, y1, x2, y2 = px(ANN[1], preview)
    dup = immich.add_face(asset, (x1 - 15, y1 - 20, x2 + 10, y2 + 12), preview)  # unnamed ML, same head
    other = immich.add_face(asset, px((0.8, 0.7, 0.1, 0.1), preview), preview)  # unnamed ML, other head
    res = notify_immich(
        cfg_for(immich, push_faces=True, remove_duplicate_ml_faces=True),
        batch(written("p/3.jpg", faces=(ANN,))),
    )
    assert res.counts["faces_created"] == 1 and res.counts["ml_faces_removed"] == 1
    assert immich.faces[dup]["deleted"] is True  # soft delete (force: false), recoverable
    assert immich.calls("DELETE", f"/api/faces/{dup}")[0].json == {"force": False}
    assert not immich.faces[other]["deleted"]
    again = notify_immich(
        cfg_for(immich, push_faces=True, remove_duplicate_ml_faces=True),
        batch(written("p/3.jpg", faces=(ANN,))),
    )
    assert again.counts["faces_created"] == 0 and again.counts["ml_faces_removed"] == 0


def test_dedupe_with_import_on_and_no_push() -> None:
    with FakeImmich(faces_import=True) as fake:
        asset = fake.add_asset("/mnt/photos/p/4.jpg")
        dup = fake.add_face(asset, px(ANN[1], (1440, 1080)), (1440, 1080))
        res = notify_immich(
            cfg_for(fake, remove_duplicate_ml_faces=True), batch(written("p/4.jpg", faces=(ANN,)))
        )
        assert res.status == "ok", res.message
        assert fake.faces[dup]["deleted"] and fake.calls("POST", "/api/faces") == []
        assert fake.violations == []


def test_dedupe_is_skipped_when_import_cannot_be_confirmed() -> None:
    with FakeImmich(is_admin=False) as fake:
        asset = fake.add_asset("/mnt/photos/p/5.jpg")
        ml = fake.add_face(asset, px(ANN[1], (1440, 1080)), (1440, 1080))
        res = notify_immich(
            cfg_for(fake, remove_duplicate_ml_faces=True), batch(written("p/5.jpg", faces=(ANN,)))
        )
        assert not fake.faces[ml]["deleted"]
        assert res.status == "warning" and "duplicate Immich faces kept" in res.message
        assert fake.refreshed_ids() == [asset]
        assert fake.violations == []


def test_push_is_skipped_when_import_is_on() -> None:
    with FakeImmich(faces_import=True) as fake:
        asset = fake.add_asset("/mnt/photos/p/6.jpg")
        res = notify_immich(cfg_for(fake, push_faces=True), batch(written("p/6.jpg", faces=(ANN,))))
        assert fake.live_faces(asset) == [] and fake.calls("POST", "/api/people") == []
        assert "would duplicate" in res.message
        assert fake.violations == []


def test_face_push_failure_keeps_the_refresh(immich: FakeImmich) -> None:
    asset = immich.add_asset("/mnt/photos/p/7.jpg")
    immich.fail("POST /api/faces", status=400, times=1)
    res = notify_immich(cfg_for(immich, push_faces=True), batch(written("p/7.jpg", faces=(ANN,))))
    assert immich.refreshed_ids() == [asset]
    assert res.status == "warning" and "faces not synced" in res.message and "HTTP 400" in res.message
