"""Logging as configured for Docker: level from config, plain or JSON lines on stderr, an optional
rotating file in the data folder, and no secret in any line (messages and tracebacks alike)."""

from __future__ import annotations

import json
import logging
import logging.handlers
from collections.abc import Iterator
from pathlib import Path

import pytest

from tagmyphotos.system.logs import configure_logging, redact
from tests.support.base import make_config


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def _ours() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_tagmyphotos", False)]


def test_plain_lines_at_the_configured_level(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(make_config(library, tmp_path / "data", TAGMYPHOTOS_LOG_LEVEL="WARNING"))
    log = logging.getLogger("tagmyphotos.test")
    log.info("not shown at WARNING")
    log.warning("Immich refused api_key=abc123XYZ for %s", "/photos/a.jpg")
    err = capsys.readouterr().err
    assert "not shown" not in err
    line = next(ln for ln in err.splitlines() if "Immich refused" in ln)
    assert " WARNING tagmyphotos.test: " in line
    assert "abc123XYZ" not in line and "api_key=********" in line and "/photos/a.jpg" in line


def test_json_lines_with_redacted_tracebacks(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = make_config(library, tmp_path / "data", TAGMYPHOTOS_LOGGING__JSON_FORMAT="true")
    configure_logging(cfg)
    log = logging.getLogger("tagmyphotos.jobs")
    log.debug("hidden at INFO")
    try:
        raise PermissionError("webhook said: invalid secret=s3cr3t-value")
    except PermissionError:
        log.exception('notify failed, {"token": "tok-987"}')
    lines = [json.loads(ln) for ln in capsys.readouterr().err.splitlines() if ln.startswith("{")]
    assert len(lines) == 1, "one JSON object per record, DEBUG filtered"
    rec = lines[0]
    assert set(rec) == {"ts", "level", "logger", "msg", "exc"}
    assert (rec["level"], rec["logger"]) == ("error", "tagmyphotos.jobs")
    assert "tok-987" not in rec["msg"] and '"token": "********"' in rec["msg"]
    assert "PermissionError" in rec["exc"] and "s3cr3t-value" not in rec["exc"]


def test_optional_rotating_file_in_the_data_folder(library: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    configure_logging(make_config(library, data, TAGMYPHOTOS_LOGGING__FILE="true"))
    configure_logging(make_config(library, data, TAGMYPHOTOS_LOGGING__FILE="true"))  # no duplicates
    handlers = _ours()
    assert len(handlers) == 2
    rotating = [h for h in handlers if isinstance(h, logging.handlers.RotatingFileHandler)]
    assert len(rotating) == 1 and rotating[0].maxBytes > 0 and rotating[0].backupCount > 0
    logging.getLogger("tagmyphotos").info("scan done, password: hunter2")
    rotating[0].flush()
    text = (data / "tagmyphotos.log").read_text()
    assert "scan done" in text and "hunter2" not in text


def test_no_file_unless_asked(library: Path, tmp_path: Path) -> None:
    configure_logging(make_config(library, tmp_path / "data"))
    assert [type(h) for h in _ours()] == [logging.StreamHandler]
    assert not (tmp_path / "data" / "tagmyphotos.log").exists()


@pytest.mark.parametrize(
    "text, secret",
    [
        ("X-API-Key: k-123456", "k-123456"),
        ("GET /api/v1/photos?api_key=abcdef&limit=5", "abcdef"),
        ("PASSWORD=pw-42", "pw-42"),
    ],
)
def test_redacted_forms(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out and "********" in out


@pytest.mark.parametrize(
    "text, secret",
    [
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "eyJhbGciOi"),
        ("connect postgresql://tmp:pg-s3cret@db:5432/tmp failed", "pg-s3cret"),
        ("redis://:redis-pass@redis:6379/0 unreachable", "redis-pass"),
    ],
)
def test_redacted_bearer_tokens_and_url_credentials(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_plain_lines_escape_terminal_control_characters(
    library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file name with ESC sequences in a log line cannot drive the terminal (issue 25, item 9)."""
    configure_logging(make_config(library, tmp_path / "data", TAGMYPHOTOS_LOG_LEVEL="WARNING"))
    logging.getLogger("tagmyphotos.test").warning("cannot read %s", "a\x1b[2J\x1b[31mred\u202e.jpg")
    line = next(ln for ln in capsys.readouterr().err.splitlines() if "cannot read" in ln)
    assert "\x1b" not in line and "\u202e" not in line and "a\\x1b[2J\\x1b[31mred\\u202e.jpg" in line
