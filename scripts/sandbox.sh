#!/usr/bin/env bash
# The README's main command: the whole marketplace on this machine, with an SDL deployed on it.
# An embedded chain runs the real contracts in-process; three provider daemons (bid engine,
# lease manager, TLS gateway on 127.0.0.1) run the workloads in the local Docker engine; the
# tenant CLI orders, waits for the match, uploads the manifest and prints the URL. Ctrl-C
# closes the leases, removes the containers and exits.
#
# Usage: scripts/sandbox.sh [SDL_FILE] [akash sandbox options]   (default examples/web.yaml)
#   e.g. scripts/sandbox.sh examples/web-db.yaml --providers 2
#        scripts/sandbox.sh examples/web.yaml --exit-after-ready   (CI: exit 0 once the URL answered)
# Makes sure the Docker engine runs (scripts/docker.sh ensure) and the workload image exists
# (scripts/make-test-image.sh) first. `akash sandbox --help` lists the options.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/toolchain.sh

sdl="${1:-examples/web.yaml}"
[ -f "$sdl" ] || die "no SDL file at $sdl"
shift || true

log "Docker engine"
scripts/docker.sh ensure
log "workload image"
scripts/make-test-image.sh
log "akash sandbox $sdl $*"
exec cargo run --release -p akash-cli -- sandbox "$sdl" "$@"
