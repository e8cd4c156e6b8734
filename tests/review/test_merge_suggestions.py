"""Merge suggestions on the analysed testdata: one real person named twice is found, with evidence;
different people are not; "different people" is remembered; the merge is one action."""

from __future__ import annotations

from tagmyphotos.review import confirm, merges
from tagmyphotos.store import models as m
from tests.support import dbtarget
from tests.support.api import ApiEnv, assert_problem
from tests.support.ui_harness import identities

pytest_plugins = ("tests.support.api",)


def _single_faces(identity: str) -> list[int]:
    """The faces of this test identity's photos that show one face only."""
    out = []
    for file, who in sorted(identities().items()):
        faces = list(m.Face.select().join(m.Photo).where(m.Photo.path == file))
        if who == identity and len(faces) == 1:
            out.append(int(faces[0].id))
    return out


def _name_people(api: ApiEnv) -> dict[str, int]:
    """person01 split in two ("Anna" and "Anna B."), person02 and person03 named once each."""
    anna = _single_faces("person01")
    assert len(anna) >= 4
    half = len(anna) // 2
    for name, ids in (("Anna", anna[:half]), ("Anna B.", anna[half:]), ("Dora", _single_faces("person02")),
                      ("Carl", _single_faces("person03"))):  # fmt: skip
        confirm.confirm(api.core, ids, name)
    return {p.name: int(p.id) for p in m.Person.select()}


def test_a_person_named_twice_is_suggested_with_evidence(api: ApiEnv) -> None:
    ids = _name_people(api)
    page = api.ok("GET", "/people/merge-suggestions")
    assert page["total"] == 1 == len(page["items"])
    pair = page["items"][0]
    assert {pair["a"]["name"], pair["b"]["name"]} == {"Anna", "Anna B."}
    assert pair["a"]["face_count"] >= pair["b"]["face_count"]
    assert 0 < pair["closest_distance"] <= pair["distance"] + 0.2 and pair["distance"] <= pair["threshold"]
    assert pair["threshold"] == 0.55 and pair["model"].startswith("Dlib")
    for side in ("a", "b"):
        faces = pair[f"faces_{side}"]
        assert 1 <= len(faces) <= 4 and all(f["person_id"] == pair[side]["id"] for f in faces)
        assert all(f["thumb_url"] for f in faces)
    assert len(api.ok("GET", "/people/merge-suggestions?faces=1")["items"][0]["faces_a"]) == 1
    assert {ids["Dora"], ids["Carl"]}.isdisjoint({pair["a"]["id"], pair["b"]["id"]})


def test_different_people_is_remembered_and_can_be_forgotten(api: ApiEnv) -> None:
    ids = _name_people(api)
    body = {"person_ids": [ids["Anna B."], ids["Anna"]]}
    stored = api.ok("POST", "/people/merge-suggestions/different", json=body)
    assert {stored["a"]["name"], stored["b"]["name"]} == {"Anna", "Anna B."}
    api.ok("POST", "/people/merge-suggestions/different", json=body)  # twice is fine
    assert api.ok("GET", "/people/merge-suggestions")["total"] == 0
    assert m.DistinctPeople.select().count() == 1
    assert api.ok("GET", "/people/merge-suggestions/different")["total"] == 1
    api.ok("DELETE", f"/people/merge-suggestions/different/{ids['Anna']}/{ids['Anna B.']}")
    assert api.ok("GET", "/people/merge-suggestions")["total"] == 1
    assert_problem(api.call("DELETE", f"/people/merge-suggestions/different/{ids['Anna']}/{ids['Carl']}"), 404)
    assert_problem(api.post("/people/merge-suggestions/different", json={"person_ids": [ids["Anna"]] * 2}), 409)
    assert_problem(api.post("/people/merge-suggestions/different", json={"person_ids": [ids["Anna"], 99999]}), 404)
    assert_problem(api.post("/people/merge-suggestions/different", json={"person_ids": [1]}), 422)


def test_merge_in_one_action_and_hidden_people_are_left_out(api: ApiEnv) -> None:
    ids = _name_people(api)
    api.ok("PATCH", f"/people/{ids['Anna B.']}", json={"hidden": True})
    assert api.ok("GET", "/people/merge-suggestions")["total"] == 0
    api.ok("PATCH", f"/people/{ids['Anna B.']}", json={"hidden": False})
    before = m.Face.select().where(m.Face.person.in_([ids["Anna"], ids["Anna B."]])).count()
    tagged = m.Photo.get(m.Photo.path == "couple.jpg")  # a photo-level name (tags, no face) follows the merge
    m.PhotoName.create(photo=tagged.id, person=ids["Anna B."], sources=["XMP-iptcExt:PersonInImage"])
    body = {"person_ids": [ids["Anna"], ids["Anna B."]], "into": ids["Anna"]}
    result = api.ok("POST", "/people/merge-suggestions/merge", json=body)
    assert result["action"] == "merge" and result["person"]["name"] == "Anna" and result["undo_id"]
    assert "Anna B." in result["person"]["aliases"] and result["person"]["face_count"] == before
    assert m.Person.get_or_none(m.Person.id == ids["Anna B."]) is None
    assert [n.person_id for n in m.PhotoName.select().where(m.PhotoName.photo == tagged.id)] == [ids["Anna"]]
    assert api.ok("GET", "/people/merge-suggestions")["total"] == 0
    assert_problem(api.post("/people/merge-suggestions/merge", json={"person_ids": [ids["Dora"], ids["Carl"]],
                                                                   "into": ids["Anna"]}), 409)  # fmt: skip


def test_without_a_split_nobody_is_suggested(api: ApiEnv) -> None:
    for number in range(1, 11):  # ten people named from all their single-face photos
        confirm.confirm(api.core, _single_faces(f"person{number:02d}"), f"Person {number}")
    found, total = merges.merge_suggestions(api.core)
    assert total == 0 and found == []


def test_cli_photos_and_merge_suggestions(api: ApiEnv) -> None:
    """`tagmyphotos photos` and `merge-suggestions` read the same model as the API (--json)."""
    import json
    import os
    import subprocess
    import sys

    from tests.support.base import ROOT

    _name_people(api)
    cfg = api.core.cfg
    env = {**os.environ, "TAGMYPHOTOS_LIBRARY": str(cfg.library), "TAGMYPHOTOS_DATA": str(cfg.data),
           "TAGMYPHOTOS_CONFIG": str(cfg.data / "absent.yaml"), **dbtarget.database_env(cfg.data)}  # fmt: skip

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "tagmyphotos_app", *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)

    out = cli("photos", "--person", "anna", "--person", "Dora", "--mode", "any", "--json")
    assert out.returncode == 0, out.stderr
    found = json.loads(out.stdout)
    api_total = api.ok("GET", "/photos", params={"people": [p.id for p in m.Person.select().where(
        m.Person.name.in_(["Anna", "Dora"]))], "mode": "any"})["total"]  # fmt: skip
    assert found["total"] == api_total == len(found["photos"]) > 0
    assert all({t["name"] for t in p["people"]} & {"Anna", "Dora"} for p in found["photos"])
    assert cli("photos", "--person", "Nobody", "--json").returncode == 3
    text = cli("merge-suggestions").stdout
    assert "Anna" in text and "Anna B." in text and "1 suggestions" in text
    assert json.loads(cli("merge-suggestions", "--json").stdout)["total"] == 1
