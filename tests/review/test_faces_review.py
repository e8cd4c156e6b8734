"""Face state changes: confirm, reject memory, ignore, bulk accept, cluster naming, move, undo."""

from __future__ import annotations

import pytest

from tagmyphotos.review import confirm, people, undo
from tagmyphotos.store import models as m
from tagmyphotos.suggest import refresh as suggest
from tests.support.review import Synthetic, add_face, add_photo, check_counts, person, reload, single


def test_confirm_by_name_creates_person_and_takes_the_name_within_a_photo(core) -> None:
    syn = Synthetic()
    photo = add_photo()
    a = add_face(photo, syn.face("Kim"), box=(0, 0, 200, 200))
    b = add_face(photo, syn.face("Lou"), box=(400, 0, 200, 200))
    result = confirm.confirm(core, [a.id], "Kim")
    assert result.created_person and result.person.name == "Kim" and result.changed == [a.id]
    assert reload(a).state == m.FaceState.CONFIRMED and person("Kim").face_count == 1
    # the user says the other face is Kim: it takes the name, the first face goes back to unknown
    result = confirm.confirm(core, [b.id], person("Kim").id)
    assert result.displaced == [a.id] and not result.created_person
    assert reload(a).state == m.FaceState.UNKNOWN and reload(b).person_id == person("Kim").id
    # two faces of one photo in one request: the first wins, the other is reported
    confirm.unassign(core, [b.id])
    result = confirm.confirm(core, [a.id, b.id], "Kim")
    assert result.changed == [a.id] and [s.face_id for s in result.skipped] == [b.id]
    with pytest.raises(people.NotFound):
        confirm.confirm(core, [999999], "Kim")
    check_counts()


def test_rejection_is_remembered_and_never_suggested_again(core) -> None:
    syn = Synthetic()
    confirmed = [single(syn.face("Max")) for _ in range(3)]
    confirm.confirm(core, [f.id for f in confirmed], "Max")
    probe = single(syn.face("Max"))
    suggest.refresh_suggestions(core)
    assert reload(probe).suggested_person_id == person("Max").id
    result = confirm.reject(core, [probe.id])  # without a name: its suggested person
    assert result.changed == [probe.id]
    assert reload(probe).state == m.FaceState.UNKNOWN and reload(probe).suggested_person_id is None
    # more Max faces, a full refresh: still never Max
    more = [single(syn.face("Max")) for _ in range(3)]
    confirm.confirm(core, [f.id for f in more], "Max")
    suggest.refresh_suggestions(core)
    assert reload(probe).suggested_person_id is None
    assert reload(probe).explanation is None or reload(probe).explanation["candidate"] != person("Max").id
    # bulk naming respects it; an explicit confirm overrides it (and forgets the rejection)
    m.Face.update(cluster=77).where(m.Face.id == probe.id).execute()
    named = confirm.name_cluster(core, 77, "Max")
    assert named.changed == [] and "rejected" in named.skipped[0].reason
    confirm.confirm(core, [probe.id], "Max")
    assert not m.FaceRejection.select().where(m.FaceRejection.face == probe.id).exists()
    # rejecting a confirmed face unassigns it and remembers
    confirm.reject(core, [probe.id], "Max")
    assert reload(probe).state == m.FaceState.UNKNOWN and person("Max").face_count == 6
    with pytest.raises(people.NotFound):
        confirm.reject(core, [probe.id], "Nobody")
    check_counts()


def test_ignore_and_unassign(core) -> None:
    syn = Synthetic()
    faces = [single(syn.face("Ned")) for _ in range(3)]
    confirm.confirm(core, [faces[0].id], "Ned")
    confirm.ignore(core, [faces[0].id, faces[1].id])
    assert [reload(f).state for f in faces] == [m.FaceState.IGNORED, m.FaceState.IGNORED, m.FaceState.UNKNOWN]
    assert person("Ned").face_count == 0 and people.ignored_count() == 2
    confirm.confirm(core, [faces[2].id], "Ned")
    suggest.refresh_suggestions(core)
    assert reload(faces[1]).suggested_person_id is None  # ignored faces are never suggested
    confirm.unassign(core, [faces[1].id])
    assert reload(faces[1]).state == m.FaceState.SUGGESTED  # back in play at once
    check_counts()


