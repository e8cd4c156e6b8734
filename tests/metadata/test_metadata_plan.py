"""The write plan: exact tags, merge with other tools' data, idempotence, name sanitising.
Pure (no exiftool); the real-file round trips are in test_metadata_write.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tagmyphotos import tuning
from tagmyphotos.geometry import NormBox, to_oriented
from tagmyphotos.metadata.plan import (
    PersonRegion,
    TagState,
    WriteOptions,
    WritePlan,
    keyword_value,
    plan_write,
    sanitize_name,
)
from tagmyphotos.metadata.read import KEYWORD_TAGS, MP_TAG, MWG_TAG, TagSet, parse_mp, parse_mwg

W, H = 700, 840  # stored pixels (portrait-orientation-6.jpg)


def tagset(mwg: dict[str, Any] | None = None, mp=None, orientation: int = 1, **keywords: list[str]) -> TagSet:
    kw = {t: v for t, v in ((_tag(k), v) for k, v in keywords.items())}
    return TagSet(Path("x.jpg"), mwg, mp, kw, parse_mwg(mwg, W, H, orientation), parse_mp(mp, orientation))


def _tag(short: str) -> str:
    return next(t for t in KEYWORD_TAGS if t.endswith(":" + short))


def applied(before: TagSet, plan: WritePlan, orientation: int = 1) -> TagSet:
    """The TagSet a file holds after exiftool applied `plan` (what the writer verifies)."""
    mwg = plan.json_tags.get(MWG_TAG, before.mwg)
    mp = plan.json_tags.get(MP_TAG, before.mp)
    if f"-{MWG_TAG}=" in plan.args:
        mwg = None
    if f"-{MP_TAG}=" in plan.args:
        mp = None
    keywords = {t: list(v) for t, v in before.keywords.items()}
    for arg in plan.args:
        tag, op, value = arg[1:].partition("-=") if "-=" in arg else arg[1:].partition("+=")
        if tag in KEYWORD_TAGS:
            values = keywords.setdefault(tag, [])
            keywords[tag] = [v for v in values if v != value] + ([value] if op == "+=" else [])
    keywords = {t: v for t, v in keywords.items() if v}
    return TagSet(before.path, mwg, mp, keywords, parse_mwg(mwg, W, H, orientation), parse_mp(mp, orientation))


MARIE = NormBox(0.3119, 0.2086, 0.1131, 0.1986)
PIERRE = NormBox(0.6393, 0.1186, 0.0964, 0.2414)


# --- names ---------------------------------------------------------------------------------------


def test_sanitize_name() -> None:
    assert sanitize_name("  Marie\nCurie\r\n") == "Marie Curie"
    assert sanitize_name("Eve\x00\x1b[31m\t-X") == "Eve[31m -X"
    assert sanitize_name("Ali\u202eecilA") == "AliecilA"  # bidi override removed
    assert sanitize_name("Mehr\u200cdad") == "Mehr\u200cdad"  # ZWNJ is spelling, kept
    assert sanitize_name("Zoe\u0308") == "Zo\u00eb"  # NFC
    assert len(sanitize_name("x" * 1000)) == tuning.PERSON_NAME_MAX_CHARS
    assert sanitize_name("-execute") == "-execute"  # harmless: every value sits inside '-TAG+=...'
    with pytest.raises(ValueError):
        sanitize_name("\n\t\x07 ")


def test_injection_attempt_stays_inside_one_argument_each() -> None:
    evil = "Eve\n-if\n${system('touch /tmp/pwned')}\n-execute\n-@ /etc/passwd"
    plan = plan_write(tagset(), [PersonRegion(evil, MARIE)], [], 1, W, H)
    assert plan.names == ("Eve -if ${system('touch /tmp/pwned')} -execute -@ /etc/passwd",)
    assert plan.args and all("\n" not in a and "\r" not in a for a in plan.args)
    assert all(a.split("=", 1)[0][1:].rstrip("+-") in KEYWORD_TAGS for a in plan.args)
    regions = plan.json_tags[MWG_TAG]["RegionList"]
    assert regions[0]["Name"] == plan.names[0]


# --- a fresh file ---------------------------------------------------------------------------------


def test_fresh_file_gets_regions_on_stored_pixels_and_keywords() -> None:
    plan = plan_write(tagset(orientation=6), [PersonRegion("Marie Curie", MARIE)], [], 6, W, H)
    info = plan.json_tags[MWG_TAG]
    assert info["AppliedToDimensions"] == {"H": str(H), "Unit": "pixel", "W": str(W)}
    (region,) = info["RegionList"]
    area = {k: float(v) for k, v in region["Area"].items() if k != "Unit"}
    # stored frame of an orientation-6 photo: x_stored = y_shown, y_stored = 1 - x_shown - w
    assert area["X"] == pytest.approx(MARIE.y + MARIE.h / 2, abs=1e-6)
    assert area["Y"] == pytest.approx(1 - MARIE.x - MARIE.w / 2, abs=1e-6)
    assert (area["W"], area["H"]) == (pytest.approx(MARIE.h, abs=1e-6), pytest.approx(MARIE.w, abs=1e-6))
    assert region["Type"] == "Face" and region["Area"]["Unit"] == "normalized"
    assert "-XMP-dc:Subject-=Marie Curie" in plan.args and "-XMP-dc:Subject+=Marie Curie" in plan.args
    assert "-XMP-lr:HierarchicalSubject+=People|Marie Curie" in plan.args
    assert "-XMP-digiKam:TagsList+=People/Marie Curie" in plan.args
    assert "-XMP-iptcExt:PersonInImage+=Marie Curie" in plan.args
    assert MP_TAG not in plan.json_tags  # Microsoft regions are off by default
    assert {c.tag for c in plan.changes} >= {MWG_TAG, "XMP-dc:Subject"}


def test_second_plan_on_the_written_state_is_a_noop() -> None:
    opts = WriteOptions(microsoft_regions=True)
    wanted = [PersonRegion("Marie Curie", MARIE), PersonRegion("Pierre Curie", PIERRE)]
    first = plan_write(tagset(orientation=8), wanted, [], 8, W, H, opts)
    after = applied(tagset(orientation=8), first, 8)
    assert TagState.of(after) == first.after
    again = plan_write(after, wanted, ["Marie Curie"], 8, W, H, opts)
    assert again.is_noop and again.args == [] and again.json_tags == {} and again.changes == []
    read_back = {r.name: r.box for r in after.mwg_regions}
    assert read_back["Pierre Curie"].close_to(PIERRE, 1e-6)  # oriented box survives the round trip


def test_options_turn_fields_off() -> None:
    opts = WriteOptions(person_in_image=False, subject_keywords=False, digikam_tags=False, keyword_prefix="Leute")
    plan = plan_write(tagset(), [PersonRegion("A", MARIE)], [], 1, W, H, opts)
    keyword_args = [a for a in plan.args if "=" in a]
    assert keyword_args == ["-XMP-lr:HierarchicalSubject-=Leute|A", "-XMP-lr:HierarchicalSubject+=Leute|A"]


def test_hierarchy_separators_in_names_do_not_nest() -> None:
    assert keyword_value("XMP-digiKam:TagsList", "AC/DC", "People") == "People/AC-DC"
    assert keyword_value("XMP-lr:HierarchicalSubject", "AC/DC", "People") == "People|AC/DC"
    assert keyword_value("XMP-lr:HierarchicalSubject", "A|B", "") == "A-B"


# --- merging with what other tools wrote ------------------------------------------------------


def foreign_file() -> TagSet:
    mwg = {
        "AppliedToDimensions": {"H": str(H), "Unit": "pixel", "W": str(W)},
        "RegionList": [
            {
                "Area": {"H": "0.2", "Unit": "normalized", "W": "0.1", "X": "0.5", "Y": "0.5"},
                "Name": "Stranger",
                "Type": "Face",
            },
            {
                "Area": {"H": "0.3", "Unit": "normalized", "W": "0.3", "X": "0.2", "Y": "0.8"},
                "Name": "Rex",
                "Type": "Pet",
            },
            {"Area": {"H": "0.1", "Unit": "normalized", "W": "0.1", "X": "0.8", "Y": "0.2"}, "Type": "Focus"},
            {
                "Area": {"H": "0.1", "Unit": "normalized", "W": "0.1", "X": "0.1", "Y": "0.1"},
                "Name": "Old Name",
                "Type": "Face",
            },
        ],
        "Extensions": {"Custom": "kept"},
    }
    mp = {
        "Regions": [
            {"PersonDisplayName": "Old Name", "Rectangle": "0.05, 0.05, 0.1, 0.1"},
            {"PersonDisplayName": "Stranger", "Rectangle": "0.45, 0.4, 0.1, 0.2"},
        ]
    }
    return tagset(
        mwg,
        mp,
        Subject=["Frost", "Old Name", "Stranger"],
        HierarchicalSubject=["Places|Yard", "People|Old Name"],
        TagsList=["People/Old Name", "People/Stranger"],
        LastKeywordXMP=["People/Old Name"],
        CatalogSets=["People|Old Name"],
        Keywords=["Frost", "Old Name"],
        PersonInImage=["Old Name"],
    )


def test_rename_replaces_ours_and_keeps_everything_foreign() -> None:
    before = foreign_file()
    old_box = before.mwg_regions[3].box
    assert old_box is not None
    # the user renamed "Old Name" to "New Name" ("Rex" is also a person we know: the Pet stays)
    plan = plan_write(before, [PersonRegion("New Name", old_box)], ["Old Name", "Rex"], 1, W, H)
    after = applied(before, plan)
    names = [(r.name, r.type) for r in after.mwg_regions]
    assert names == [("Stranger", "Face"), ("Rex", "Pet"), (None, "Focus"), ("New Name", "Face")]
    assert after.mwg["Extensions"] == {"Custom": "kept"}
    assert after.mwg["RegionList"][:3] == before.mwg["RegionList"][:3]  # verbatim, numbers as text
    assert [r.name for r in after.mp_regions] == ["Stranger"]  # ours removed even with MP off
    kw = after.keywords
    assert kw["XMP-dc:Subject"] == ["Frost", "Stranger", "New Name"]
    assert kw["XMP-lr:HierarchicalSubject"] == ["Places|Yard", "People|New Name"]
    assert kw["XMP-digiKam:TagsList"] == ["People/Stranger", "People/New Name"]
    assert kw["IPTC:Keywords"] == ["Frost"]
    assert "XMP-microsoft:LastKeywordXMP" not in kw and "XMP-mediapro:CatalogSets" not in kw
    assert kw["XMP-iptcExt:PersonInImage"] == ["New Name"]
    assert TagState.of(after) == plan.after
    assert not any("Stranger" in a or "Frost" in a or "Yard" in a for a in plan.args)


def test_a_close_region_of_the_same_person_is_kept_verbatim() -> None:
    before = foreign_file()
    old = before.mwg_regions[3].box
    assert old is not None
    nudged = NormBox(old.x + 0.01, old.y, old.w, old.h)  # a detector's box of the same head
    plan = plan_write(before, [PersonRegion("Old Name", nudged)], [], 1, W, H)
    assert plan.is_noop  # region and every keyword already there: the file is not touched
    far = NormBox(0.7, 0.7, 0.1, 0.1)
    moved = plan_write(before, [PersonRegion("Old Name", far)], [], 1, W, H)
    (ours,) = [r for r in moved.json_tags[MWG_TAG]["RegionList"] if r.get("Name") == "Old Name"]
    assert float(ours["Area"]["X"]) == pytest.approx(0.75)


def test_removing_the_last_face_deletes_the_structure() -> None:
    start = plan_write(tagset(), [PersonRegion("A", MARIE)], [], 1, W, H, WriteOptions(microsoft_regions=True))
    written = applied(tagset(), start)
    plan = plan_write(written, [], ["A"], 1, W, H)
    assert f"-{MWG_TAG}=" in plan.args and f"-{MP_TAG}=" in plan.args
    after = applied(written, plan)
    assert after.mwg is None and after.mp is None and after.keywords == {}
    assert TagState.of(after) == plan.after


def test_nothing_managed_and_nothing_wanted_is_a_noop() -> None:
    assert plan_write(foreign_file(), [], ["Somebody Else"], 1, W, H).is_noop


def test_microsoft_regions_on_stored_pixels() -> None:
    opts = WriteOptions(microsoft_regions=True)
    plan = plan_write(tagset(orientation=3), [PersonRegion("A", MARIE)], [], 3, W, H, opts)
    (mp,) = plan.json_tags[MP_TAG]["Regions"]
    x, y, w, h = (float(v) for v in mp["Rectangle"].split(","))
    assert to_oriented(NormBox(x, y, w, h), 3).close_to(MARIE, 1e-6)


def test_display_framed_regions_keep_their_convention() -> None:
    mwg = {
        "AppliedToDimensions": {"H": str(W), "Unit": "pixel", "W": str(H)},  # swapped: displayed
        "RegionList": [
            {
                "Area": {"H": "0.1", "Unit": "normalized", "W": "0.1", "X": "0.5", "Y": "0.5"},
                "Name": "B",
                "Type": "Face",
            }
        ],
    }
    plan = plan_write(tagset(mwg, orientation=6), [PersonRegion("A", MARIE)], [], 6, W, H)
    info = plan.json_tags[MWG_TAG]
    assert info["AppliedToDimensions"] == mwg["AppliedToDimensions"]
    new = info["RegionList"][1]["Area"]
    assert float(new["X"]) == pytest.approx(MARIE.x + MARIE.w / 2, abs=1e-6)  # not rotated


def test_same_person_twice_and_degenerate_boxes() -> None:
    plan = plan_write(
        tagset(),
        [PersonRegion("A", MARIE), PersonRegion("A", PIERRE), PersonRegion("B", NormBox(1.2, 0.5, 0.1, 0.1))],
        [],
        1,
        W,
        H,
    )
    assert [r["Name"] for r in plan.json_tags[MWG_TAG]["RegionList"]] == ["A", "A"]  # B is off the image
    assert plan.args.count("-XMP-dc:Subject+=A") == 1 and plan.names == ("A",)
    assert json.dumps(plan.json_tags)  # plain JSON for exiftool's -j= import
