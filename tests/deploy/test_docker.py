"""The Docker image without a Docker engine: the Dockerfile parses and says what the README says
(same install script, weights at build time, volumes, one port, healthcheck, PUID/PGID), the
compose examples are valid configuration, and the image's entrypoint and command run here,
directly, the way the container runs them."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tagmyphotos import VERSION
from tagmyphotos.config import Config, load_config
from tagmyphotos_lab.servers import free_port
from tests.support.base import EXIFTOOL, FACES, ROOT, copy_tree

ENTRYPOINT = ROOT / "scripts" / "entrypoint.sh"
INSTALL = ROOT / "scripts" / "install.sh"
VENV_BIN = ROOT / ".venv" / "bin"
INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
    "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip
SERVE_TIMEOUT_S = 120


# --- a strict Dockerfile parser ----------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    line: int
    name: str
    args: str

    def json(self) -> list[str]:
        value = json.loads(self.args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self
        return value


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined; fails on anything Docker would reject."""
    out: list[Instruction] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i].strip()
        start = i + 1
        i += 1
        if not raw or raw.startswith("#"):
            continue
        parts = [raw]
        while parts[-1].endswith("\\"):
            parts[-1] = parts[-1][:-1]
            while i < len(lines) and (not lines[i].strip() or lines[i].strip().startswith("#")):
                i += 1
            assert i < len(lines), f"line {start}: continuation at end of file"
            parts.append(lines[i].strip())
            i += 1
        name, _, args = " ".join(parts).partition(" ")
        assert name in INSTRUCTIONS, f"line {start}: unknown instruction {name!r}"
        assert args.strip(), f"line {start}: {name} without arguments"
        out.append(Instruction(start, name, args.strip()))
    return out


def env_pairs(args: str) -> dict[str, str]:
    pairs = {}
    for token in shlex.split(args):
        key, sep, val = token.partition("=")
        assert sep, f"ENV {token!r}: use KEY=value"
        pairs[key] = val
    return pairs


@dataclass
class Stage:
    name: str
    base: str
    body: list[Instruction]

    def all(self, name: str) -> list[Instruction]:
        return [i for i in self.body if i.name == name]

    def env(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for ins in self.all("ENV"):
            merged.update(env_pairs(ins.args))
        return merged


def stages(instructions: list[Instruction]) -> tuple[dict[str, str], list[Stage]]:
    global_args: dict[str, str] = {}
    out: list[Stage] = []
    for ins in instructions:
        if ins.name == "FROM":
            words = ins.args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(out))
            out.append(Stage(name, words[0], []))
        elif not out:
            assert ins.name == "ARG", f"line {ins.line}: only ARG may come before the first FROM"
            key, _, default = ins.args.partition("=")
            global_args[key] = default
        else:
            out[-1].body.append(ins)
    return global_args, out


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return stages(parse_dockerfile((ROOT / "Dockerfile").read_text()))


