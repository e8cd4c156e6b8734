"""Shared fixtures: real temp copies of the testdata, a real Config, a real Core on SQLite, or
with `--db=postgres` on a real PostgreSQL server (tests/support/dbtarget.py: one database per data
folder, so every fixture and test that opens a Core runs on it unchanged)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tagmyphotos.config import Config
from tagmyphotos.core import Core
from tests.support import dbtarget
from tests.support.base import FACES, copy_tree, make_config, scan_and_analyze


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db", choices=("sqlite", "postgres"), default="sqlite",
        help="database of every Core the tests open: SQLite in the data folder (default) or a fresh "
        "database per data folder on a real PostgreSQL server started for the run",
    )  # fmt: skip


def pytest_sessionstart(session: pytest.Session) -> None:
    if session.config.getoption("--db") != "postgres":
        return
    from tagmyphotos_lab.servers import ServerUnavailable, start_postgres

    try:
        dbtarget.use(start_postgres())
    except ServerUnavailable as exc:
        pytest.exit(f"--db=postgres: PostgreSQL cannot be started here: {exc}", returncode=2)


def pytest_sessionfinish(session: pytest.Session) -> None:
    server = dbtarget._server
    if server is not None:
        dbtarget.use(None)
        server.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[object]) -> Iterator[None]:
    """Databases made by module- or session-scoped fixtures outlive the test (dbtarget). Session
    fixtures never pass here (a conftest's hooks see only the nodes below it): "session" is the
    default scope."""
    with dbtarget.scope(fixturedef.scope):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call() -> Iterator[None]:
    with dbtarget.scope("function"):
        yield


@pytest.fixture(autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    dbtarget.drop_test_databases()


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A writable copy of the 64 photos of testdata/faces."""
    return copy_tree(FACES, tmp_path / "library", "*.jpg")


@pytest.fixture
def cfg(library: Path, tmp_path: Path) -> Config:
    return make_config(library, tmp_path / "data")


@pytest.fixture
def core(cfg: Config) -> Iterator[Core]:
    c = Core(cfg)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="session")
def analysed_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The testdata library scanned and analysed once per session (library, data)."""
    base = tmp_path_factory.mktemp("analysed")
    lib = copy_tree(FACES, base / "library", "*.jpg")
    cfg = make_config(lib, base / "data")
    core = Core(cfg)
    try:
        scan_and_analyze(core)
    finally:
        core.close()
    return lib, base / "data"


@pytest.fixture
def analysed_core(analysed_template: tuple[Path, Path], tmp_path: Path) -> Iterator[Core]:
    """A fresh copy of the analysed library and its data folder, opened."""
    lib, data = analysed_template
    shutil.copytree(lib, tmp_path / "library")
    dbtarget.copy_data(data, tmp_path / "data")
    c = Core(make_config(tmp_path / "library", tmp_path / "data"))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(autouse=True)
def _fresh_key_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrong API keys are throttled per address (system/throttle.py): one test's refused keys
    must not make the next test's TestClient address wait."""
    from tagmyphotos.system import throttle

    monkeypatch.setattr(throttle, "KEY_THROTTLE", throttle.LoginThrottle(what="API key"))


@pytest.fixture(autouse=True)
def _fresh_queue() -> Iterator[None]:
    """Each test starts with the queue in immediate (in-memory) mode: no task or storage of an
    earlier test's data folder leaks into the next test."""
    from jobs.queue import huey

    huey.immediate = True
    huey.storage = huey.create_storage()
    yield
    huey.immediate = True
    huey.storage = huey.create_storage()
