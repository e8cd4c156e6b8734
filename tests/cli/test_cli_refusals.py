"""Bad numbers, dates and secrets are refused with a clear message (issue 25, item 10): `photos
--limit -5 --offset -3` listed everything, `restore --since 0001-01-01` (and the API) queued a
job that crashed (now: from the beginning), and a 4-character API key or a 3-character password
was accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagmyphotos_app.cli import EXIT_USAGE, main


@pytest.fixture
def env(library: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in {"TAGMYPHOTOS_LIBRARY": str(library), "TAGMYPHOTOS_DATA": str(tmp_path / "data"),
                        "TAGMYPHOTOS_CONFIG": str(tmp_path / "absent.yaml")}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "named"),
    [(["photos", "--limit", "-5", "--offset", "-3"], "--limit"), (["photos", "--offset", "-3"], "--offset"),
     (["photos", "--limit", "0"], "--limit"), (["merge-suggestions", "--limit", "-1"], "--limit"),
     (["worker", "--workers", "0"], "--workers")],
)  # fmt: skip
def test_negative_counts_are_a_usage_error(
    env: Path, args: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"argument {named}" in err and "or more" in err


def test_restore_since_year_one_means_from_the_beginning(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["restore", "--since", "0001-01-01"]) == 0  # no crash: every backup (none here)
    assert "year 0" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("variable", "value", "key", "least"),
    [("TAGMYPHOTOS_API_KEY", "abcd", "auth.api_key", 16), ("TAGMYPHOTOS_PASSWORD", "abc", "auth.password", 8),
     ("TAGMYPHOTOS_QUEUE__SECRET", "short-one", "queue.secret", 16)],
)  # fmt: skip
def test_short_secrets_are_refused_without_repeating_them(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    variable: str, value: str, key: str, least: int,
) -> None:  # fmt: skip
    monkeypatch.setenv(variable, value)
    assert main(["config", "check", "--json"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert key in err and f"at least {least} characters" in err and value not in err
