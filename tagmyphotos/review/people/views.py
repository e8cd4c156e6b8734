"""People as pages, the API and the CLI show them: counts, cover thumb, aliases, pending suggestions.

Why apart from the changes: reading people is done far more often than changing them (every
page, the person picker), and one `_views` builds every PersonView with a few grouped reads,
whatever the number of people, so the pages never query per person.
"""

from __future__ import annotations

from tagmyphotos import tuning
from tagmyphotos.errors import NotFound
from tagmyphotos.review.people.names import find_person, name_similarity
from tagmyphotos.states import MatchBand
from tagmyphotos.store import models as m
from tagmyphotos.store import tally
from tagmyphotos.store.views import PersonView, iso

# At most this many existing people are offered.
NAME_SIMILAR_SHOWN = 3


def similar_people(name: str) -> list[PersonView]:
    """People whose name or alias is close to `name`, best first; none when `name` is taken
    (then it simply names that person). For "did you mean ...?" before creating a person."""
    if not " ".join(str(name).split()) or find_person(name) is not None:
        return []
    aliases = _aliases(None)
    scored = []
    for person in m.Person.select():
        best = max(name_similarity(name, n) for n in [person.name, *aliases.get(person.id, [])])
        if best >= tuning.NAME_SIMILAR_RATIO:
            scored.append((-best, person.name.casefold(), person))
    scored.sort(key=lambda t: (t[0], t[1]))
    return _views([p for _, _, p in scored[:NAME_SIMILAR_SHOWN]])


def list_people(include_hidden: bool = True, search: str | None = None) -> list[PersonView]:
    """All people by name, with counts of their pending suggestions and their cover thumb."""
    query = m.Person.select()
    if not include_hidden:
        query = query.where(~m.Person.hidden)
    people = sorted(query, key=lambda p: (p.name.casefold(), p.id))
    if search:
        folded = search.casefold()
        aliases = _aliases(None)
        people = [
            p
            for p in people
            if folded in p.name.casefold() or any(folded in a.casefold() for a in aliases.get(p.id, []))
        ]
    return _views(people)


def person_view(person: m.Person) -> PersonView:
    return _views([person])[0]


def person_views(person_ids: list[int]) -> list[PersonView]:
    """Views of these people in this order, with one read of the counts (NotFound if one is gone)."""
    found = {int(p.id): p for p in m.Person.select().where(m.Person.id.in_(person_ids))} if person_ids else {}
    missing = [pid for pid in person_ids if pid not in found]
    if missing:
        raise NotFound(f"no person with id {missing[0]}")
    return _views([found[pid] for pid in person_ids])


def _aliases(ids: list[int] | None) -> dict[int, list[str]]:
    query = m.PersonAlias.select().order_by(m.PersonAlias.id)
    if ids is not None:
        query = query.where(m.PersonAlias.person.in_(ids))
    out: dict[int, list[str]] = {}
    for pid, name in m.rows(query.select(m.PersonAlias.person, m.PersonAlias.name)):
        out.setdefault(int(pid), []).append(name)
    return out


def _views(people: list[m.Person]) -> list[PersonView]:
    if not people:
        return []
    ids = [p.id for p in people]
    bands: dict[tuple[int, str], int] = {}
    for key, n in tally.counts().items():  # kept by the database: no scan of the suggestions
        if key.state == m.FaceState.SUGGESTED:
            bands[(key.person, key.band)] = bands.get((key.person, key.band), 0) + n
    covers = {p.cover_face_id for p in people if p.cover_face_id}
    thumbs: dict[int, str] = {}
    if covers:
        thumbs = dict(m.rows(m.Face.select(m.Face.id, m.Face.thumb).where(m.Face.id.in_(list(covers)))))
    aliases = _aliases(ids)
    return [
        PersonView(
            id=p.id,
            name=p.name,
            hidden=bool(p.hidden),
            ask_first=bool(p.ask_first),
            face_count=p.face_count,
            cover_face_id=p.cover_face_id,
            cover_thumb=thumbs.get(p.cover_face_id) if p.cover_face_id else None,
            aliases=aliases.get(p.id, []),
            likely=bands.get((p.id, MatchBand.LIKELY), 0),
            maybe=bands.get((p.id, MatchBand.MAYBE), 0),
            created_at=iso(p.created_at),
        )
        for p in people
    ]


def ignored_count() -> int:
    """The built-in "ignored" bucket (strangers, background faces) is a face state."""
    return tally.count(m.FaceState.IGNORED)