def test_dockerfile_is_multi_stage_on_slim_python_311(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    args, (build, final) = dockerfile
    assert build.name == "build"
    for stage in (build, final):
        assert stage.base == "${PYTHON_IMAGE}"
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")
    copies = [i.args for i in final.all("COPY") if i.args.startswith("--from=")]
    assert copies and all(c.startswith("--from=build ") for c in copies), "final stage copies from build"
    assert build.env()["DEEPFACE_HOME"] == final.env()["DEEPFACE_HOME"], "weights linked where they are read"


def test_dockerfile_installs_through_the_readme_script(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, (build, final) = dockerfile
    build_runs = " ".join(i.args for i in build.all("RUN"))
    assert "scripts/install.sh --docker" in build_runs
    assert "-m tagmyphotos.faces.weights --link" in build_runs, "weights put in place at build time"
    assert "install.sh --docker --system-only" in " ".join(i.args for i in final.all("RUN"))
    options = INSTALL.read_text()
    for option in ("--docker", "--system-only", "--test"):
        assert f"    {option}) " in options, f"install.sh handles {option}"


def test_dockerfile_copies_only_what_exists_and_is_not_ignored(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    ignored = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()]
    ignored = [p for p in ignored if p and not p.startswith("#")]
    _, all_stages = dockerfile
    for stage in all_stages:
        for ins in stage.all("COPY"):
            if ins.args.startswith("--from="):
                continue
            *sources, _dest = ins.args.split()
            for src in sources:
                assert (ROOT / src).exists(), f"line {ins.line}: {src} does not exist"
                top = src.rstrip("/")
                assert not any(fnmatch.fnmatch(top, p) for p in ignored), f"{src} is in .dockerignore"
    assert {".git", ".venv", "tests", "tagmyphotos_lab"} <= set(ignored), "the build context stays small"


def test_final_stage_runtime_contract(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    _, (_, final) = dockerfile
    env = final.env()
    (volume,) = final.all("VOLUME")
    assert volume.json() == ["/photos", "/data"]
    (expose,) = final.all("EXPOSE")
    assert expose.args == env["TAGMYPHOTOS_PORT"] == str(Config().server.port), "one port, the default one"
    assert env["TAGMYPHOTOS_LIBRARY"] == "/photos" and env["TAGMYPHOTOS_DATA"] == "/data"
    assert env["TAGMYPHOTOS_HOST"] == "0.0.0.0"
    assert {"PUID", "PGID", "TZ"} <= set(env)
    (entry,) = final.all("ENTRYPOINT")
    assert entry.json()[-1] == "/app/scripts/entrypoint.sh"
    (cmd,) = final.all("CMD")
    assert cmd.json() == ["tagmyphotos", "serve"]
    (health,) = final.all("HEALTHCHECK")
    assert "--interval=" in health.args
    assert json.loads(health.args.split("CMD", 1)[1]) == ["/app/scripts/entrypoint.sh", "healthcheck"]
    assert not final.all("USER"), "the entrypoint starts as root to apply PUID/PGID, then drops root"
    # every TAGMYPHOTOS_* variable the image sets is a valid setting
    cfg = load_config(
        path="/nonexistent.yaml", environ={k: v for k, v in env.items() if k.startswith("TAGMYPHOTOS_")}
    )
    assert str(cfg.library) == "/photos" and cfg.server.host == "0.0.0.0"


def test_image_label_carries_the_release(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    """org.opencontainers.image.version is the VERSION build arg, and scripts/docker-build passes
    it from tagmyphotos.VERSION, the number --version and the API show (issue 30, item 7)."""
    _, (_, final) = dockerfile
    assert [a.args for a in final.all("ARG")] == ["VERSION=dev"]
    (label,) = final.all("LABEL")
    assert env_pairs(label.args)["org.opencontainers.image.version"] == "${VERSION}"
    script = (ROOT / "scripts" / "docker-build").read_text()
    assert '--build-arg "VERSION=$VERSION"' in script
    line = next(x for x in script.splitlines() if x.startswith("VERSION=$("))
    found = subprocess.run(["bash", "-c", f"{line}; echo \"$VERSION\""], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.strip()  # fmt: skip
    assert found == VERSION


# --- compose examples ---------------------------------------------------------------------------

COMPOSE_FILES = ["docker-compose.yml", "docker/compose.immich.yml", "docker/compose.photoprism.yml",
                 "docker/compose.scaleout.yml"]  # fmt: skip


def _ours(doc: dict) -> dict[str, dict]:
    return {n: s for n, s in doc["services"].items() if str(s.get("image", "")).startswith("tagmyphotos")}


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_examples_are_valid_configuration(name: str) -> None:
    doc = yaml.safe_load((ROOT / name).read_text())
    services = _ours(doc)
    assert services, f"{name} runs Tag My Photos"
    for service in services.values():
        volumes = service["volumes"]
        assert any(v.endswith(":/photos") for v in volumes) and any(v.endswith(":/data") for v in volumes)
        env = {k: str(v) for k, v in service["environment"].items()}
        assert {"PUID", "PGID", "TZ"} <= set(env)
        settings = {
            k: v.replace("${", "").replace("}", "") for k, v in env.items() if k.startswith("TAGMYPHOTOS_")
        }
        settings = {k: v for k, v in settings.items() if not k.endswith("_FILE")}
        cfg = load_config(path="/nonexistent.yaml", environ=settings)  # raises on an unknown key
        if "ports" in service:
            assert service["ports"] == ["8765:8765"]
        if "immich" in name:
            assert cfg.integrations.immich.enabled
            remote = cfg.integrations.immich.path_map.remote_prefix
            assert any(v.split(":")[1] == remote for v in doc["services"]["immich-server"]["volumes"])
        if "photoprism" in name:
            assert cfg.integrations.photoprism.enabled
            remote = cfg.integrations.photoprism.path_map.remote_prefix
            assert any(v.split(":")[1] == remote for v in doc["services"]["photoprism"]["volumes"])
        if "scaleout" in name:
            assert cfg.queue.backend == "redis" and cfg.database.url is not None


def test_compose_library_mount_is_the_same_host_folder() -> None:
    for name, other in (
        ("docker/compose.immich.yml", "immich-server"),
        ("docker/compose.photoprism.yml", "photoprism"),
    ):
        doc = yaml.safe_load((ROOT / name).read_text())
        ours = next(iter(_ours(doc).values()))
        host = next(v.split(":")[0] for v in ours["volumes"] if v.endswith(":/photos"))
        assert any(v.split(":")[0] == host for v in doc["services"][other]["volumes"]), name


# --- install.sh and the entrypoint, run directly -------------------------------------------------


def test_install_script_options() -> None:
    assert subprocess.run(["bash", "-n", str(INSTALL)], check=False).returncode == 0
    bad = subprocess.run([str(INSTALL), "--nope"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "unknown option --nope" in bad.stderr
    env = {**os.environ, "TMP_SKIP_APT": "1"}
    system = subprocess.run([str(INSTALL), "--docker", "--system-only"], capture_output=True, text=True,
                            env=env, timeout=60, check=False)  # fmt: skip
    assert system.returncode == 0 and "done: system packages" in system.stderr


def _entry_env(**extra: str) -> dict[str, str]:
    # as a container starts: no thread settings, no PUID, and not inside pytest (NiceGUI checks)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("_NUM_THREADS") and k != "PUID" and not k.startswith(("PYTEST_", "NICEGUI_"))
    }
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra)
    return env


def _threads(tmp_path: Path, cpu_max: str | None, **extra: str) -> dict[str, str]:
    env = _entry_env(**extra)
    if cpu_max is not None:
        (tmp_path / "cpu.max").write_text(cpu_max + "\n")
        env["TAGMYPHOTOS_CGROUP_CPU_MAX"] = str(tmp_path / "cpu.max")
    else:
        env["TAGMYPHOTOS_CGROUP_CPU_MAX"] = str(tmp_path / "absent")
    out = subprocess.run([str(ENTRYPOINT), "env"], capture_output=True, text=True, env=env, check=True)
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


@pytest.mark.parametrize(
    "cpu_max, expected",
    [("150000 100000", 2), ("50000 100000", 1), ("100000 100000", 1), ("max 100000", None), (None, None)],
)
def test_thread_counts_follow_the_cpu_limit(
    tmp_path: Path, cpu_max: str | None, expected: int | None
) -> None:
    online = len(os.sched_getaffinity(0))
    want = str(min(expected, online) if expected else online)
    env = _threads(tmp_path, cpu_max)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        assert env[var] == want, var
    assert env["TF_NUM_INTEROP_THREADS"] == str(1 if want == "1" else 2)


def test_explicit_thread_settings_win(tmp_path: Path) -> None:
    env = _threads(tmp_path, "400000 100000", OMP_NUM_THREADS="3")
    assert env["OMP_NUM_THREADS"] == "3"


def test_unknown_timezone_is_reported(tmp_path: Path) -> None:
    out = subprocess.run([str(ENTRYPOINT), "true"], capture_output=True, text=True,
                         env=_entry_env(TZ="Mars/Olympus_Mons"), check=True)  # fmt: skip
    assert "TZ=Mars/Olympus_Mons is not a known time zone" in out.stderr
    ok = subprocess.run([str(ENTRYPOINT), "true"], capture_output=True, text=True,
                        env=_entry_env(TZ="UTC"), check=True)  # fmt: skip
    assert "time zone" not in ok.stderr


def _world_readable_tmp() -> Path:
    """A folder other users can reach (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="tmp-docker-test-"))
    folder.chmod(0o755)
    return folder


@pytest.mark.skipif(os.geteuid() != 0, reason="PUID/PGID need the entrypoint to start as root")
def test_puid_pgid_drop_root_and_own_the_data_folder() -> None:
    base = _world_readable_tmp()
    try:
        library = base / "photos"
        library.mkdir()
        data = base / "data"
        env = _entry_env(
            PUID="65534", PGID="65533", TAGMYPHOTOS_DATA=str(data), TAGMYPHOTOS_LIBRARY=str(library)
        )
        script = 'id -u; id -g; echo "$HOME"; touch "$TAGMYPHOTOS_DATA/x"'
        out = subprocess.run([str(ENTRYPOINT), "sh", "-c", script], capture_output=True, text=True, env=env,
                             check=True)  # fmt: skip
        uid, gid, home = out.stdout.split()
        assert (uid, gid) == ("65534", "65533")
        assert home == str(data / ".home")
        assert (data / "x").stat().st_uid == 65534 and data.stat().st_gid == 65533
        assert "is not writable by 65534:65533" in out.stderr, "a read-only library is reported"
        assert library.stat().st_uid == 0, "the library's ownership is never changed"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[bytes], int, dict[str, str], Path]]:
    """The image's command (`tagmyphotos serve`, no arguments) started through the entrypoint."""
    base = _world_readable_tmp()
    library = copy_tree(FACES, base / "photos", "*.jpg")
    if os.geteuid() == 0:  # the user's photos belong to PUID, as on a NAS
        for path in (library, *library.iterdir()):
            os.chown(path, 65534, 65534)
    port = free_port()
    env = _entry_env(
        TAGMYPHOTOS_CONFIG=str(base / "absent.yaml"), TAGMYPHOTOS_LIBRARY=str(library),
        TAGMYPHOTOS_DATA=str(base / "data"), TAGMYPHOTOS_HOST="127.0.0.1", TAGMYPHOTOS_PORT=str(port),
        TAGMYPHOTOS_WRITE__EXIFTOOL=str(EXIFTOOL), TAGMYPHOTOS_SCAN__INTERVAL_MINUTES="0",
        NICEGUI_STORAGE_PATH=str(base / "data" / ".nicegui"), TZ="UTC",
        **({"PUID": "65534", "PGID": "65534"} if os.geteuid() == 0 else {}),
    )  # fmt: skip
    log = open(base / "serve.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([str(ENTRYPOINT)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=base)
    log.close()
    try:
        yield proc, port, env, base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        shutil.rmtree(base, ignore_errors=True)


def test_image_command_serves_health_readiness_and_metrics(
    served: tuple[subprocess.Popen[bytes], int, dict[str, str], Path],
) -> None:
    proc, port, env, base = served
    check = [str(ENTRYPOINT), "healthcheck"]
    assert subprocess.run(check, env=env, capture_output=True, check=False).returncode == 1, "not up yet"
    deadline = time.monotonic() + SERVE_TIMEOUT_S
    status = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            status, _ = _get(f"http://127.0.0.1:{port}/healthz")
        except OSError:
            status = 0
        if status == 200:
            break
        time.sleep(0.5)
    assert status == 200, (base / "serve.log").read_text()[-3000:]
    status, body = _get(f"http://127.0.0.1:{port}/readyz")
    assert status == 200, body
    assert subprocess.run(check, env=env, capture_output=True, check=False).returncode == 0
    _, text = _get(f"http://127.0.0.1:{port}/metrics")
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"tagmyphotos_photos", "tagmyphotos_build_info", "tagmyphotos_database_up"} <= names
    if os.geteuid() == 0:
        db = base / "data" / "tagmyphotos.db"
        assert db.stat().st_uid == 65534, "the server runs as PUID and owns what it creates"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) is not None, "stops on SIGTERM (docker stop)"
    assert subprocess.run(check, env=env, capture_output=True, check=False).returncode == 1


def test_worker_healthcheck_without_http(library: Path, tmp_path: Path) -> None:
    from tagmyphotos.core import Core
    from tests.support.base import make_config

    Core(make_config(library, tmp_path / "data")).close()  # a migrated database
    env = _entry_env(
        TAGMYPHOTOS_CONFIG=str(tmp_path / "absent.yaml"), TAGMYPHOTOS_LIBRARY=str(library),
        TAGMYPHOTOS_DATA=str(tmp_path / "data"), TAGMYPHOTOS_WRITE__EXIFTOOL=str(EXIFTOOL),
    )  # fmt: skip
    ok = subprocess.run([str(ENTRYPOINT), "healthcheck", "worker"], env=env, capture_output=True, text=True,
                        check=False, timeout=120)  # fmt: skip
    assert ok.returncode == 0 and ok.stdout.strip() == "ready", ok.stdout + ok.stderr
    env["TAGMYPHOTOS_WRITE__EXIFTOOL"] = str(tmp_path / "gone")
    bad = subprocess.run([str(ENTRYPOINT), "healthcheck", "worker"], env=env, capture_output=True, text=True,
                         check=False, timeout=120)  # fmt: skip
    assert bad.returncode == 1 and bad.stdout.startswith("exiftool: ")
