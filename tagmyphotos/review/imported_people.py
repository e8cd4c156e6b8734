"""Keep people in step with another app after a name import linked them (ForeignPerson).

Which side wins: each link remembers both names as they were at the last import or push. A
person renamed only there is renamed here at the next import; a person renamed here (whether or
not also renamed there) keeps our name, and the integration may push it there (Immich: PUT
/api/people/{id}, when push_renames is on). Names new there are simply picked up by the next
import, as any other name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tagmyphotos.review.people import PeopleError, rename_person
from tagmyphotos.store import models as m


@dataclass(frozen=True)
class ImportedPerson:
    external_id: str
    name: str
    hidden: bool = False


@dataclass(frozen=True)
class RenamePush:
    """Our name for a person the other app still calls by the old one."""

    external_id: str
    person_id: int
    name: str


@dataclass
class PeopleSync:
    renamed_here: list[str] = field(default_factory=list)  # "old -> new", taken from there
    to_push: list[RenamePush] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def sync_people(core: Any, source: str, people: Sequence[ImportedPerson], dry_run: bool = False) -> PeopleSync:
    """Apply renames made there to linked people; list ours to push. Safe to rerun."""
    there = {p.external_id: p for p in people}
    out = PeopleSync()
    for link in m.rows_as_objects(m.ForeignPerson.select().where(m.ForeignPerson.source == source)):
        info = there.get(link.external_id)
        person = m.Person.get_or_none(m.Person.id == link.person_id)
        if info is None or person is None or not info.name.strip():
            continue
        renamed_here = person.name != link.name_here
        renamed_there = info.name.strip() != link.name_there
        if renamed_here:
            if person.name != info.name.strip():
                out.to_push.append(RenamePush(link.external_id, int(person.id), person.name))
            continue
        if not renamed_there:
            continue
        out.renamed_here.append(f"{person.name} -> {info.name.strip()}")
        if dry_run:
            continue
        try:
            renamed = rename_person(core, int(person.id), info.name)
        except PeopleError as exc:
            out.notes.append(f"{person.name} was renamed {info.name.strip()!r} there, not here: {exc}")
            continue
        remember(source, link.external_id, renamed.name, renamed.name)
    return out


def remember(source: str, external_id: str, name_there: str, name_here: str) -> None:
    """Both names as they now are (after a rename taken from there, or pushed there)."""
    m.ForeignPerson.update(name_there=name_there, name_here=name_here, updated_at=m.utcnow()).where(
        (m.ForeignPerson.source == source) & (m.ForeignPerson.external_id == external_id)
    ).execute()
