"""GET /photos by several people (all / any / only), dates, unnamed faces, on the analysed testdata."""

from __future__ import annotations

import datetime as dt
import time

from tagmyphotos.review import confirm
from tagmyphotos.review.photos import PhotoFilter, day_bounds, find_photos
from tagmyphotos.store import models as m
from tests.support.api import ApiEnv, assert_problem

pytest_plugins = ("tests.support.api",)


def _faces(path: str) -> list[int]:
    return [int(f.id) for f in m.Face.select().join(m.Photo).where(m.Photo.path == path).order_by(m.Face.x)]


def _name(api: ApiEnv) -> dict[str, int]:
    """Ann and Bob in couple.jpg; Ann alone in img1.jpg; Ann, Bob and Cid in the group selfie."""
    couple, group, single = _faces("couple.jpg"), _faces("selfie-many-people.jpg"), _faces("img1.jpg")
    assert len(couple) == 2 and len(group) >= 3 and len(single) == 1
    for name, ids in (("Ann", [couple[0], single[0]]), ("Bob", [couple[1]])):
        confirm.confirm(api.core, ids, name)
    for name, face in zip(("Ann", "Bob", "Cid"), group, strict=False):
        confirm.confirm(api.core, [face], name)
    return {p.name: int(p.id) for p in m.Person.select()}


def _paths(api: ApiEnv, query: str) -> set[str]:
    page = api.ok("GET", f"/photos?limit=500&{query}")
    assert page["total"] == len(page["items"])
    return {p["path"] for p in page["items"]}


def test_people_modes_all_any_only(api: ApiEnv) -> None:
    ids = _name(api)
    ann_bob = f"people={ids['Ann']}&people={ids['Bob']}"
    assert _paths(api, f"{ann_bob}&mode=all") == {"couple.jpg", "selfie-many-people.jpg"}
    assert _paths(api, ann_bob) == _paths(api, f"{ann_bob}&mode=all")  # all is the default
    assert _paths(api, f"{ann_bob}&mode=any") == {"couple.jpg", "selfie-many-people.jpg", "img1.jpg"}
    assert _paths(api, f"{ann_bob}&mode=only") == {"couple.jpg"}  # the selfie has Cid too
    assert _paths(api, f"people={ids['Ann']}&mode=only") == {"img1.jpg"}
    assert _paths(api, f"person_id={ids['Cid']}") == {"selfie-many-people.jpg"}
    items = api.ok("GET", f"/photos?{ann_bob}&mode=all&order=path")["items"]
    assert [p["name"] for p in items[0]["people"]] == ["Ann", "Bob"] and items[0]["confirmed_faces"] == 2
    selfie = items[1]
    assert [p["name"] for p in selfie["people"]] == ["Ann", "Bob", "Cid"]
    assert selfie["unnamed_faces"] == selfie["faces"] - 3
    assert_problem(api.get("/photos?people=999999"), 404)
    assert_problem(api.get("/photos?people=1&mode=most"), 422)


def test_only_with_no_unnamed_faces_means_nobody_else(api: ApiEnv) -> None:
    ids = _name(api)
    group = _faces("selfie-many-people.jpg")
    if len(group) > 3:  # the selfie's other faces are unnamed: "only" allows them unless told not to
        others = "&".join(f"people={ids[n]}" for n in ("Ann", "Bob", "Cid"))
        assert _paths(api, f"{others}&mode=only") == {"selfie-many-people.jpg"}
        assert _paths(api, f"{others}&mode=only&has_unnamed_faces=false") == set()
    people_ab = f"people={ids['Ann']}&people={ids['Bob']}&mode=only&has_unnamed_faces=false"
    assert _paths(api, people_ab) == {"couple.jpg"}


