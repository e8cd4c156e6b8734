#!/bin/sh
# Container entrypoint; also runs directly on a host (tests do).
#   entrypoint.sh healthcheck        exit 0 when GET /readyz answers 200 (Docker HEALTHCHECK)
#   entrypoint.sh healthcheck worker the same checks without HTTP, for `tagmyphotos worker`
#   entrypoint.sh CMD [ARGS...]      set thread counts from the CPU limit, then run CMD
#                                    (default: tagmyphotos serve) as PUID:PGID when root
# Why here and not in Python: thread counts must be in the environment before TensorFlow,
# OpenMP or BLAS are loaded, and dropping root must happen before anything writes to /data.
set -eu

log() { printf '[entrypoint] %s\n' "$*" >&2; }

if [ "${1:-}" = healthcheck ] && [ "${2:-}" = worker ]; then
  # A worker serves no HTTP: run the same readiness checks in a short-lived process, as PUID.
  as_user=""
  if [ "$(id -u)" = 0 ] && [ -n "${PUID:-}" ] && [ "$PUID" != 0 ]; then
    as_user="setpriv --reuid=$PUID --regid=${PGID:-$PUID} --clear-groups --"
  fi
  exec $as_user python -c '
import sys
from jobs.queue import configure_queue, queue_depth
from tagmyphotos.config import load_config
from tagmyphotos.core import Core
from tagmyphotos.system.health import readiness
cfg = load_config()
core = Core(cfg, upgrade=False)
try:
    configure_queue(cfg)
    result = readiness(cfg, core.db, queue_depth)
finally:
    core.close()
print("; ".join(result.reasons) or "ready")
sys.exit(0 if result.ok else 1)
'
fi
if [ "${1:-}" = healthcheck ]; then
  exec python -c '
import os, sys, urllib.error, urllib.request
url = "http://127.0.0.1:%s/readyz" % os.environ.get("TAGMYPHOTOS_PORT", "8765")
try:
    with urllib.request.urlopen(url, timeout=8) as r:
        sys.exit(0 if r.status == 200 else 1)
except urllib.error.HTTPError as e:
    print(e.read().decode("utf-8", "replace")[:500]); sys.exit(1)
except OSError as e:
    print(e); sys.exit(1)
'
fi

# --- CPUs this container may use: cgroup v2 cpu.max, cgroup v1 quota, else the cpuset -------
cpu_count() {
  online=$(nproc 2>/dev/null || echo 1)
  limit=""
  v2=${TAGMYPHOTOS_CGROUP_CPU_MAX:-/sys/fs/cgroup/cpu.max}
  if [ -r "$v2" ]; then
    read -r quota period < "$v2" || true
    [ "${quota:-max}" = max ] || limit=$(( (quota + period - 1) / period ))
  elif [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ] && [ -r /sys/fs/cgroup/cpu/cpu.cfs_period_us ]; then
    quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)
    period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
    [ "$quota" -le 0 ] || limit=$(( (quota + period - 1) / period ))
  fi
  if [ -n "$limit" ] && [ "$limit" -lt "$online" ]; then online=$limit; fi
  [ "$online" -ge 1 ] || online=1
  echo "$online"
}

CPUS=$(cpu_count)
# Only set what the user did not: an explicit -e OMP_NUM_THREADS=... wins.
for var in OMP_NUM_THREADS OPENBLAS_NUM_THREADS MKL_NUM_THREADS NUMEXPR_NUM_THREADS \
           TF_NUM_INTRAOP_THREADS; do
  eval "[ -n \"\${$var:-}\" ] || export $var=$CPUS"
done
# Inter-op parallelism above 2 only adds context switches on a NAS-sized CPU.
[ -n "${TF_NUM_INTEROP_THREADS:-}" ] || export TF_NUM_INTEROP_THREADS=$(( CPUS < 2 ? 1 : 2 ))

if [ -n "${TZ:-}" ] && [ ! -e "/usr/share/zoneinfo/$TZ" ]; then
  log "warning: TZ=$TZ is not a known time zone; times are shown in UTC"
fi

[ $# -gt 0 ] || set -- tagmyphotos serve

DATA=${TAGMYPHOTOS_DATA:-/data}
LIBRARY=${TAGMYPHOTOS_LIBRARY:-/photos}

# --- drop root to PUID:PGID (only when started as root and PUID is given) -------------------
if [ "$(id -u)" = 0 ] && [ -n "${PUID:-}" ] && [ "${PUID}" != 0 ]; then
  PGID=${PGID:-$PUID}
  if getent passwd tagmyphotos >/dev/null 2>&1; then
    # Inside the image: give the built-in user the requested ids, so names resolve.
    [ "$(id -g tagmyphotos)" = "$PGID" ] || groupmod -o -g "$PGID" tagmyphotos
    [ "$(id -u tagmyphotos)" = "$PUID" ] || usermod -o -u "$PUID" -g "$PGID" tagmyphotos
    home=$(getent passwd tagmyphotos | cut -d: -f6)
  else
    home="$DATA/.home"  # run directly on a host: numeric ids are enough
  fi
  mkdir -p "$DATA" "$home"
  # Our own folders only; never the photo library (its ownership is the user's business).
  [ "$(stat -c %u:%g "$DATA")" = "$PUID:$PGID" ] || chown -R "$PUID:$PGID" "$DATA"
  [ "$(stat -c %u:%g "$home")" = "$PUID:$PGID" ] || chown -R "$PUID:$PGID" "$home"
  if [ -d "$LIBRARY" ] && ! setpriv --reuid="$PUID" --regid="$PGID" --clear-groups test -w "$LIBRARY"; then
    log "warning: $LIBRARY is not writable by $PUID:$PGID; metadata writes will fail (set PUID/PGID)"
  fi
  export HOME="$home"
  exec setpriv --reuid="$PUID" --regid="$PGID" --clear-groups --inh-caps=-all -- "$@"
fi

[ "$(id -u)" != 0 ] || [ -z "${PUID:-}" ] || log "warning: running as root (PUID=0)"
exec "$@"
