"""Every exception class the product defines is one of the error family (issue 30, item 2), and
the API and the CLI each map the family in one place by the class's own status, slug and code.

The walk imports every module of the five packages, so a new exception class that forgets the
base fails here, not in front of a user as a traceback or a bare 500.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from starlette.requests import Request

from tagmyphotos.errors import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_USAGE, Conflict, NotFound, TagMyPhotosError
from tagmyphotos_app.cli import main, report_error
from ui.api.errors import problem_for
from ui.api.problems import PROBLEM_BASE, PROBLEM_TYPES, TITLES, ApiProblem

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("tagmyphotos", "ui", "jobs", "integrations", "tagmyphotos_app")


def product_exceptions() -> list[type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for package in PACKAGES:
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                    found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[name] for name in sorted(found)]


EXCEPTIONS = product_exceptions()


def instance(cls: type[TagMyPhotosError]) -> TagMyPhotosError:
    """One instance with a plain message, whatever the class's own constructor wants."""
    exc = cls.__new__(cls)
    Exception.__init__(exc, "what went wrong")
    return exc


def request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/api/v1/x", "headers": [], "query_string": b""})


def test_the_walk_finds_the_product_exceptions() -> None:
    names = {cls.__name__ for cls in EXCEPTIONS}
    assert {"PeopleError", "WriteError", "ApiProblem", "IntegrationError", "UnsignedMessage", "ConfigError"} <= names
    assert len(EXCEPTIONS) >= 27


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_exception_is_of_the_family(cls: type[BaseException]) -> None:
    assert issubclass(cls, TagMyPhotosError), f"{cls.__module__}.{cls.__qualname__} does not derive from it"
    assert cls.http_status in TITLES and cls.exit_code in (EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND)
    assert cls.http_status >= 500 or cls.slug in PROBLEM_TYPES[cls.http_status]  # documented in OpenAPI


@pytest.mark.parametrize("cls", [c for c in EXCEPTIONS if c is not ApiProblem], ids=lambda c: c.__qualname__)
def test_the_api_maps_each_by_its_status_and_slug(cls: type[TagMyPhotosError]) -> None:
    answer = problem_for(request(), instance(cls))
    body = answer.body.decode()
    if cls.http_status < 500:
        assert answer.status_code == cls.http_status
        assert f'"type":"{PROBLEM_BASE}{cls.slug}"' in body and '"detail":"what went wrong"' in body
    else:  # the server's own failure: a 500 that shows no internals
        assert answer.status_code == 500 and "what went wrong" not in body


def test_an_api_problem_chooses_its_own_status_slug_and_headers() -> None:
    answer = problem_for(request(), ApiProblem(429, "slow down", "throttled", {"Retry-After": "7"}))
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "7"
    assert f'"type":"{PROBLEM_BASE}throttled"' in answer.body.decode()
    plain = problem_for(request(), ApiProblem(403, "no"))  # no slug: the title's, as before
    assert f'"type":"{PROBLEM_BASE}not-allowed"' in plain.body.decode()


@pytest.mark.parametrize("cls", EXCEPTIONS, ids=lambda c: c.__qualname__)
def test_the_cli_maps_each_to_its_exit_code(cls: type[TagMyPhotosError], capsys: pytest.CaptureFixture[str]) -> None:
    exc = ApiProblem(400, "what went wrong") if cls is ApiProblem else instance(cls)
    assert report_error(argparse.Namespace(json=True), exc) == cls.exit_code
    printed = capsys.readouterr()
    assert (printed.out.strip(), printed.err.strip()) == ('{"error": "what went wrong"}', "error: what went wrong")


def test_known_codes_are_unchanged() -> None:
    assert (NotFound.http_status, NotFound.slug, NotFound.exit_code) == (404, "not-found", EXIT_NOT_FOUND)
    assert (Conflict.http_status, Conflict.slug, Conflict.exit_code) == (409, "conflict", EXIT_USAGE)


def test_a_bad_config_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("server: [not, a, mapping]\n")
    assert main(["--config", str(config), "status"]) == EXIT_USAGE
    assert capsys.readouterr().err.strip()


def test_a_command_maps_an_error_of_the_family_once(
    library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {"TAGMYPHOTOS_LIBRARY": str(library), "TAGMYPHOTOS_DATA": str(tmp_path / "data"),
                        "TAGMYPHOTOS_CONFIG": str(tmp_path / "absent.yaml")}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    assert main(["photos", "--person", "Nobody", "--json"]) == EXIT_NOT_FOUND  # NotFound, raised in the action
    assert capsys.readouterr().out.strip() == '{"error": "no person named \'Nobody\'"}'
    assert main(["reject", "424242", "--person", "Nobody"]) == EXIT_NOT_FOUND
    assert capsys.readouterr().err.startswith("error: no ")  # the sentence goes to stderr
