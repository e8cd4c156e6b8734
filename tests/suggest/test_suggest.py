"""Suggestions and clusters through the database, on the real analysed testdata and synthetic rows."""

from __future__ import annotations

from collections import Counter

import numpy as np

from jobs.pipeline import STAGES
from tagmyphotos.review import confirm
from tagmyphotos.stages.match import stage_match
from tagmyphotos.stages.runner import Stage, run_stage
from tagmyphotos.store import jobs as jobs_store
from tagmyphotos.store import models as m
from tagmyphotos.suggest import clusters
from tagmyphotos.suggest import refresh as suggest
from tests.support.review import MODEL, Synthetic, add_face, add_photo, labelled, person, reload, single


def _faces_by_file() -> dict[str, m.Face]:
    """The one face of each labelled single-face photo."""
    out = {}
    for face in m.Face.select(m.Face, m.Photo).join(m.Photo):
        out.setdefault(face.photo.path, []).append(face)
    return {path: faces[0] for path, faces in out.items() if len(faces) == 1}


def _run_match(core) -> dict:
    stage = STAGES.get("match") or Stage("match", stage_match)
    job_id = jobs_store.create_job("match", {"no_follow": True})
    run_stage(core, stage, job_id)
    job = m.Job.get_by_id(job_id)
    assert job.state == m.JobState.DONE, job.error
    return job.result


def test_a_confirmation_changes_the_next_suggestion_at_once(analysed_core) -> None:
    core = analysed_core
    faces = _faces_by_file()
    labels = labelled()
    files = sorted(f for f in labels if labels[f] == "person01" and f in faces)
    probe, others = faces[files[0]], [faces[f] for f in files[1:]]
    _run_match(core)
    assert reload(probe).suggested_person_id is None  # nobody is known yet
    vec = np.frombuffer(bytes(probe.embedding), np.float32)
    nearest = min(others, key=lambda f: np.linalg.norm(np.frombuffer(bytes(f.embedding), np.float32) - vec))

    confirm.confirm(core, [nearest.id], "Anna")  # no refresh call: the confirm does it
    row = reload(probe)
    assert row.state == m.FaceState.SUGGESTED and row.suggested_person_id == person("Anna").id
    assert row.band in ("likely", "maybe") and 0 < row.confidence <= 1
    exp = row.explanation  # distance, agreeing neighbours, nearest conflicting person
    assert exp["distance"] <= 0.6 and exp["agreeing"] == 1 and exp["k"] == 1
    assert exp["candidate"] == person("Anna").id

    confirm.reject(core, [probe.id], "Anna")
    confirm.confirm(core, [f.id for f in others if f.id != nearest.id], "Anna")
    assert reload(probe).suggested_person_id is None  # rejected: never Anna again


def test_two_labelled_photos_per_person_give_precise_likely_suggestions(analysed_core) -> None:
    core = analysed_core
    faces = _faces_by_file()
    labels = {f: who for f, who in labelled().items() if f in faces}
    by_person: dict[str, list[str]] = {}
    for f in sorted(labels):
        by_person.setdefault(labels[f], []).append(f)
    taught = {f for files in by_person.values() for f in files[:2]}
    for who, files in by_person.items():
        confirm.confirm(core, [faces[f].id for f in files[:2]], who)
    result = _run_match(core)
    rest = [f for f in labels if f not in taught]
    likely = [f for f in rest if reload(faces[f]).band == "likely"]
    correct = [f for f in likely if reload(faces[f]).suggested_person.name == labels[f]]
    precision = len(correct) / max(1, len(likely))
    recall = len(correct) / len(rest)
    assert precision >= 0.97 and recall >= 0.80, (precision, recall, result)
    assert result["faces"] >= len(rest)


def test_one_person_per_photo(core) -> None:
    syn = Synthetic()
    confirm.confirm(core, [single(syn.face("Ada")).id for _ in range(3)], "Ada")
    photo = add_photo()
    a = add_face(photo, syn.face("Ada"), box=(0, 0, 200, 200))
    b = add_face(photo, syn.face("Ada"), box=(400, 0, 200, 200))
    suggest.refresh_suggestions(core)
    suggested = [f for f in (reload(a), reload(b)) if f.suggested_person_id is not None]
    assert len(suggested) == 1
    # confirming the other face moves the suggestion away at once
    other = a if suggested[0].id == b.id else b
    confirm.confirm(core, [other.id], "Ada")
    assert reload(suggested[0]).suggested_person_id is None


