"""Naming by itself through the API (issue 26): the settings, the level on each suggestion, the
automatic runs listed and undone, "always ask me" on a person, and the metrics."""

from __future__ import annotations

import csv
from collections import defaultdict

from tagmyphotos.store import models as m
from tests.support.api import ApiEnv, assert_problem
from tests.support.base import FACES

pytest_plugins = ("tests.support.api",)


def _photos_of(person: str) -> list[str]:
    people: dict[str, list[str]] = defaultdict(list)
    with open(FACES / "identities.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            people[row["identity"]].append(row["file"])
    return sorted(people[person])


def _name(api: ApiEnv, name: str, paths: list[str]) -> None:
    ids = []
    for path in paths:
        faces = api.ok("GET", "/photos/by-path", params={"path": path})["face_list"]
        ids.append(max(faces, key=lambda f: f["w"] * f["h"])["id"])
    api.ok("POST", "/faces/confirm", json={"face_ids": ids, "name": name})


def test_sure_faces_are_named_listed_and_undone(api: ApiEnv) -> None:
    api.ok("PATCH", "/settings", json={"changes": {"review.auto_accept": "sure", "write.auto": "after_match"}})
    _name(api, "Ann", _photos_of("person01")[:2])
    _name(api, "Cy", _photos_of("person10")[:2])
    sure = [f for f in api.ok("GET", "/faces", params={"state": "suggested", "limit": 200})["items"]
            if f["certainty"] == "sure"]  # fmt: skip
    assert sure, "the level is on every suggestion"
    cy = next(p for p in api.ok("GET", "/people")["items"] if p["name"] == "Cy")
    assert api.ok("PATCH", f"/people/{cy['id']}", json={"ask_first": True})["ask_first"] is True

    match = api.ok("POST", "/jobs", json={"type": "match"})  # immediate mode: its follow-ups run too
    assert match["result"]["sure"] >= len(sure) - 2, match["result"]
    (batch,) = api.ok("GET", "/auto/batches")["items"]
    assert set(batch["people"]) == {"Ann"}, "Cy asked to be asked"
    assert batch["write_job_id"], "write.auto: after_match wrote the run"
    assert m.Job.get_by_id(batch["write_job_id"]).state == m.JobState.DONE
    metrics = api.client.get("/metrics").text
    assert f"tagmyphotos_auto_named_faces_total {float(batch['faces'])}" in metrics, metrics[-2000:]

    assert_problem(api.call("POST", f"/auto/batches/{batch['id']}/undo", key="read"), 403)
    undone = api.ok("POST", f"/auto/batches/{batch['id']}/undo")
    assert sorted(undone["faces"]) == sorted(batch["face_ids"]) and undone["kept"] == []
    assert undone["restore_job"]["type"] == "restore"
    job = m.Job.get_by_id(undone["restore_job"]["id"])
    assert job.state == m.JobState.DONE and job.result["restored"] >= 1 and job.result["undone_batches"] == 1
    assert api.ok("GET", f"/auto/batches/{batch['id']}")["undone_at"]
    assert_problem(api.call("POST", f"/auto/batches/{batch['id']}/undo"), 409)
    assert_problem(api.call("GET", "/auto/batches/999999"), 404)
    assert 'tagmyphotos_auto_batches_total{undone="true"} 1.0' in api.client.get("/metrics").text
