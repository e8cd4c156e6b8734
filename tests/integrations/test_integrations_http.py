"""The shared HTTP client: which failures are retried, how long it waits, what the user reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations.http import ApiClient, IntegrationError, backoff_s
from tagmyphotos_lab.fakes.builders import closed_port_url
from tagmyphotos_lab.fakes.server import FakeServer, Recorded, Reply


class Echo(FakeServer):
    """Answers 200 {"ok": true} to anything, unless a fault is injected."""

    def dispatch(self, rec: Recorded) -> Reply:
        return 200, {"ok": True}


@pytest.fixture
def echo() -> Iterator[Echo]:
    with Echo(name="echo") as fake:
        yield fake


def client(url: str, retries: int = 2, timeout_s: float = 1.0, waits: list[float] | None = None) -> ApiClient:
    sleep = waits.append if waits is not None else (lambda s: None)
    return ApiClient(
        "Svc",
        url,
        {"x-key": "k-123456"},
        timeout_s=timeout_s,
        retries=retries,
        secrets=("k-123456",),
        sleep=sleep,
    )


def test_backoff_grows_and_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.http.HTTP_BACKOFF_BASE_S", 0.5)
    monkeypatch.setattr("integrations.http.HTTP_BACKOFF_MAX_S", 3.0)
    assert [backoff_s(i) for i in range(4)] == [0.5, 1.0, 2.0, 3.0]
    assert backoff_s(0, retry_after=2.5) == 2.5 and backoff_s(0, retry_after=99) == 3.0


def test_retry_after_is_honoured(echo: Echo) -> None:
    waits: list[float] = []
    echo.fail("GET", status=503, times=1, body={"message": "busy"}, headers={"Retry-After": "1.5"})
    echo.fail("GET", status=502, times=1)
    with client(echo.url, waits=waits) as c:
        assert c.request("GET", "/x").json() == {"ok": True}
    assert waits == [1.5, backoff_s(1)]  # the server's hint, then the exponential backoff
    assert [r.status for r in echo.requests] == [503, 502, 200]


def test_non_idempotent_call_is_not_repeated_after_a_timeout(echo: Echo) -> None:
    echo.slow("POST /create", delay_s=1.0, times=3)
    with client(echo.url, timeout_s=0.2) as c, pytest.raises(IntegrationError) as err:
        c.request("POST", "/create", json={}, idempotent=False)
    assert "timeout" in str(err.value)
    assert len(echo.calls("POST", "/create")) == 1  # the server may have acted: never twice


def test_non_idempotent_call_is_repeated_when_the_proxy_says_unavailable(echo: Echo) -> None:
    echo.fail("POST /create", status=503, times=1)
    echo.fail("POST /other", status=500, times=1)
    with client(echo.url) as c:
        c.request("POST", "/create", json={}, idempotent=False)
        with pytest.raises(IntegrationError) as err:
            c.request("POST", "/other", json={}, idempotent=False)
    assert len(echo.calls("POST", "/create")) == 2
    assert len(echo.calls("POST", "/other")) == 1 and err.value.status == 500


def test_connection_refused_is_retried_and_reported() -> None:
    waits: list[float] = []
    with client(closed_port_url(), retries=2, waits=waits) as c, pytest.raises(IntegrationError) as err:
        c.request("POST", "/create", json={}, idempotent=False)
    assert "cannot connect" in str(err.value) and "after 3 attempts" in str(err.value)
    assert len(waits) == 2


def test_redirect_is_explained_not_followed(echo: Echo) -> None:
    echo.fail("GET", status=301, times=1)
    with client(echo.url) as c, pytest.raises(IntegrationError) as err:
        c.request("GET", "/api/x")
    assert "redirects (301)" in str(err.value) and len(echo.requests) == 1


def test_server_error_text_is_shown_and_secrets_scrubbed(echo: Echo) -> None:
    echo.fail("GET", status=403, times=1, body={"message": "key k-123456 lacks asset.read"})
    with client(echo.url) as c, pytest.raises(IntegrationError) as err:
        c.request("GET", "/api/x?token=abc")
    text = str(err.value)
    assert "HTTP 403" in text and "lacks asset.read" in text
    assert "k-123456" not in text and "token=abc" not in text
    assert err.value.status == 403 and echo.requests[0].headers["x-key"] == "k-123456"