def test_embeddings_of_different_models_never_meet(core) -> None:
    syn = Synthetic()
    vec = syn.face("Bea")
    confirm.confirm(core, [single(syn.face("Bea")).id for _ in range(3)], "Bea")
    same = single(vec)
    other_model = single(vec, model="Dlib/another-pipeline/v9")
    suggest.refresh_suggestions(core)
    assert reload(same).suggested_person_id == person("Bea").id
    assert reload(other_model).suggested_person_id is None and reload(other_model).state == m.FaceState.UNKNOWN


def test_re_analysis_in_place_is_picked_up(core) -> None:
    """The analyze stage replaces a face's vector in place (same id, new updated_at)."""
    syn = Synthetic()
    faces = [single(syn.face("Cy")) for _ in range(3)]
    confirm.confirm(core, [f.id for f in faces], "Cy")
    probe = single(syn.face("Dee"))
    suggest.refresh_suggestions(core)
    assert reload(probe).suggested_person_id is None
    for f in faces:  # the "Cy" faces turn out to look like Dee after re-analysis
        m.Face.update(embedding=syn.face("Dee").tobytes(), updated_at=m.utcnow()).where(m.Face.id == f.id).execute()
    suggest.refresh_suggestions(core)
    assert reload(probe).suggested_person_id == person("Cy").id


def test_index_generations_and_annoy_path_agree_with_exact(core) -> None:
    syn = Synthetic()
    names = [f"P{i}" for i in range(12)]
    for name in names:
        confirm.confirm(core, [single(syn.face(name)).id for _ in range(4)], name)
    probes = [single(syn.face(name)) for name in names]
    suggest.refresh_suggestions(core)
    exact = {p.id: reload(p).suggested_person_id for p in probes}
    assert all(exact.values())
    metas = suggest.rebuild_index(core, force=True)
    assert [meta.generation for meta in metas] == [1] and metas[0].count == 48
    assert (core.cfg.index_dir / "Dlib_dlib5-chip150-p0.25_v1" / "meta.json").exists()
    state = suggest.model_state(core, MODEL)
    state.matcher.index.exact_below = 0  # use Annoy (+ exact for faces confirmed since)
    confirm.confirm(core, [single(syn.face("New")).id for _ in range(2)], "New")
    late = single(syn.face("New"))
    suggest.refresh_suggestions(core)
    assert state.matcher.index.stale
    assert {p.id: reload(p).suggested_person_id for p in probes} == exact
    assert reload(late).suggested_person_id == person("New").id  # counted before any rebuild
    status = suggest.index_status(core)
    assert status[0]["stale"] and status[0]["generation"] == 1 and status[0]["confirmed"] == 50
    assert [meta.generation for meta in suggest.rebuild_index(core, force=True)] == [2]
    assert not suggest.index_status(core)[0]["stale"]


def test_clusters_group_identities_keep_ids_and_grow(analysed_core) -> None:
    core = analysed_core
    result = _run_match(core)
    assert result["clusters"] >= 10
    faces = _faces_by_file()
    labels = labelled()
    ids_by_cluster: dict[int, Counter] = {}
    for path, face in faces.items():
        row = reload(face)
        if row.cluster is not None and path in labels:
            ids_by_cluster.setdefault(row.cluster, Counter())[labels[path]] += 1
    pure = sum(c.most_common(1)[0][1] for c in ids_by_cluster.values())
    assert pure / sum(sum(c.values()) for c in ids_by_cluster.values()) >= 0.95
    before = {f.id: reload(f).cluster for f in faces.values()}
    _run_match(core)
    assert {f.id: reload(f).cluster for f in faces.values()} == before  # stable ids
    views = clusters.list_clusters(sample=3)
    assert views[0].size >= views[-1].size and len(views[0].faces) <= 3
    assert all(f.cluster == views[0].id for f in views[0].faces)
    # naming a cluster confirms it; the next refresh never reuses its id
    named = confirm.name_cluster(core, views[0].id, "Named")
    assert len(named.changed) == views[0].size - len(named.skipped)
    clusters.refresh_clusters(core, full=True)
    assert views[0].id not in {v.id for v in clusters.list_clusters()}


def test_new_faces_join_existing_clusters(core) -> None:
    syn = Synthetic()
    first = [single(syn.face("Flo"), box=(0, 0, 300, 300)) for _ in range(4)]
    report = clusters.refresh_clusters(core)
    assert report.clusters == 1 and report.clustered == 4
    cid = reload(first[0]).cluster
    late = single(syn.face("Flo"))
    tiny = single(syn.face("Flo"), box=(0, 0, 30, 30))  # too small to cluster
    clusters.refresh_clusters(core)
    assert reload(late).cluster == cid and reload(tiny).cluster is None
    assert clusters.cluster_view(cid).size == 5
