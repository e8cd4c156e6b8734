"""What an outside attack on the API found (issue 14, items 7 and 10), against the real app
composition (FastAPI + web.mount) on a real SQLite database; see docs/reliability.md."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from fastapi.testclient import TestClient

from tagmyphotos.core import Core
from tagmyphotos.system import auth
from tests.support.api import PREFIX, make_app

IMMICH_KEY = "immich-secret-key-0123456789"
PHOTOPRISM_TOKEN = "photoprism-secret-token-0123456789"
FOREIGN_BODY = "internal-service-banner " * 20


class Listener(BaseHTTPRequestHandler):
    """A server that is not Immich: records every request's headers, answers with a banner."""

    seen: list[dict[str, str]] = []

    def _answer(self) -> None:
        Listener.seen.append({k.lower(): v for k, v in self.headers.items()})
        length = int(self.headers.get("content-length") or 0)
        Listener.seen[-1]["body"] = self.rfile.read(length).decode(errors="replace") if length else ""
        body = FOREIGN_BODY.encode()
        self.send_response(500)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[str]:
    Listener.seen = []
    server = HTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def client(core: Core) -> Iterator[TestClient]:
    from jobs import runtime

    app = make_app(core)
    _, key = auth.create_api_key("tests (full)", auth.SCOPE_FULL)
    with TestClient(app, raise_server_exceptions=False, headers={"X-API-Key": key}) as c:
        yield c
    runtime.install(None)


def patch(client: TestClient, changes: dict) -> object:
    return client.patch(PREFIX + "/settings", json={"changes": changes})


def test_a_stored_secret_never_follows_its_url_to_another_site(client: TestClient, listener: str) -> None:
    ok = patch(client, {
        "integrations.immich.url": "http://immich.home:2283", "integrations.immich.api_key": IMMICH_KEY,
        "integrations.photoprism.url": "http://photoprism.home:2342",
        "integrations.photoprism.token": PHOTOPRISM_TOKEN,
    })  # fmt: skip
    assert ok.status_code == 200, ok.text
    # the same site with another path keeps its key
    assert patch(client, {"integrations.immich.url": "http://IMMICH.home:2283/api"}).status_code == 200
    assert client.app.state.core.cfg.integrations.immich.api_key.get_secret_value() == IMMICH_KEY  # type: ignore[attr-defined]
    # the attack: only the URL changes, then the connection test
    answers = []
    for target in ("immich", "photoprism"):
        assert patch(client, {f"integrations.{target}.url": listener}).status_code == 200
        answers.append(client.post(PREFIX + f"/settings/integrations/{target}/test"))
    sent = repr(Listener.seen)
    assert IMMICH_KEY not in sent and PHOTOPRISM_TOKEN not in sent
    for answer in answers:
        assert answer.status_code == 200 and answer.json()["ok"] is False
    shown = client.get(PREFIX + "/settings").text
    assert IMMICH_KEY not in shown and PHOTOPRISM_TOKEN not in shown
    # a key sent again together with the new URL is kept
    again = {"integrations.immich.url": listener + "/x", "integrations.immich.api_key": "new"}
    assert patch(client, again).status_code == 200
    answer = client.post(PREFIX + "/settings/integrations/immich/test")
    assert Listener.seen[-1].get("x-api-key") == "new"
    assert answer.json()["ok"] is False and "internal-service-banner" not in answer.text  # no echo of its answer


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://nas/x", "http://"])
def test_only_http_urls(client: TestClient, url: str) -> None:
    answer = patch(client, {"integrations.immich.url": url})
    assert answer.status_code == 400 and "http" in answer.json()["detail"]


# --- item 10: small gaps ---------------------------------------------------------------------


def test_deeply_nested_json_is_a_clear_400(client: TestClient) -> None:
    for body in ("[" * 1000 + "]" * 1000, '{"changes": ' + '{"a": ' * 1000 + "1" + "}" * 1001):
        answer = client.patch(PREFIX + "/settings", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 400 and "nested deeper" in answer.json()["detail"], answer.text
    brackets_in_text = {"changes": {"write.keyword_prefix": "[[[[" * 20}}  # inside a string: not depth
    assert client.patch(PREFIX + "/settings", json=brackets_in_text).status_code == 200


@pytest.mark.parametrize(
    "params", [{"paths": "a.jpg"}, {"paths": [1, 2]}, {"photo_ids": "7"}, {"photo_ids": [True]}, {"folder": ["a"]}]
)
def test_job_params_of_the_wrong_shape_are_a_422(client: TestClient, params: dict) -> None:
    answer = client.post(PREFIX + "/jobs", json={"type": "write", "params": params})
    assert answer.status_code == 422, answer.text
    assert client.get(PREFIX + "/jobs").json()["items"] == []  # no job that would fail later


@pytest.mark.parametrize("prefix", ["People\nExtra", "People\r", "Peo\x00ple", "x" * 101])
def test_a_keyword_prefix_must_be_one_line(client: TestClient, prefix: str) -> None:
    answer = patch(client, {"write.keyword_prefix": prefix})
    assert answer.status_code == 400 and "write.keyword_prefix" in answer.json()["detail"]
