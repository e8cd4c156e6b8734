"""Helpers for tests/security/test_security.py: route enumeration, a file-access recorder built on
Python audit hooks, traversal payloads, and a raw HTTP client (httpx normalises '../' away,
an attacker's client does not)."""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.routing import iter_route_contexts

# Routes that answer without credentials (ui/api/ops.py: health checks and the Prometheus
# scrape carry counts and check results only).
PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics"}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}

# Traversal payloads for a path segment, a query value or a JSON string: plain, encoded,
# double-encoded, overlong UTF-8, full-width and other Unicode dots, NUL, backslashes,
# absolute and home paths. `{target}` is replaced by the file the attacker wants.
TRAVERSALS = [
    "../../../../../../..{target}",
    "..%2f..%2f..%2f..%2f..%2f..%2f..{target_enc}",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e{target_enc}",
    "%252e%252e%252f%252e%252e%252f%252e%252e%252f%252e%252e{target_enc}",
    "%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%af%c0%ae%c0%ae{target}",
    "\uff0e\uff0e/\uff0e\uff0e/\uff0e\uff0e/\uff0e\uff0e/\uff0e\uff0e/\uff0e\uff0e{target}",
    "\u2024\u2024/\u2024\u2024/\u2024\u2024/\u2024\u2024/\u2024\u2024{target}",
    "..\\..\\..\\..\\..\\..\\..{target_win}",
    "img1.jpg\x00/../../../../../..{target}",
    "img1.jpg%00.png",
    "{target}",
    "//{target_nolead}",
    "~/../../..{target}",
    "C:\\Windows\\win.ini",
    "file://{target}",
    "good/../../../../../../..{target}",
    "./././../../../../../..{target}",
    ".../.../...{target}",
    "links/outside/secret.jpg",
    "links/outside.jpg",
]


def payloads(target: str) -> list[str]:
    enc = target.replace("/", "%2f")
    return [
        p.format(target=target, target_enc=enc, target_win=target.replace("/", "\\"), target_nolead=target[1:])
        for p in TRAVERSALS
    ]


def concrete_routes(app: Any, fill: str = "1") -> list[tuple[str, str]]:
    """Every (method, url) the app serves, path parameters filled."""
    out = []
    for rc in iter_route_contexts(app.routes):
        path = rc.path or ""
        url = path.replace("{rest:path}", "no/such/thing").replace("{target}", "immich")
        url = re.sub(r"\{[a-z_]+\}", fill, url)
        for method in sorted(rc.methods or ()):
            out.append((method, url))
    return out


def path_param_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path template) of routes with a path parameter (ids, targets, rest)."""
    return [
        (method, str(rc.path))
        for rc in iter_route_contexts(app.routes)
        if "{" in (rc.path or "")
        for method in sorted(rc.methods or ())
    ]


@dataclass
class FileAccess:
    """Every file opened, listed or changed by this process (and each subprocess started)
    while recording, from Python's audit events (PEP 578)."""

    recording: bool = False
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    spawned: list[list[str]] = field(default_factory=list)

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.recording:
            return
        try:
            if event == "open":
                path, mode, flags = args
                if isinstance(path, int) or path is None:
                    return
                text = os.fsdecode(path)
                writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC)
                )
                (self.writes if writes else self.reads).append(text)
            elif event in ("os.listdir", "os.scandir") and args and args[0] is not None:
                if not isinstance(args[0], int):
                    self.reads.append(os.fsdecode(args[0]))
            elif event in ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link", "os.truncate"):
                if args and not isinstance(args[0], int):
                    self.writes.append(os.fsdecode(args[0]))
            elif event == "subprocess.Popen":
                self.spawned.append([os.fsdecode(a) for a in (args[1] or [])])
        except Exception:  # an audit hook must never break the code it watches
            pass

    @contextmanager
    def record(self) -> Iterator[FileAccess]:
        self.recording = True
        try:
            yield self
        finally:
            self.recording = False


ACCESS = FileAccess()
sys.addaudithook(ACCESS.hook)  # once per process: hooks cannot be removed


def outside(paths: list[str], allowed: list[Path], watched: list[Path]) -> list[str]:
    """Paths under a watched folder (the test's tmp root, /etc, /root) but under no allowed one."""
    bad = []
    for raw in paths:
        real = os.path.realpath(raw)
        if any(_under(real, str(a)) for a in allowed):
            continue
        if any(_under(real, str(w)) for w in watched):
            bad.append(raw)
    return bad


def _under(path: str, root: str) -> bool:
    root = os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def raw_get(host: str, port: int, target: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """GET with the request target sent exactly as given (no normalisation, no encoding)."""
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, body
