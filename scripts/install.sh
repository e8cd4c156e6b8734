#!/usr/bin/env bash
# One idempotent installer for the README, CI and the Dockerfile.
#   scripts/install.sh            system packages + .venv with the app
#   scripts/install.sh --test     also test needs (Chromium, Redis, PostgreSQL + driver, linters)
#   scripts/install.sh --docker   the image's build stage: the app + PostgreSQL driver, no test
#                                 tools, no Debian exiftool, no pip cache, apt lists removed
#   scripts/install.sh --docker --system-only
#                                 the image's final stage: only the run-time system packages
# Environment: TMP_VENV (default ./.venv), TMP_SKIP_APT=1 to skip apt (e.g. non-root).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${TMP_VENV:-$ROOT/.venv}
WITH_TEST=0
DOCKER=0
SYSTEM_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    --docker) DOCKER=1 ;;
    --system-only) SYSTEM_ONLY=1 ;;
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
else
  need exiftool libimage-exiftool-perl
  need npm npm
fi
python3 -c 'import venv, ensurepip' 2>/dev/null || [ "$SYSTEM_ONLY" = 1 ] || apt_pkgs+=(python3-venv)
if [ "$WITH_TEST" = 1 ]; then
  need chromium chromium
  need chromedriver chromium-driver
  need redis-server redis-server
  need exiv2 exiv2  # a second, independent reader of the sidecars we write (RAW tests)
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || apt_pkgs+=(postgresql)
fi
if [ ${#apt_pkgs[@]} -gt 0 ] && [ "${TMP_SKIP_APT:-0}" != 1 ]; then
  log "apt-get install ${apt_pkgs[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
  if [ "$DOCKER" = 1 ]; then $SUDO rm -rf /var/lib/apt/lists/*; fi
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
stamp="$VENV/.installed-$(cat pyproject.toml scripts/install.sh | sha256sum | cut -c1-16)-$WITH_TEST$DOCKER"
if [ ! -f "$stamp" ]; then
  pip_opts=(-q)
  extras=""
  if [ "$WITH_TEST" = 1 ]; then extras="test,scaleout"; fi
  if [ "$DOCKER" = 1 ]; then pip_opts+=(--no-cache-dir); extras=${extras:-scaleout}; fi
  "$PY" -m pip install "${pip_opts[@]}" --upgrade pip
  log "pip install -e .${extras:+[$extras]}"
  "$PY" -m pip install "${pip_opts[@]}" -e ".${extras:+[$extras]}"
  # deepface's declared deps would add a second OpenCV/TensorFlow; its real needs are in pyproject.
  "$PY" -m pip install "${pip_opts[@]}" --no-deps "deepface==0.0.103" "retina-face==0.0.19"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

# --- model weights that ship in packages, where deepface looks for them -------------------
"$PY" -m tagmyphotos.faces.weights --link
log "done: $VENV (exiftool $("$ET_DIR/exiftool" -ver))"
