#!/usr/bin/env bash
# One idempotent installer for the README, CI and the Dockerfile.
#   scripts/install.sh            system packages + .venv with the app
#   scripts/install.sh --test     also test needs (Chromium, linters)
# Environment: TMP_VENV (default ./.venv), TMP_SKIP_APT=1 to skip apt (e.g. non-root).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV=${TMP_VENV:-$ROOT/.venv}
WITH_TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
log() { printf '[install] %s\n' "$*" >&2; }

# --- system packages (only what is missing) --------------------------------------------
apt_pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || apt_pkgs+=("$2"); }
need perl perl
need exiftool libimage-exiftool-perl
need npm npm
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_pkgs+=(python3-venv)
if [ "$WITH_TEST" = 1 ]; then
  need chromium chromium
  need chromedriver chromium-driver
  need redis-server redis-server
  [ -x /usr/lib/postgresql/*/bin/postgres ] 2>/dev/null || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || apt_pkgs+=(postgresql)
fi
if [ ${#apt_pkgs[@]} -gt 0 ] && [ "${TMP_SKIP_APT:-0}" != 1 ]; then
  log "apt-get install ${apt_pkgs[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
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
stamp="$VENV/.installed-$(cat pyproject.toml scripts/install.sh | sha256sum | cut -c1-16)-$WITH_TEST"
if [ ! -f "$stamp" ]; then
  "$PY" -m pip install -q --upgrade pip
  extras=""; [ "$WITH_TEST" = 1 ] && extras="[test]"
  log "pip install -e .$extras"
  "$PY" -m pip install -q -e ".$extras"
  # deepface's declared deps would add a second OpenCV/TensorFlow; its real needs are in pyproject.
  "$PY" -m pip install -q --no-deps "deepface==0.0.103" "retina-face==0.0.19"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi

# --- model weights that ship in packages, where deepface looks for them -------------------
"$PY" -m tagmyphotos.weights --link
log "done: $VENV (exiftool $("$ET_DIR/exiftool" -ver))"
