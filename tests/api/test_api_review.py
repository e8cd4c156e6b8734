"""Faces, suggestions, people and clusters through the API, on the real analysed testdata.

The labels in identities.csv pick which faces to name; what the service layer suggests from
them is whatever the real matcher computes (the tests check consistency, not fixed numbers).
"""

from __future__ import annotations

import csv
from collections import defaultdict

import pytest

from tagmyphotos.store import models as m
from tagmyphotos.suggest import clusters
from tests.support.api import ApiEnv, assert_problem
from tests.support.base import FACES

pytest_plugins = ("tests.support.api",)


def _identities() -> dict[str, list[str]]:
    people: dict[str, list[str]] = defaultdict(list)
    with open(FACES / "identities.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            people[row["identity"]].append(row["file"])
    return people


def _face(api: ApiEnv, path: str) -> int:
    faces = api.ok("GET", "/photos/by-path", params={"path": path})["face_list"]
    assert len(faces) >= 1, path
    return max(faces, key=lambda f: f["w"] * f["h"])["id"]


def _name(api: ApiEnv, name: str, paths: list[str]) -> dict:
    ids = [_face(api, p) for p in paths]
    return api.ok("POST", "/faces/confirm", json={"face_ids": ids, "name": name})


def test_confirm_by_name_creates_the_person_and_suggests_the_rest(api: ApiEnv) -> None:
    ids = _identities()
    result = _name(api, "Person One", ids["person01"][:3])
    assert result["action"] == "confirm" and result["created_person"] is True
    assert len(result["changed"]) == 3 and result["undo_id"]
    person = result["person"]
    assert person["name"] == "Person One" and person["face_count"] == 3
    assert person["cover_url"] == f"/api/v1/faces/{person['cover_face_id']}/thumb"
    assert api.get(person["cover_url"]).headers["content-type"] == "image/jpeg"
    confirmed = api.ok("GET", f"/people/{person['id']}/faces")
    assert confirmed["total"] == 3 and {f["id"] for f in confirmed["items"]} == set(result["changed"])
    suggested = api.ok("GET", f"/faces?suggested_person_id={person['id']}&limit=500")
    db = m.Face.select().where((m.Face.suggested_person == person["id"]) & (m.Face.state == m.FaceState.SUGGESTED))
    assert suggested["total"] == db.count() > 0
    assert all(f["state"] == "suggested" and f["band"] in ("likely", "maybe") for f in suggested["items"])


def test_suggestions_grouped_accept_reject_and_undo(api: ApiEnv) -> None:
    ids = _identities()
    for n, who in enumerate(("person01", "person10", "person03"), 1):
        _name(api, f"P{n}", ids[who][:3])
    groups = api.ok("GET", "/suggestions?per_person=500&limit=500")
    assert groups["total"] == len(groups["items"]) > 0
    for group in groups["items"]:
        pid = group["person"]["id"]
        assert {f["suggested_person_id"] for f in group["faces"]} == {pid}
        assert len(group["faces"]) == group["likely"] + group["maybe"]
        confidences = [f["confidence"] for f in group["faces"]]
        assert confidences == sorted(confidences, reverse=True)
    first = groups["items"][0]
    only = api.ok("GET", f"/suggestions?person_id={first['person']['id']}&band=maybe")
    assert all(f["band"] == "maybe" for g in only["items"] for f in g["faces"])
    to_accept = [f["id"] for f in first["faces"]]
    accepted = api.ok("POST", "/suggestions/accept", json={"face_ids": to_accept})
    assert set(accepted["changed"]) | {s["face_id"] for s in accepted["skipped"]} == set(to_accept)
    after = api.ok("GET", f"/people/{first['person']['id']}")
    assert after["face_count"] == 3 + len(accepted["changed"])
    undo = api.ok("GET", "/review/undo")
    assert undo["kind"] == "accept" and "accepted" in undo["label"]
    undone = api.ok("POST", "/review/undo")
    assert set(undone["changed"]) == set(accepted["changed"])
    assert api.ok("GET", f"/people/{first['person']['id']}")["face_count"] == 3
    if len(groups["items"]) > 1:
        face = groups["items"][1]["faces"][0]
        rejected = api.ok("POST", "/suggestions/reject", json={"face_ids": [face["id"]]})
        assert rejected["changed"] == [face["id"]]
        detail = api.ok("GET", f"/faces/{face['id']}")
        assert face["suggested_person_id"] in detail["rejected_person_ids"]
        assert detail["suggested_person_id"] != face["suggested_person_id"]


def test_accept_likely_for_one_person(api: ApiEnv) -> None:
    ids = _identities()
    person = _name(api, "Likely One", ids["person01"][:3])["person"]
    likely = m.Face.select().where(
        (m.Face.suggested_person == person["id"]) & (m.Face.band == "likely") & (m.Face.state == m.FaceState.SUGGESTED)
    )
    expected = {f.id for f in likely}
    result = api.ok("POST", "/suggestions/accept-likely", json={"person_id": person["id"]})
    assert expected and result["person"]["id"] == person["id"]
    assert set(result["changed"]) | {s["face_id"] for s in result["skipped"]} == expected
    assert result["person"]["face_count"] == 3 + len(result["changed"])
    assert_problem(api.post("/suggestions/accept-likely", json={"person_id": 999999}), 404)


def test_face_actions_ignore_unassign_reject_and_errors(api: ApiEnv) -> None:
    ids = _identities()
    a, b = _face(api, ids["person02"][0]), _face(api, ids["person02"][1])
    assert api.ok("POST", "/faces/ignore", json={"face_ids": [a, b]})["changed"] == [a, b]
    assert {f["state"] for f in api.ok("GET", "/faces?state=ignored")["items"]} == {"ignored"}
    assert api.ok("POST", "/faces/unassign", json={"face_ids": [a]})["changed"] == [a]
    assert api.ok("GET", f"/faces/{a}")["state"] == "unknown"
    person = api.ok("POST", "/people", json={"name": "Someone"})
    rejected = api.ok("POST", "/faces/reject", json={"face_ids": [a], "person_id": person["id"]})
    assert rejected["person"]["id"] == person["id"]
    assert person["id"] in api.ok("GET", f"/faces/{a}")["rejected_person_ids"]
    assert_problem(api.post("/faces/confirm", json={"face_ids": [a]}), 422)  # no person
    assert_problem(api.post("/faces/confirm", json={"face_ids": [a], "name": "X", "person_id": 1}), 422)
    assert_problem(api.post("/faces/confirm", json={"face_ids": [987654321], "name": "X"}), 404)
    assert_problem(api.post("/faces/ignore", json={"face_ids": []}), 422)
    assert_problem(api.post("/faces/ignore", json={"face_ids": ["one"]}), 422)
    assert_problem(api.post("/faces/ignore", json={"face_ids": list(range(1, 10_002))}), 422)
    assert_problem(api.post("/faces/ignore", content=b"{not json", headers={"Content-Type": "application/json"}), 422)
    assert_problem(api.get("/faces/987654"), 404)
    assert_problem(api.get("/faces/987654/thumb"), 404)


def test_face_list_filters_and_thumb_cache(api: ApiEnv) -> None:
    everything = api.ok("GET", "/faces?limit=500")
    assert everything["total"] == m.Face.select().count() > 0
    good = api.ok("GET", "/faces?min_quality=0.5&limit=500")
    assert all(f["quality"] >= 0.5 for f in good["items"])
    photo = m.Photo.get(m.Photo.path == "couple.jpg")
    in_photo = api.ok("GET", f"/faces?photo_id={photo.id}&order=photo")
    assert in_photo["total"] == m.Face.select().where(m.Face.photo == photo.id).count()
    qualities = [f["quality"] for f in everything["items"]]
    assert qualities == sorted(qualities, reverse=True)
    face = everything["items"][0]
    thumb = api.get(face["thumb_url"])
    assert thumb.status_code == 200 and thumb.content[:3] == b"\xff\xd8\xff"
    assert "max-age" in thumb.headers["cache-control"]
    again = api.get(face["thumb_url"], headers={"If-None-Match": thumb.headers["etag"]})
    assert again.status_code == 304
    m.Face.update(thumb="../../../../etc/passwd").where(m.Face.id == face["id"]).execute()
    assert_problem(api.get(face["thumb_url"]), 400)  # a poisoned row still cannot read outside


def test_people_crud_merge_hide_delete(api: ApiEnv) -> None:
    ids = _identities()
    one = _name(api, "Anna", ids["person04"][:2])["person"]
    two = _name(api, "Anne", ids["person04"][2:4])["person"]
    assert_problem(api.post("/people", json={"name": "anna"}), 409)
    assert_problem(api.post("/people", json={"name": "   "}), 400)
    renamed = api.ok("PATCH", f"/people/{one['id']}", json={"name": "Anna Smith"})
    assert renamed["name"] == "Anna Smith" and "Anna" in renamed["aliases"]
    assert_problem(api.call("PATCH", f"/people/{one['id']}", json={"name": "Anne"}), 409)
    assert_problem(api.call("PATCH", f"/people/{one['id']}", json={}), 400)
    hidden = api.ok("PATCH", f"/people/{two['id']}", json={"hidden": True})
    assert hidden["hidden"] is True
    listed = api.ok("GET", "/people?include_hidden=false")
    assert two["id"] not in {p["id"] for p in listed["items"]}
    assert api.ok("GET", "/people?q=anna smith")["total"] == 1
    by_count = api.ok("GET", "/people?order=-face_count")["items"]
    assert [p["face_count"] for p in by_count] == sorted((p["face_count"] for p in by_count), reverse=True)
    merged = api.ok("POST", f"/people/{one['id']}/merge", json={"source_ids": [two["id"]]})
    assert merged["person"]["face_count"] == 4 and "Anne" in merged["person"]["aliases"]
    assert_problem(api.get(f"/people/{two['id']}"), 404)
    assert_problem(api.post(f"/people/{one['id']}/merge", json={"source_ids": [one["id"]]}), 409)
    cover = api.ok("GET", f"/people/{one['id']}/faces")["items"][-1]["id"]
    assert api.ok("PATCH", f"/people/{one['id']}", json={"cover_face_id": cover})["cover_face_id"] == cover
    deleted = api.ok("DELETE", f"/people/{one['id']}")
    assert len(deleted["changed"]) == 4
    assert all(api.ok("GET", f"/faces/{f}")["state"] != "confirmed" for f in deleted["changed"])
    assert_problem(api.call("DELETE", f"/people/{one['id']}"), 404)


def test_clusters_list_detail_and_name(api: ApiEnv) -> None:
    report = clusters.refresh_clusters(api.core)  # what the match stage runs after analysis
    listing = api.ok("GET", "/clusters?sample=3&limit=500")
    assert listing["total"] == report.clusters == len(listing["items"])
    if not listing["items"]:
        pytest.skip("the matcher formed no cluster on this data")
    sizes = [c["size"] for c in listing["items"]]
    assert sizes == sorted(sizes, reverse=True) and all(len(c["faces"]) <= 3 for c in listing["items"])
    top = listing["items"][0]
    detail = api.ok("GET", f"/clusters/{top['id']}")
    assert detail["size"] == top["size"] == len(detail["faces"])
    assert set(detail["outlier_ids"]) <= {f["id"] for f in detail["faces"]}
    seen = [f["id"] for f in detail["faces"]]
    drop = seen[-1:] if len(seen) > 1 else []
    named = api.ok(
        "POST", f"/clusters/{top['id']}/name", json={"name": "Cluster Person", "face_ids": seen, "drop": drop}
    )
    assert set(named["changed"]) == set(seen) - set(drop)
    assert named["person"]["face_count"] == len(named["changed"])
    assert_problem(api.get(f"/clusters/{top['id']}"), 404)
    assert_problem(api.post(f"/clusters/{top['id']}/name", json={"name": "Again"}), 404)
    assert_problem(api.get("/clusters/-1"), 404)  # ids are digits: no such endpoint


def test_drop_faces_and_outliers_from_a_cluster(api: ApiEnv) -> None:
    clusters.refresh_clusters(api.core)
    listing = api.ok("GET", "/clusters?sample=3&limit=500")
    if not listing["items"]:
        pytest.skip("the matcher formed no cluster on this data")
    top = listing["items"][0]
    detail = api.ok("GET", f"/clusters/{top['id']}")
    outliers = api.ok("POST", f"/clusters/{top['id']}/drop", json={})["dropped"]
    assert sorted(outliers) == sorted(detail["outlier_ids"])
    members = [f["id"] for f in api.ok("GET", f"/clusters/{top['id']}?sample=1000")["faces"]]
    assert not set(outliers) & set(members)
    one = members[:1]
    assert api.ok("POST", f"/clusters/{top['id']}/drop", json={"face_ids": one})["dropped"] == one
    face = api.ok("GET", f"/faces/{one[0]}")
    assert face["state"] == "unknown" and face["cluster"] is None
    assert_problem(api.post("/clusters/999999/drop", json={}), 404)