def test_accept_likely_skips_conflicts_and_undo_restores(core) -> None:
    syn = Synthetic()
    for name in ("Ola", "Pia"):
        confirm.confirm(core, [single(syn.face(name)).id for _ in range(3)], name)
    ola = [single(syn.face("Ola")) for _ in range(4)]
    pia = [single(syn.face("Pia")) for _ in range(2)]
    photo = add_photo()  # Ola is already confirmed in this photo
    confirm.confirm(core, [add_face(photo, syn.face("Ola"), box=(0, 0, 200, 200)).id], "Ola")
    twin = add_face(photo, syn.face("Ola"), box=(400, 0, 200, 200))
    suggest.refresh_suggestions(core)
    assert reload(twin).suggested_person_id is None  # one person per photo
    before = {f.id: (reload(f).state, reload(f).suggested_person_id) for f in ola + pia}
    assert all(v == (m.FaceState.SUGGESTED, person("Ola").id) for k, v in before.items() if k in {f.id for f in ola})

    result = confirm.accept_likely(core, "Ola")
    assert sorted(result.changed) == sorted(f.id for f in ola)
    assert result.person.face_count == 8
    assert all(reload(f).state == m.FaceState.SUGGESTED for f in pia)  # only Ola's
    assert confirm.last_undo().kind == "accept-likely"

    undone = confirm.undo_last(core)
    assert sorted(undone.changed) == sorted(f.id for f in ola)
    assert {f.id: (reload(f).state, reload(f).suggested_person_id) for f in ola + pia} == before
    assert person("Ola").face_count == 4
    result = confirm.accept_likely(core)  # everybody
    assert sorted(result.changed) == sorted(f.id for f in ola + pia)
    check_counts()


def test_undo_leaves_faces_changed_since_alone(core) -> None:
    syn = Synthetic()
    faces = [single(syn.face("Quinn")) for _ in range(3)]
    confirm.confirm(core, [f.id for f in faces], "Quinn")
    entry = m.UndoEntry.select().order_by(m.UndoEntry.id.desc()).get()
    # something outside the journal (e.g. another process) changes one face
    m.Face.update(state=m.FaceState.IGNORED, person=None).where(m.Face.id == faces[0].id).execute()
    people.recount([person("Quinn").id])
    m.UndoEntry.delete().where(m.UndoEntry.id > entry.id).execute()
    result = confirm.undo_last(core)
    assert sorted(result.changed) == sorted(f.id for f in faces[1:])
    assert [s.face_id for s in result.skipped] == [faces[0].id]
    assert reload(faces[0]).state == m.FaceState.IGNORED
    # Quinn was created by the confirm and has no faces left: gone with the undo
    assert people.find_person("Quinn") is None
    with pytest.raises(people.PeopleError):
        confirm.undo_last(core)
    check_counts()


def test_undo_keeps_only_the_newest_entries(core) -> None:
    syn = Synthetic()
    face = single(syn.face("Rob"))
    for n in range(undo.UNDO_KEEP + 5):
        confirm.confirm(core, [face.id], f"Rob {n}")
    assert m.UndoEntry.select().count() == undo.UNDO_KEEP


def test_name_cluster_drops_outliers_and_limits_to_seen_faces(core) -> None:
    syn = Synthetic()
    members = [single(syn.face("Sam")) for _ in range(6)]
    odd = single(syn.between("Sam", "Tom", 0.35))  # in the cluster, but far from its centre
    late = single(syn.face("Sam"))  # joined after the user looked
    for f in [*members, odd, late]:
        m.Face.update(cluster=5).where(m.Face.id == f.id).execute()
    seen = [f.id for f in [*members, odd]]
    result = confirm.name_cluster(core, 5, "Sam", drop_outliers=True, face_ids=seen)
    assert sorted(result.changed) == sorted(f.id for f in members)
    assert [s.face_id for s in result.skipped] == [odd.id]
    assert reload(odd).cluster is None and reload(odd).state != m.FaceState.CONFIRMED
    assert reload(late).state != m.FaceState.CONFIRMED  # not seen: not named
    assert person("Sam").face_count == 6
    with pytest.raises(people.NotFound):
        confirm.name_cluster(core, 12345, "Sam")
    # explicit drops
    for f in (single(syn.face("Uma")), single(syn.face("Uma")), single(syn.face("Uma"))):
        m.Face.update(cluster=6).where(m.Face.id == f.id).execute()
    uma = [f.id for f in m.Face.select().where(m.Face.cluster == 6).order_by(m.Face.id)]
    result = confirm.name_cluster(core, 6, "Uma", drop=[uma[0]])
    assert sorted(result.changed) == uma[1:] and result.created_person
    check_counts()


def test_move_faces_between_people(core) -> None:
    syn = Synthetic()
    vic = [single(syn.face("Vic")) for _ in range(3)]
    confirm.confirm(core, [f.id for f in vic], "Vic")
    confirm.confirm(core, [single(syn.face("Wes")).id], "Wes")
    result = confirm.move_faces(core, [vic[0].id, vic[1].id], "Wes")
    assert sorted(result.changed) == sorted([vic[0].id, vic[1].id])
    assert person("Vic").face_count == 1 and person("Wes").face_count == 3
    assert person("Vic").cover_face_id == vic[2].id
    confirm.undo_last(core)
    assert person("Vic").face_count == 3 and person("Wes").face_count == 1
    check_counts()
