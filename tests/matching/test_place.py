"""matching/place.py on synthetic embeddings (Dlib's metric and threshold): names without boxes
are placed from the photos they share, with no exemplar at all; a pair always seen together is
never confirmed; rejections, strangers and surplus names are respected."""

from __future__ import annotations

import numpy as np

from tagmyphotos.matching.match import MatchSettings
from tagmyphotos.matching.place import NamedPhoto, PlaceSettings, place_names

DLIB = PlaceSettings.for_match(MatchSettings.for_model("Dlib"))
RNG = np.random.default_rng(7)
CENTRES = {p: RNG.normal(size=128) for p in range(1, 9)}
for _p, _c in CENTRES.items():
    CENTRES[_p] = _c / np.linalg.norm(_c) * 0.55  # two people ~0.78 apart


class Library:
    """Photos of synthetic people: each face its person's centre plus noise (~0.3 from another
    face of the same person, ~0.8 from anyone else's)."""

    def __init__(self) -> None:
        self.vectors: dict[int, np.ndarray] = {}
        self.truth: dict[int, int] = {}
        self.photos: list[NamedPhoto] = []

    def photo(self, people: list[int], names: list[int] | None = None) -> int:
        faces = []
        for p in people:
            f = len(self.vectors) + 1
            self.vectors[f] = CENTRES[p] + RNG.normal(scale=0.2 / np.sqrt(128), size=128)
            self.truth[f] = p
            faces.append(f)
        photo_id = len(self.photos) + 1
        order = list(people if names is None else names)
        RNG.shuffle(order)
        self.photos.append(NamedPhoto(photo_id, tuple(faces), tuple(order)))
        return photo_id


def test_no_exemplar_at_all_the_shared_face_is_found() -> None:
    lib = Library()
    for people in ([1, 2], [1, 3], [2, 3], [1, 2, 3], [1, 4], [2, 4, 3], [4, 1], [3, 4]):
        lib.photo(people)
    result = place_names(lib.photos, lib.vectors, {}, DLIB)
    assert result.placements and all(lib.truth[pl.face_id] == pl.person_id for pl in result.placements)
    assert len(result.placements) == sum(len(p.faces) for p in lib.photos)
    assert sum(pl.sure for pl in result.placements) >= len(result.placements) // 2
    assert result.rounds >= 2


def test_a_pair_always_together_is_never_confirmed() -> None:
    lib = Library()
    for _ in range(3):
        lib.photo([5, 6])
    result = place_names(lib.photos, lib.vectors, {}, DLIB)
    assert not any(pl.sure for pl in result.placements)


def test_exemplars_place_and_a_stranger_gets_no_name() -> None:
    lib = Library()
    lib.photo([1, 2, 7], names=[1, 2])  # 7 is on the photo, nobody named them
    lib.photo([3, 1])
    exemplars = {1: np.stack([CENTRES[1]]), 2: np.stack([CENTRES[2]]), 3: np.stack([CENTRES[3]])}
    result = place_names(lib.photos, lib.vectors, exemplars, DLIB)
    got = {(pl.face_id, pl.person_id) for pl in result.placements}
    assert got == {(f, lib.truth[f]) for f in lib.truth if lib.truth[f] != 7}
    assert all(pl.sure and pl.basis == "exemplars" for pl in result.placements)


def test_a_rejection_is_respected_and_surplus_names_stay_unplaced() -> None:
    lib = Library()
    lib.photo([1, 2], names=[1, 2, 3])  # 3 named, not on it: a name more than faces
    exemplars = {p: np.stack([CENTRES[p]]) for p in (1, 2, 3)}
    face_of_1 = next(f for f, p in lib.truth.items() if p == 1)
    result = place_names(lib.photos, lib.vectors, exemplars, DLIB, rejected={face_of_1: {1}})
    placed = {pl.person_id: pl.face_id for pl in result.placements}
    # 2 on their face; 1 was rejected there and the other face is too far for 1 or 3
    assert placed == {2: next(f for f, p in lib.truth.items() if p == 2)}
