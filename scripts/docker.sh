#!/usr/bin/env bash
# Makes a local Docker engine available for the provider daemon's runtime and its tests.
# `ensure` installs Debian's docker.io if needed and starts dockerd; `stop` stops the dockerd it started.
#
# Usage: scripts/docker.sh ensure|stop
# Environment: AKASH_DOCKERD_LOG (default /var/log/akash-dockerd.log),
#              AKASH_DOCKERD_TIMEOUT_SECS (default 60),
#              AKASH_DOCKER_ADDRESS_POOL (default base=172.20.0.0/14,size=24).
# No registry is reachable from these machines: nothing here pulls images.
set -euo pipefail

DOCKERD_LOG="${AKASH_DOCKERD_LOG:-/var/log/akash-dockerd.log}"
DOCKERD_TIMEOUT_SECS="${AKASH_DOCKERD_TIMEOUT_SECS:-60}"
# Every lease takes one or two bridge networks. Docker's default pools hold about 30 networks
# (one /16 each); /24 networks from this pool allow 1024.
DOCKER_ADDRESS_POOL="${AKASH_DOCKER_ADDRESS_POOL:-base=172.20.0.0/14,size=24}"
DOCKER_SOCKET=/var/run/docker.sock
# dockerd writes its own pid here; `stop` only signals that process.
DOCKERD_PID_FILE=/var/run/docker.pid
LOCK_FILE=/var/run/akash-docker.lock

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

engine_answers() {
  [ -S "$DOCKER_SOCKET" ] && docker info >/dev/null 2>&1
}

install_docker() {
  if command -v dockerd >/dev/null && command -v docker >/dev/null; then
    return 0
  fi
  command -v apt-get >/dev/null || die "dockerd is missing and apt-get is not available to install docker.io"
  log "installing Debian's docker.io"
  as_root apt-get update >&2 || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io >&2 ||
    die "apt-get install -y docker.io failed"
  command -v dockerd >/dev/null || die "docker.io installed but dockerd is still not on PATH"
}

start_dockerd() {
  log "starting dockerd (log: $DOCKERD_LOG)"
  mkdir -p "$(dirname "$DOCKERD_LOG")"
  # A stale socket or pid file from a killed dockerd makes the new one refuse to start.
  if [ -f "$DOCKERD_PID_FILE" ] && ! kill -0 "$(cat "$DOCKERD_PID_FILE")" 2>/dev/null; then
    as_root rm -f "$DOCKERD_PID_FILE"
  fi
  # fd 9 (the lock) is closed for dockerd, else it would hold the lock for its whole life.
  as_root setsid nohup dockerd --host "unix://$DOCKER_SOCKET" \
    --default-address-pool "$DOCKER_ADDRESS_POOL" >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  local waited=0
  while ! engine_answers; do
    if [ "$waited" -ge "$DOCKERD_TIMEOUT_SECS" ]; then
      printf 'error: dockerd did not answer on %s within %s s; last lines of %s:\n' \
        "$DOCKER_SOCKET" "$DOCKERD_TIMEOUT_SECS" "$DOCKERD_LOG" >&2
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      exit 1
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "dockerd answers after ${waited} s ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
}

ensure() {
  install_docker
  # Serialises concurrent callers so only one of them starts dockerd.
  exec 9>"$LOCK_FILE"
  flock 9
  if engine_answers; then
    log "docker engine already answers on $DOCKER_SOCKET"
    return 0
  fi
  start_dockerd
}

stop() {
  if [ ! -f "$DOCKERD_PID_FILE" ]; then
    log "no $DOCKERD_PID_FILE: dockerd is not running"
    return 0
  fi
  local pid
  pid=$(cat "$DOCKERD_PID_FILE")
  if ! kill -0 "$pid" 2>/dev/null; then
    log "dockerd (pid $pid) is not running"
    as_root rm -f "$DOCKERD_PID_FILE"
    return 0
  fi
  log "stopping dockerd (pid $pid)"
  as_root kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge "$DOCKERD_TIMEOUT_SECS" ]; then
      die "dockerd (pid $pid) still runs ${DOCKERD_TIMEOUT_SECS} s after SIGTERM; see $DOCKERD_LOG"
    fi
    sleep 1
    waited=$((waited + 1))
  done
  log "dockerd stopped"
}

case "${1:-}" in
  ensure) ensure ;;
  stop) stop ;;
  *) die "usage: $0 ensure|stop" ;;
esac
