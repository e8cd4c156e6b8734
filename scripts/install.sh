#!/usr/bin/env bash
# One idempotent installer for the README, CI and the Dockerfile.
#   scripts/install.sh            system packages + .venv with the app
#   scripts/install.sh --test     also test needs (Chromium, Redis, PostgreSQL + driver, linters)
#   scripts/install.sh --docker   the image's build stage: the app + PostgreSQL driver, no test
#                                 tools, no Debian exiftool, no pip cache, apt lists removed
#   scripts/install.sh --docker --deps-only
#                                 the build stage's first, cached layer: ExifTool and the app's
#                                 dependencies, before the source is copied
#   scripts/install.sh --docker --system-only
#                                 the image's final stage: only the run-time system packages
# Environment: TMP_VENV (default ./.venv), TMP_SKIP_APT=1 to skip apt (e.g. non-root),
#   TMP_EXTRAS (pip extras; default "test,scaleout,deepface" with --test, "scaleout" with --docker),
#   ANNOY_COMPILER_ARGS (default: portable flags; annoy has no wheels and would build for this CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${TMP_VENV:-$ROOT/.venv}
WITH_TEST=0
DOCKER=0
SYSTEM_ONLY=0
DEPS_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    --docker) DOCKER=1 ;;
    --system-only) SYSTEM_ONLY=1 ;;
    --deps-only) DEPS_ONLY=1 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
log() { printf '[install] %s\n' "$*" >&2; }

# --- system packages (only what is missing) --------------------------------------------
apt_pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || apt_pkgs+=("$2"); }
need perl perl  # ExifTool is a Perl program
if [ "$DOCKER" = 1 ]; then
  [ -d /usr/share/zoneinfo/Europe ] || apt_pkgs+=(tzdata)  # TZ=Europe/Berlin etc.
  need tini tini                                             # PID 1: signals and zombies
  [ "$SYSTEM_ONLY" = 1 ] || need npm npm                     # build stage: fetches ExifTool
  [ "$SYSTEM_ONLY" = 1 ] || need g++ g++                     # build stage: annoy has no wheels
