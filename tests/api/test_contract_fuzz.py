"""The API keeps its OpenAPI contract: Schemathesis, driven by /api/v1/openapi.json, finds no
server error, no status, header or body the schema does not document, no schema-valid request
refused and no schema-violating one accepted (docs/api.md, "The contract": the same command by hand).

Why against the real server (`tagmyphotos serve` in a subprocess, tagmyphotos_lab.appserver): the
contract covers what the app in front of the routes does too (the body checks, the 404/405
catch-all, the auth dependency). The library is a few testdata photos, analysed by the real
stages. The default suite runs a small seeded budget (random and stateful phases, a few examples
per operation: a minute or two); the `slow` run is the acceptance run (docs/api.md): every phase and
check, 25 examples per operation, seeded, stateful links followed.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tagmyphotos.core import Core
from tagmyphotos_lab.appserver import API_KEY, serve
from tests.support import dbtarget
from tests.support.base import FACES, ROOT, copy_tree, make_config, scan_and_analyze

PHOTOS = "img[1-6].jpg"  # six photos: faces, a cluster, people to name
SEED = 20261207
QUICK_EXAMPLES = 5
# The coverage phase (every boundary of every schema, a fixed cost of minutes) is the slow run's.
QUICK_PHASES = "examples,fuzzing,stateful"
FULL_EXAMPLES = 25
SCHEMATHESIS = ROOT / ".venv" / "bin" / "schemathesis"


@dataclass
class Served:
    base: str
    key: str  # a full-scope key the fuzzer cannot revoke (the configured one: DELETE /keys is fuzzed)

    def get(self, path: str, **kw: object) -> httpx.Response:
        return httpx.get(self.base + path, headers={"X-API-Key": self.key}, timeout=30, **kw)  # type: ignore[arg-type]

    def call(self, method: str, path: str, **kw: object) -> httpx.Response:
        headers = {"X-API-Key": self.key, **dict(kw.pop("headers", {}) or {})}  # type: ignore[call-overload]
        return httpx.request(method, self.base + path, headers=headers, timeout=30, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("contract")
    library = copy_tree(FACES, base / "library", PHOTOS)
    core = Core(make_config(library, base / "data"))
    try:
        scan_and_analyze(core)
    finally:
        core.close()
    # the fuzzer's ignored-auth check sends wrong keys on every operation: a scratch server
    # under a fuzzer allows them (docs/api.md's command says so), or its own calls get 429
    env = {**dbtarget.database_env(base / "data"), "TAGMYPHOTOS_AUTH__KEY_FAILURES_PER_ADDRESS": "1000000"}
    with serve(library, base / "data", **env) as app:
        yield Served(app.base, API_KEY)


def schemathesis(served: Served, examples: int, phases: str | None = None) -> subprocess.CompletedProcess[str]:
    """docs/api.md's command: every check, seeded, `examples` per operation, stateful links."""
    command = [
        str(SCHEMATHESIS), "--no-color", "run", f"{served.base}/api/v1/openapi.json",
        "-H", f"X-API-Key: {served.key}", "--checks", "all", "--max-examples", str(examples),
        "--seed", str(SEED), "--workers", "1", *(["--phases", phases] if phases else []),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)


def assert_no_failures(done: subprocess.CompletedProcess[str]) -> None:
    summary = done.stdout[-8000:]
    assert done.returncode == 0, summary
    selected = re.search(r"Selected: (\d+)/(\d+)", summary)
    tested = re.search(r"Tested: (\d+)", summary)
    assert selected and tested and tested[1] == selected[1] == selected[2], summary  # every operation
    assert "failure" not in summary.splitlines()[-1], summary


def test_schema_links_resources_to_their_next_calls(served: Served) -> None:
    paths = served.get("/api/v1/openapi.json").json()["paths"]
    started = paths["/api/v1/jobs"]["post"]["responses"]["202"]["links"]
    assert started["CancelJob"]["operationId"] == paths["/api/v1/jobs/{job_id}/cancel"]["post"]["operationId"]
    assert started["CancelJob"]["parameters"] == {"job_id": "$response.body#/id"}
    audit = paths["/api/v1/writes/audit"]["get"]["responses"]["200"]["links"]["AuditEntry"]
    assert audit["operationId"] == paths["/api/v1/writes/audit/{audit_id}"]["get"]["operationId"]
    # every problem is documented as what is sent: application/problem+json
    for ops in paths.values():
        for op in ops.values():
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")):
                    assert list(answer["content"]) == ["application/problem+json"], (status, op["operationId"])


def test_a_body_that_is_not_utf8_json_is_a_400_not_a_500(served: Served) -> None:
    for path in ("/api/v1/faces/ignore", "/api/v1/jobs", "/api/v1/photos/purge", "/api/v1/writes"):
        resp = served.call("POST", path, content=b"\xff\xfe{", headers={"Content-Type": "application/json"})
        assert resp.status_code == 400, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["type"].endswith("/bad-json") and "Traceback" not in resp.text


def test_405_allow_lists_the_documented_methods(served: Served) -> None:
    paths = served.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/faces/ignore", "/api/v1/photos/purge", "/api/v1/people/merge-suggestions"):
        resp = served.call("PATCH", path, json={})
        assert resp.status_code == 405, (path, resp.text)
        assert set(resp.headers["allow"].split(", ")) == {m.upper() for m in paths[path]}


def test_a_revoked_key_is_gone_and_stops_working(served: Served) -> None:
    made = served.call("POST", "/api/v1/keys", json={"name": "short-lived", "scope": "read"}).json()
    key_id = made["key"]["id"]
    assert served.get(f"/api/v1/keys/{key_id}").status_code == 200
    revoked = served.call("DELETE", f"/api/v1/keys/{key_id}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert served.get(f"/api/v1/keys/{key_id}").status_code == 404
    assert served.call("DELETE", f"/api/v1/keys/{key_id}").status_code == 404
    listed = served.get("/api/v1/keys", params={"include_revoked": "true"}).json()["items"]
    assert [k["revoked_at"] is not None for k in listed if k["id"] == key_id] == [True]
    refused = httpx.get(served.base + "/api/v1/whoami", headers={"X-API-Key": made["secret"]})
    assert refused.status_code == 401


def test_schemathesis_quick_budget_finds_nothing(served: Served) -> None:
    assert_no_failures(schemathesis(served, QUICK_EXAMPLES, QUICK_PHASES))


@pytest.mark.slow
def test_schemathesis_full_run_finds_nothing(served: Served) -> None:
    assert_no_failures(schemathesis(served, FULL_EXAMPLES))
