"""/photos through the real app on the analysed testdata library: lists, detail, images, paths."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from tagmyphotos.store import models as m
from tests.support.api import ApiEnv, assert_problem

pytest_plugins = ("tests.support.api",)


def test_list_pages_through_every_photo_once(api: ApiEnv) -> None:
    total = m.Photo.select().count()
    seen: list[str] = []
    offset = 0
    while True:
        page = api.ok("GET", f"/photos?limit=10&offset={offset}")
        assert page["total"] == total and page["limit"] == 10
        seen += [p["path"] for p in page["items"]]
        offset += 10
        if offset >= total:
            break
    assert len(seen) == total == len(set(seen)) == 64
    assert seen == sorted(seen)  # default order: path
    newest = api.ok("GET", "/photos?order=-size&limit=3")["items"]
    assert [p["size"] for p in newest] == sorted((p.size for p in m.Photo.select()), reverse=True)[:3]
    assert_problem(api.get("/photos?limit=501"), 422)
    assert_problem(api.get("/photos?order=colour"), 422)


def test_a_single_valued_query_parameter_given_twice_is_refused_not_half_read(api: ApiEnv) -> None:
    for path in ("/photos?order=path&order=-size", "/photos?limit=5&limit=6", "/people?q=a&q=b"):
        body = assert_problem(api.get(path), 422)
        assert body["errors"][0]["loc"][0] == "query" and "once" in body["detail"], path
    # a list parameter takes repeats: photos with every person given (two new people: none yet)
    a, b = (api.ok("POST", "/people", json={"name": name})["id"] for name in ("Repeat A", "Repeat B"))
    assert api.ok("GET", f"/photos?people={a}&people={b}")["total"] == 0
    assert_problem(api.get(f"/photos?people={a}&people=999999"), 404)  # both are read


def test_filters_match_the_database(api: ApiEnv) -> None:
    done = api.ok("GET", "/photos?state=done&limit=500")
    assert done["total"] == m.Photo.select().where(m.Photo.state == m.PhotoState.DONE).count() > 0
    with_unknown = api.ok("GET", "/photos?has_unknown_faces=true&limit=500")
    expected = {pid for (pid,) in m.rows(m.Face.select(m.Face.photo).where(m.Face.state == m.FaceState.UNKNOWN))}
    assert {p["id"] for p in with_unknown["items"]} == expected
    assert all(p["unknown_faces"] > 0 for p in with_unknown["items"])
    without = api.ok("GET", "/photos?has_unknown_faces=false&limit=500")
    assert with_unknown["total"] + without["total"] == 64
    assert api.ok("GET", "/photos?q=img1")["total"] == len([p for p in m.Photo.select() if "img1" in p.path])
    assert api.ok("GET", "/photos?has_error=true")["total"] == 0
    assert api.ok("GET", "/photos?written=true")["total"] == 0


def test_person_and_folder_filters(api: ApiEnv) -> None:
    face = m.Face.select().where(m.Face.state == m.FaceState.UNKNOWN).first()
    person = m.Person.create(name="Filter Test")
    m.Face.update(person=person.id, state=m.FaceState.CONFIRMED).where(m.Face.id == face.id).execute()
    found = api.ok("GET", f"/photos?person_id={person.id}")
    assert [p["id"] for p in found["items"]] == [face.photo_id]
    assert found["items"][0]["confirmed_faces"] == 1
    m.Photo.update(path="trips/2020/" + m.Photo.path).where(m.Photo.id == face.photo_id).execute()
    assert api.ok("GET", "/photos?folder=trips")["total"] == 1
    assert api.ok("GET", "/photos?folder=trips&recursive=false")["total"] == 0
    assert api.ok("GET", "/photos?folder=trips/2020&recursive=false")["total"] == 1
    assert api.ok("GET", "/photos?folder=&recursive=false")["total"] == 63
    assert api.ok("GET", "/photos?folder=trip")["total"] == 0  # a prefix of a name is not a folder
    assert_problem(api.get("/photos?folder=../trips"), 400)


def test_detail_has_faces_and_write_state(api: ApiEnv) -> None:
    photo = m.Photo.get(m.Photo.path == "couple.jpg")
    detail = api.ok("GET", f"/photos/{photo.id}")
    faces = list(m.Face.select().where(m.Face.photo == photo.id))
    assert detail["path"] == "couple.jpg" and detail["faces"] == len(faces) >= 2
    assert {f["id"] for f in detail["face_list"]} == {f.id for f in faces}
    first = detail["face_list"][0]
    assert first["photo_id"] == photo.id and first["photo_path"] == "couple.jpg"
    assert first["thumb_url"] == f"/api/v1/faces/{first['id']}/thumb"
    assert [f["x"] for f in detail["face_list"]] == sorted(f["x"] for f in detail["face_list"])
    assert detail["written"] is False and detail["writes"] == []
    m.WriteAudit.create(photo=photo.id, path=photo.path, mode="sidecar", result="ok", tags={"people": ["A"]})
    assert api.ok("GET", f"/photos/{photo.id}")["writes"][0]["result"] == "ok"
    by_path = api.ok("GET", "/photos/by-path?path=couple.jpg")
    assert by_path["id"] == photo.id


def test_preview_is_a_scaled_oriented_jpeg_with_etag(api: ApiEnv) -> None:
    photo = m.Photo.select().where(m.Photo.format == "JPEG").order_by(m.Photo.size.desc()).first()
    resp = api.get(f"/photos/{photo.id}/preview?size=256")
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(resp.content))
    assert max(image.size) == 256
    shown_w = photo.height if photo.orientation >= 5 else photo.width
    shown_h = photo.width if photo.orientation >= 5 else photo.height
    assert abs(image.size[0] / image.size[1] - shown_w / shown_h) < 0.02
    again = api.get(f"/photos/{photo.id}/preview?size=256", headers={"If-None-Match": resp.headers["etag"]})
    assert again.status_code == 304 and not again.content
    assert_problem(api.get(f"/photos/{photo.id}/preview?size=5000"), 422)


def test_original_is_the_file_byte_for_byte(api: ApiEnv) -> None:
    photo = m.Photo.get(m.Photo.path == "img2.jpg")
    resp = api.get(f"/photos/{photo.id}/original")
    assert resp.status_code == 200
    assert resp.content == (api.core.library / "img2.jpg").read_bytes()


@pytest.mark.parametrize(
    "path",
    ["../etc/passwd", "/etc/passwd", "a/../../x", "%2e%2e/%2e%2e/etc/passwd", "%252e%252e/x",
     "..%2fetc", "．．/x", "img1.jpg\x00.png", "C:/Windows/win.ini", "a\\..\\b", "~/x"],
)  # fmt: skip
def test_traversal_attempts_are_refused(api: ApiEnv, path: str) -> None:
    body = assert_problem(api.get("/photos/by-path", params={"path": path}), 400)
    assert "path" in body["detail"]


def test_raw_encoded_traversal_in_the_url_is_refused(api: ApiEnv) -> None:
    resp = api.client.get("/api/v1/photos/by-path?path=%2e%2e%2f%2e%2e%2fetc%2fpasswd", headers=api.full)
    assert_problem(resp, 400)


def test_symlink_out_of_the_library_is_never_read(api: ApiEnv, tmp_path: Path) -> None:
    secret = tmp_path / "outside-secret.jpg"
    secret.write_bytes(b"\xff\xd8\xff secret bytes outside the library")
    photo = m.Photo.get(m.Photo.path == "img3.jpg")
    target = api.core.library / "img3.jpg"
    target.unlink()
    os.symlink(secret, target)  # swapped for a link after the scan
    for url in (f"/photos/{photo.id}/original", f"/photos/{photo.id}/preview"):
        resp = api.get(url)
        assert resp.status_code == 400 and b"secret bytes" not in resp.content
    os.symlink(secret, api.core.library / "link.jpg")
    assert_problem(api.get("/photos/by-path?path=link.jpg"), 400)


@pytest.mark.parametrize("pid", ["abc", "1.5", "-1", "0x10", "99999999999999999999999", "1;DROP"])
def test_malformed_ids_are_problems(api: ApiEnv, pid: str) -> None:
    resp = api.get(f"/photos/{pid}")
    assert resp.status_code in (404, 422)
    assert_problem(resp, resp.status_code)


def test_unknown_photo_is_404(api: ApiEnv) -> None:
    body = assert_problem(api.get("/photos/987654"), 404)
    assert "987654" in body["detail"]
    assert_problem(api.get("/photos/987654/preview"), 404)
    assert_problem(api.get("/photos/by-path?path=not/there.jpg"), 404)


def test_mark_a_missed_face_name_it_then_delete_it(api: ApiEnv) -> None:
    detail = api.ok("GET", "/photos/by-path", params={"path": "img1.jpg"})
    face = detail["face_list"][0]
    m.Face.delete().where(m.Face.id == face["id"]).execute()  # as if the detector had missed it
    box = {k: face[k] for k in ("x", "y", "w", "h")}
    url = f"/photos/{detail['id']}/faces"
    resp = api.post(url, json={**box, "name": "Dee"})
    assert resp.status_code == 201, resp.text
    added = resp.json()
    assert added["action"] == "add-face" and added["person"]["name"] == "Dee" and added["created_person"]
    assert added["warnings"] == [] and added["undo_id"]
    new = api.ok("GET", f"/faces/{added['changed'][0]}")
    assert (new["source"], new["state"], new["person_name"]) == ("manual", "confirmed", "Dee")
    assert api.get(new["thumb_url"]).headers["content-type"] == "image/jpeg"
    assert "marked a face as Dee" in api.ok("GET", "/review/undo")["label"]
    # the same face again, a box too small, both a name and an id, an unknown photo
    assert_problem(api.post(url, json=box), 409)
    assert "at least" in assert_problem(api.post(url, json={"x": 5, "y": 5, "w": 8, "h": 8}), 409)["detail"]
    assert_problem(api.post(url, json={**box, "name": "Dee", "person_id": 1}), 422)
    assert_problem(api.post("/photos/987654/faces", json=box), 404)
    assert_problem(api.post(url, json=box, key="read"), 403)
    # only hand-marked faces can be deleted
    other = api.ok("GET", "/photos/by-path", params={"path": "img2.jpg"})["face_list"][0]
    assert "ignore it instead" in assert_problem(api.call("DELETE", f"/faces/{other['id']}"), 409)["detail"]
    gone = api.ok("DELETE", f"/faces/{new['id']}")
    assert gone["action"] == "remove-face" and gone["changed"] == [new["id"]]
    assert_problem(api.get(f"/faces/{new['id']}"), 404)
    api.ok("POST", "/review/undo")
    assert api.ok("GET", f"/faces/{new['id']}")["person_name"] == "Dee"


def test_a_nul_character_is_refused_before_any_query(api: ApiEnv) -> None:
    """PostgreSQL stores no NUL in text (SQLite does): both answer 400, never a 500."""
    for params in ({"q": "img\x001"}, {"folder": "a\x00"}):
        body = assert_problem(api.get("/photos", params=params), 400)
        assert "NUL" in body["detail"]
    resp = api.post("/faces/confirm", content=b'{"face_ids": [1], "name": "Ann\\u0000"}',
                    headers={"content-type": "application/json"})  # fmt: skip
    detail = assert_problem(resp, 400)["detail"]
    assert "NUL" in detail
    assert detail.startswith("name: ")  # says which field holds it
    assert not m.Person.select().where(m.Person.name.startswith("Ann")).exists()
