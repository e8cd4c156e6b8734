"""Which person a name or an id means, and which names a person may have.

Why apart from the changes: every importer of names (files, Immich, PhotoPrism, Takeout, the
teach folders) and every action needs the same rules — a name cleaned once, found by name, then
case, then old name (alias) — and these rules read the database without changing it (except
resolve_person, which creates a person inside its caller's transaction).
"""

from __future__ import annotations

import unicodedata
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from tagmyphotos import tuning
from tagmyphotos.errors import NotFound, PeopleError
from tagmyphotos.store import models as m

if TYPE_CHECKING:
    from tagmyphotos.review.undo import Journal


# Control and format characters (bidi overrides, zero-width), surrogates. Not the unassigned
# ones (Cn): a character of a newer Unicode than this Python's is still a character.
NAME_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def clean_name(name: str) -> str:
    """Collapse whitespace; refuse empty, over-long and control-character names."""
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise PeopleError("a name cannot be empty")
    if len(cleaned) > tuning.PERSON_NAME_MAX_CHARS:
        raise PeopleError(f"a name can have at most {tuning.PERSON_NAME_MAX_CHARS} characters")
    if any(unicodedata.category(c) in NAME_REFUSED_CATEGORIES for c in cleaned):
        raise PeopleError("a name cannot contain control characters")
    return cleaned


def shown(text: str, limit: int = 80) -> str:
    """Text from elsewhere as a message may quote it: control and format characters escaped
    (\\x1b, \\u202e), cut to `limit` characters; quoted, so its ends are visible."""
    cut = text[:limit]
    escaped = "".join(
        (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") if unicodedata.category(c).startswith("C")
        else c for c in cut
    )  # fmt: skip
    return f"“{escaped}”" + (f"… ({len(text)} characters)" if len(text) > limit else "")


def find_person(name: str) -> m.Person | None:
    """By name, then ignoring case, then by an old name (alias) — so imports keep working."""
    wanted = " ".join(str(name).split())
    person = m.Person.get_or_none(m.Person.name == wanted)
    if person is not None:
        return person
    folded = wanted.casefold()
    for row in m.Person.select():
        if row.name.casefold() == folded:
            return row
    alias: Any = m.PersonAlias.get_or_none(m.PersonAlias.name == wanted)
    if alias is None:
        alias = next((a for a in m.PersonAlias.select() if a.name.casefold() == folded), None)
    return m.Person.get_by_id(alias.person_id) if alias is not None else None


def name_similarity(a: str, b: str) -> float:
    """How alike two names are, 0..1, ignoring case and spacing; 1.0 when one is the first
    word(s) of the other ("Scarlett" and "Scarlett Johansson")."""
    x, y = (" ".join(str(n).split()).casefold() for n in (a, b))
    if not x or not y:
        return 0.0
    short, long = sorted((x.split(), y.split()), key=len)
    if long[: len(short)] == short:
        return 1.0
    return SequenceMatcher(None, x, y).ratio()


def get_person(person_id: int) -> m.Person:
    person = m.Person.get_or_none(m.Person.id == person_id)
    if person is None:
        raise NotFound(f"no person with id {person_id}")
    return person


def person_id_of(who: int | str) -> int:
    """The id of an existing person, given by id or by name (or old name); NotFound otherwise."""
    if isinstance(who, int):
        return int(get_person(who).id)
    found = find_person(who)
    if found is None:
        raise NotFound(f"no person named {who!r}")
    return int(found.id)


def resolve_person(who: int | str, journal: Journal | None = None) -> tuple[m.Person, bool]:
    """An id, or a name (created when new); returns (person, created). Call in a transaction."""
    if isinstance(who, int):
        return get_person(who), False
    person = find_person(who)
    if person is not None:
        return person, False
    person = m.Person.create(name=clean_name(who))
    if journal is not None:
        journal.people_created.append(int(person.id))
    return person, True