else
  need exiftool libimage-exiftool-perl
  need npm npm
  need g++ g++  # annoy has no wheels: it compiles at install time
  [ -f "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ] || apt_pkgs+=(python3-dev)
fi
python3 -c 'import venv, ensurepip' 2>/dev/null || [ "$SYSTEM_ONLY" = 1 ] || apt_pkgs+=(python3-venv)
if [ "$WITH_TEST" = 1 ]; then
  need chromium chromium
  need chromedriver chromium-driver
  need redis-server redis-server
  need exiv2 exiv2  # a second, independent reader of the sidecars we write (RAW tests)
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || apt_pkgs+=(postgresql)
  need nginx nginx-light    # the reverse-proxy (sub-path) browser test
  need openssl openssl
  need qemu-x86_64 qemu-user  # the face engine's check on a CPU without AVX (Denverton)
fi
if [ ${#apt_pkgs[@]} -gt 0 ] && [ "${TMP_SKIP_APT:-0}" != 1 ]; then
  log "apt-get install ${apt_pkgs[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
  if [ "$DOCKER" = 1 ]; then $SUDO apt-get clean; $SUDO rm -rf /var/lib/apt/lists/*; fi
fi
if [ "$SYSTEM_ONLY" = 1 ]; then
  log "done: system packages"
  exit 0
fi

# --- a current ExifTool (Debian 12's 12.57 lacks ImageDataHash) --------------------------
EXIFTOOL_VERSION=13.59
ET_DIR="$VENV/opt/exiftool"
if [ ! -x "$ET_DIR/exiftool" ] || [ "$("$ET_DIR/exiftool" -ver 2>/dev/null)" != "$EXIFTOOL_VERSION" ]; then
  log "ExifTool $EXIFTOOL_VERSION from the npm registry (exiftool-vendored.pl)"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "exiftool-vendored.pl@$EXIFTOOL_VERSION" >/dev/null)
  mkdir -p "$ET_DIR"
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  rm -rf "$ET_DIR" && mkdir -p "$ET_DIR"
  cp -r "$tmp"/package/bin/* "$ET_DIR"/
  chmod +x "$ET_DIR/exiftool"
  rm -rf "$tmp"
fi

# --- the virtualenv --------------------------------------------------------------------
[ -x "$VENV/bin/python" ] || { log "creating $VENV"; python3 -m venv "$VENV"; }
PY="$VENV/bin/python"
if [ -n "${TMP_EXTRAS+x}" ]; then extras=$TMP_EXTRAS
elif [ "$WITH_TEST" = 1 ]; then extras="test,scaleout,deepface,dlib"  # dlib: the reference engine
elif [ "$DOCKER" = 1 ]; then extras="scaleout"
else extras=""
fi
pip_opts=(-q)
if [ "$DOCKER" = 1 ]; then pip_opts+=(--no-cache-dir); fi

# annoy publishes no wheels and its setup.py adds -march=native: an index built on an AVX-512 build
# server would die with SIGILL on a NAS CPU. Its own flags minus -march (x86-64 baseline, armv8-a).
export ANNOY_COMPILER_ARGS=${ANNOY_COMPILER_ARGS:--D_CRT_SECURE_NO_WARNINGS,-fpermissive,-O3,-ffast-math,-fno-associative-math,-DANNOYLIB_MULTITHREADED_BUILD,-std=c++14}
annoy_req=$(grep -o '"annoy[^"]*"' pyproject.toml | tr -d '"')
annoy_stamp="$VENV/.annoy-$(printf '%s %s' "$annoy_req" "$ANNOY_COMPILER_ARGS" | sha256sum | cut -c1-16)"
if [ ! -f "$annoy_stamp" ]; then
  log "building $annoy_req with portable flags ($ANNOY_COMPILER_ARGS)"
  # no wheel cache: a cached wheel may carry a build for another CPU
  "$PY" -m pip install -q --no-cache-dir --force-reinstall --no-deps --no-binary annoy --use-pep517 "$annoy_req"
  rm -f "$VENV"/.annoy-*
  touch "$annoy_stamp"
fi

stamp="$VENV/.installed-$(cat pyproject.toml scripts/install.sh | sha256sum | cut -c1-16)-$DOCKER$DEPS_ONLY-${extras//,/+}"
if [ ! -f "$stamp" ]; then
  "$PY" -m pip install "${pip_opts[@]}" --upgrade pip
  if [ "$DEPS_ONLY" = 1 ]; then
    # pyproject's dependencies (and the extras'), without the app: its source is not there yet
    mapfile -t reqs < <("$PY" - "$extras" <<'PY'
import sys
import tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
reqs = list(project["dependencies"])
for extra in filter(None, sys.argv[1].split(",")):
    reqs += project["optional-dependencies"][extra]
print("\n".join(reqs))
PY
)
    log "pip install the dependencies of .${extras:+[$extras]}"
    "$PY" -m pip install "${pip_opts[@]}" "${reqs[@]}"
  else
    log "pip install -e .${extras:+[$extras]}"
    "$PY" -m pip install "${pip_opts[@]}" -e ".${extras:+[$extras]}"
  fi
  # deepface's declared deps would add a second OpenCV/TensorFlow; its real needs are in pyproject.
  "$PY" -m pip install "${pip_opts[@]}" --no-deps "deepface==0.0.103" "retina-face==0.0.19"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

if [ "$DEPS_ONLY" = 1 ]; then
  log "done: dependencies in $VENV"
  exit 0
fi

# --- model weights that ship in packages, where deepface looks for them -------------------
"$PY" -m tagmyphotos.faces.weights --link --convert  # dlib's landmark model for the onnx engine
if [ "$DOCKER" = 1 ]; then
  # face-recognition-models also ships dlib's 68-point landmark model (99 MB) that nothing reads.
  find "$VENV"/lib/python3*/site-packages/face_recognition_models -name shape_predictor_68_face_landmarks.dat -delete
fi
log "done: $VENV (exiftool $("$ET_DIR/exiftool" -ver))"
