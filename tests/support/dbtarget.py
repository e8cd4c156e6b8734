"""Where the tests' databases live: SQLite in each data folder (the default), or with
`pytest --db=postgres` a fresh database per data folder on one real PostgreSQL server.

Why per data folder: a test's data folder already names "its" database (Core opens
`data/tagmyphotos.db`), so `conftest.make_config` keeps that identity on PostgreSQL: the same
folder opened twice is the same database, a copied folder (`copy_data`) a copied database, and
no test needs to know which engine it runs on.

Databases made while a function-scoped fixture or the test itself runs are dropped after the
test (WITH (FORCE): connections left open by the app's worker threads go with them); those of
module- and session-scoped fixtures live until the server stops.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tagmyphotos_lab.servers import Postgres

ENV_KEY = "TAGMYPHOTOS_DATABASE_URL"

_server: Postgres | None = None
_urls: dict[Path, str] = {}
_per_test: list[str] = []
_names = itertools.count(1)
# The scope of the fixture being set up now ("function" also for the test body itself).
_scope = "session"


@contextmanager
def scope(name: str) -> Iterator[None]:
    """Databases made inside belong to a fixture of this scope (conftest's hooks say which)."""
    global _scope
    outer, _scope = _scope, name
    try:
        yield
    finally:
        _scope = outer


def use(server: Postgres | None) -> None:
    global _server
    _server = server
    _urls.clear()


def on_postgres() -> bool:
    return _server is not None


def _admin(sql: str) -> None:
    import psycopg2

    assert _server is not None
    conn = psycopg2.connect(_server.url.rsplit("/", 1)[0] + "/postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def _create(template: str | None = None) -> str:
    assert _server is not None
    name = f"t{next(_names)}"
    _admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    if _scope == "function":
        _per_test.append(name)
    return f"{_server.url.rsplit('/', 1)[0]}/{name}"


def database_env(data: Path) -> dict[str, str]:
    """The environment entry pointing a process at `data`'s database ({} on SQLite)."""
    if _server is None:
        return {}
    key = data.resolve()
    if key not in _urls:
        _urls[key] = _create()
    return {ENV_KEY: _urls[key]}


def copy_data(src: Path, dst: Path) -> None:
    """Copy a data folder and, on PostgreSQL, its database (nobody may be connected to it)."""
    shutil.copytree(src, dst)
    if _server is None:
        return
    source = database_env(src)[ENV_KEY].rsplit("/", 1)[1]
    _urls[dst.resolve()] = _create(template=source)


def dump(data: Path) -> bytes:
    """Everything `data`'s PostgreSQL database stores, as pg_dump writes it (checks of what is
    at rest; on SQLite read the database file)."""
    import subprocess

    from tagmyphotos_lab.servers import _pg_bin

    url = database_env(data)[ENV_KEY]
    return subprocess.run([str(_pg_bin() / "pg_dump"), "--data-only", url], capture_output=True, check=True).stdout


def drop(data: Path) -> None:
    """Drop `data`'s database now, ending every connection to it (a database that is gone)."""
    url = _urls.pop(data.resolve())
    _admin(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def drop_test_databases() -> None:
    """Drop the databases the finished test made (and forget their folders)."""
    if _server is None:
        return
    gone = set(_per_test)
    for name in _per_test:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # gone already: drop()
    _per_test.clear()
    for key in [k for k, url in _urls.items() if url.rsplit("/", 1)[1] in gone]:
        del _urls[key]
