#!/usr/bin/env bash
# The project's whole test run (the README's test command, and what CI runs).
# Installs what it needs on a new machine (Docker engine and the busybox test image included),
# then: format, lint, unit + multi-test suites + runtime tests on the real Docker engine
# (schema freshness included), the wasm build with cosmwasm-check, then the end-to-end tests
# on a real wasmd localnet (built from the Go module proxy the first time, then cached).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/toolchain.sh

LOG_DIR="${AKASH_TEST_LOG_DIR:-$(mktemp -d)}"
started_all=$SECONDS
passed=0
failed=0

step() {
  local name=$1
  shift
  log "[$name] $*"
  local started=$SECONDS
  if "$@" 2>&1 | tee "$LOG_DIR/$name.log"; then
    log "[$name] ok in $((SECONDS - started)) s"
  else
    log "[$name] FAILED after $((SECONDS - started)) s (log: $LOG_DIR/$name.log)"
    exit 1
  fi
}

# Adds up cargo's "test result:" lines of a step's log.
count_cargo_tests() {
  local counts
  counts=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
    END { printf "%d %d", p, f }' "$1")
  passed=$((passed + ${counts% *}))
  failed=$((failed + ${counts#* }))
}

# Adds up the "e2e: N passed, M failed" lines of the end-to-end scripts.
count_e2e_checks() {
  local counts
  counts=$(awk '/e2e: [0-9]+ passed, [0-9]+ failed/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
    END { printf "%d %d", p, f }' "$1")
  passed=$((passed + ${counts% *}))
  failed=$((failed + ${counts#* }))
}

ensure_wasm_target
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt >&2

step docker scripts/docker.sh ensure
step test-image scripts/make-test-image.sh
step fmt cargo fmt --all -- --check
step clippy cargo clippy --workspace --all-targets --locked -- -D warnings
step cargo-test cargo test --workspace --locked
count_cargo_tests "$LOG_DIR/cargo-test.log"
step wasm scripts/build-wasm.sh
step localnet scripts/localnet.sh install
step e2e scripts/e2e.sh
count_e2e_checks "$LOG_DIR/e2e.log"
count_cargo_tests "$LOG_DIR/e2e.log"

log "all steps passed in $((SECONDS - started_all)) s"
echo "tests: $passed passed, $failed failed"
