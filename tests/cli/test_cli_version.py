"""One release number everywhere (issue 30, item 7): `tagmyphotos --version` and `version --json`
show tagmyphotos.VERSION and the schema versions, without opening the database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagmyphotos import VERSION
from tagmyphotos.store import migrations
from tagmyphotos_app.cli import main


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"tagmyphotos {VERSION}"


def test_version_command_json_opens_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {"TAGMYPHOTOS_LIBRARY": str(tmp_path), "TAGMYPHOTOS_DATA": str(tmp_path / "data"),
                        "TAGMYPHOTOS_CONFIG": str(tmp_path / "absent.yaml")}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    assert main(["version", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "version": VERSION, "schema_version": migrations.LATEST,
        "oldest_upgradable_schema": migrations.OLDEST_UPGRADABLE,
    }  # fmt: skip
    assert not (tmp_path / "data").exists()
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith(f"tagmyphotos {VERSION} (database schema {migrations.LATEST}")
