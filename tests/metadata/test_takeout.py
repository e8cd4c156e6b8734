"""Google Takeout JSON files found for their photos as Takeout lays them out: photo.jpg.json,
the supplemental-metadata name and its shortenings, long names cut at 51 characters, the "(1)"
duplicate number, "-edited" copies, and a JSON found by its title; broken or foreign JSON is a
problem in words, never an exception."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tagmyphotos.metadata.takeout import TakeoutNames, TakeoutProblem, find_takeout, photo_key


def _takeout(title: str, *names: str) -> str:
    return json.dumps({
        "title": title, "description": "",
        "photoTakenTime": {"timestamp": "1546300800", "formatted": "Jan 1, 2019, 12:00:00 AM UTC"},
        "people": [{"name": n} for n in names],
        "url": "https://photos.google.com/photo/x",
    })  # fmt: skip


def _lay(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _names(folder: Path, photo: str) -> list[str]:
    found = find_takeout(folder / photo, folder)
    assert isinstance(found, TakeoutNames), found
    return found.names


def test_plain_and_supplemental_metadata(tmp_path: Path) -> None:
    f = _lay(tmp_path / "Photos from 2019", {
        "IMG_0001.jpg": "x", "IMG_0001.jpg.json": _takeout("IMG_0001.jpg", "Susan", "Justin"),
        "IMG_0002.jpg": "x", "IMG_0002.jpg.supplemental-metadata.json": _takeout("IMG_0002.jpg", "Ann"),
    })  # fmt: skip
    assert _names(f, "IMG_0001.jpg") == ["Susan", "Justin"]
    assert _names(f, "IMG_0002.jpg") == ["Ann"]
    assert find_takeout(f / "IMG_0003.jpg", f) is None  # no JSON: nothing, no problem


@pytest.mark.parametrize("cut", [".supplemental-metad", ".supplemental-", ".suppl", ".sup", ".s"])
def test_shortened_supplemental_metadata(tmp_path: Path, cut: str) -> None:
    photo = "PXL_20230704_181512345.PORTRAIT.jpg"
    f = _lay(tmp_path, {photo: "x", f"{photo}{cut}.json": _takeout(photo, "Eve")})
    assert _names(f, photo) == ["Eve"]


def test_long_name_cut_at_51_characters(tmp_path: Path) -> None:
    photo = "Screenshot_20200101-101010_Some-Very-Long-Application-Name.jpg"
    json_name = (photo + ".supplemental-metadata")[:46] + ".json"
    assert len(json_name) == 51
    f = _lay(tmp_path, {photo: "x", json_name: _takeout(photo, "Ann")})
    assert _names(f, photo) == ["Ann"]


def test_a_cut_name_fitting_two_photos_is_not_guessed(tmp_path: Path) -> None:
    a = "Screenshot_20200101-101010_Some-Very-Long-Application-A.jpg"
    b = "Screenshot_20200101-101010_Some-Very-Long-Application-B.jpg"
    f = _lay(tmp_path, {a: "x", b: "x", a[:46] + ".json": _takeout(a, "Ann")})
    assert _names(f, a) == ["Ann"]  # its title says it is a's
    assert find_takeout(f / b, f) is None  # cut alike, but the title names another photo


def test_duplicate_number_after_the_extension(tmp_path: Path) -> None:
    f = _lay(tmp_path, {
        "IMG_0001.jpg": "x", "IMG_0001(1).jpg": "x", "IMG_0001(2).jpg": "x",
        "IMG_0001.jpg.json": _takeout("IMG_0001.jpg", "Ann"),
        "IMG_0001.jpg(1).json": _takeout("IMG_0001.jpg", "Bob"),
        "IMG_0001.jpg.supplemental-metadata(2).json": _takeout("IMG_0001.jpg", "Cid"),
    })  # fmt: skip
    assert photo_key("IMG_0001(1).jpg") == ("IMG_0001.jpg", 1)
    assert _names(f, "IMG_0001.jpg") == ["Ann"]
    assert _names(f, "IMG_0001(1).jpg") == ["Bob"]
    assert _names(f, "IMG_0001(2).jpg") == ["Cid"]


def test_edited_copy_uses_the_original_json(tmp_path: Path) -> None:
    f = _lay(tmp_path, {
        "IMG_0005.jpg": "x", "IMG_0005-edited.jpg": "x",
        "IMG_0005.jpg.supplemental-metadata.json": _takeout("IMG_0005.jpg", "Susan"),
    })  # fmt: skip
    assert _names(f, "IMG_0005-edited.jpg") == ["Susan"]
    assert _names(f, "IMG_0005.jpg") == ["Susan"]


def test_json_under_the_original_title(tmp_path: Path) -> None:
    # Google Photos title "Mom & Dad at the lake.jpg"; the photo on disk got another name, and
    # the JSON is named after the title: found by the title inside it
    f = _lay(tmp_path, {
        "Mom _ Dad at the lake.jpg": "x",
        "Mom & Dad at the lake.jpg.json": _takeout("Mom _ Dad at the lake.jpg", "Mom", "Dad"),
        "metadata.json": json.dumps({"title": "Summer 2019", "description": ""}),  # the album's own file
    })  # fmt: skip
    assert _names(f, "Mom _ Dad at the lake.jpg") == ["Mom", "Dad"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "no JSON object"),
        (json.dumps({"title": "IMG_0009.jpg"}), "not a Google Takeout photo file"),
        (json.dumps({"name": "something else", "version": 2}), "not a Google Takeout photo file"),
        (json.dumps({"title": "IMG_0009.jpg", "people": "Ann"}), "not a list of names"),
        (json.dumps({"title": "IMG_0009.jpg", "people": [{"name": 7}]}), "without a name"),
    ],
)
def test_broken_or_foreign_json_is_a_problem(tmp_path: Path, text: str, why: str) -> None:
    f = _lay(tmp_path, {"IMG_0009.jpg": "x", "IMG_0009.jpg.json": text})
    found = find_takeout(f / "IMG_0009.jpg", f)
    assert isinstance(found, TakeoutProblem) and why in found.reason


def test_a_link_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    outside = _lay(tmp_path / "elsewhere", {"secret.json": _takeout("IMG_0001.jpg", "Mallory")})
    f = _lay(tmp_path / "library", {"IMG_0001.jpg": "x"})
    os.symlink(outside / "secret.json", f / "IMG_0001.jpg.json")
    found = find_takeout(f / "IMG_0001.jpg", f)
    assert isinstance(found, TakeoutProblem) and "outside" in found.reason


def test_names_are_cleaned_and_deduplicated(tmp_path: Path) -> None:
    f = _lay(tmp_path, {"a.jpg": "x", "a.jpg.json": _takeout("a.jpg", "  Susan  Q ", "Susan Q", "", "Bo")})
    assert _names(f, "a.jpg") == ["Susan Q", "Bo"]