def test_unnamed_faces_and_folder_filters_match_the_database(api: ApiEnv) -> None:
    _name(api)
    unnamed = m.Face.select(m.Face.photo).where(m.Face.state.in_([m.FaceState.UNKNOWN, m.FaceState.SUGGESTED]))
    expected = {p for (p,) in m.rows(m.Photo.select(m.Photo.path).where(m.Photo.id.in_(unnamed)))}
    assert _paths(api, "has_unnamed_faces=true") == expected and "couple.jpg" not in expected
    assert len(_paths(api, "has_unnamed_faces=false")) == 64 - len(expected)
    photo = m.Photo.get(m.Photo.path == "couple.jpg")
    m.Photo.update(path="2019/summer/couple.jpg").where(m.Photo.id == photo.id).execute()
    ids = {p.name: p.id for p in m.Person.select()}
    assert _paths(api, f"people={ids['Ann']}&mode=any&folder=2019") == {"2019/summer/couple.jpg"}
    assert _paths(api, f"people={ids['Ann']}&folder=2019&recursive=false") == set()


def test_date_range_is_the_file_date_in_local_days(api: ApiEnv) -> None:
    day = dt.date(2020, 6, 15)
    noon = time.mktime(dt.datetime(2020, 6, 15, 12, 0).timetuple())
    late = time.mktime(dt.datetime(2020, 6, 15, 23, 59).timetuple())
    m.Photo.update(mtime=noon).where(m.Photo.path == "img1.jpg").execute()
    m.Photo.update(mtime=late).where(m.Photo.path == "img2.jpg").execute()
    assert _paths(api, "date_from=2020-06-01&date_to=2020-06-30") == {"img1.jpg", "img2.jpg"}
    assert _paths(api, "date_from=2020-06-15&date_to=2020-06-15") == {"img1.jpg", "img2.jpg"}
    assert _paths(api, "date_from=2020-06-16") == _paths(api, "") - {"img1.jpg", "img2.jpg"}
    assert _paths(api, "date_to=2020-06-14") == set()
    newest_first = api.ok("GET", "/photos?order=-date&limit=3")["items"]
    oldest_first = api.ok("GET", "/photos?order=date&limit=2")["items"]
    assert [p["path"] for p in oldest_first] == ["img1.jpg", "img2.jpg"]
    assert newest_first[0]["mtime"] >= newest_first[1]["mtime"] >= newest_first[2]["mtime"]
    assert api.ok("GET", "/photos?date_from=2020-06-16&date_to=2020-06-15")["total"] == 0  # an empty range
    assert_problem(api.get("/photos?date_from=yesterday"), 422)
    assert day_bounds(day, day) == (time.mktime(day.timetuple()), time.mktime(dt.date(2020, 6, 16).timetuple()))


def test_reference_photos_are_not_library_photos(api: ApiEnv) -> None:
    m.Photo.create(path="@teach/Ann/a.jpg", kind="reference", size=1, mtime=1.0, state=m.PhotoState.DONE)
    assert find_photos(PhotoFilter(), 0, 500).total == 64
    page = find_photos(PhotoFilter(order="-id"), 0, 5)
    assert all(not card.path.startswith("@teach/") for card in page.items)


def test_a_photo_level_name_counts_for_its_person(api: ApiEnv) -> None:
    """A name the photo's own tags give on no face (names without boxes) finds the photo too."""
    ids = _name(api)
    photo = m.Photo.get(m.Photo.path == "img2.jpg")
    m.PhotoName.create(photo=photo.id, person=ids["Bob"], sources=["XMP-iptcExt:PersonInImage"])
    ann_bob = f"people={ids['Ann']}&people={ids['Bob']}"
    assert _paths(api, f"people={ids['Bob']}") == {"couple.jpg", "selfie-many-people.jpg", "img2.jpg"}
    assert "img2.jpg" not in _paths(api, f"{ann_bob}&mode=all")
    m.PhotoName.create(photo=photo.id, person=ids["Ann"], sources=["XMP-dc:Subject"])
    assert "img2.jpg" in _paths(api, f"{ann_bob}&mode=all")
    assert "img2.jpg" in _paths(api, f"{ann_bob}&mode=only")
    m.PhotoName.create(photo=photo.id, person=ids["Cid"], sources=["XMP-dc:Subject"])
    assert "img2.jpg" not in _paths(api, f"{ann_bob}&mode=only")  # Cid is named in it too
    item = next(p for p in api.ok("GET", f"/photos?people={ids['Cid']}&limit=500")["items"] if p["path"] == "img2.jpg")
    assert [(t["name"], t["on_face"]) for t in item["people"]] == [("Ann", False), ("Bob", False), ("Cid", False)]
