#!/usr/bin/env bash
# Regenerates schema/*.json from the contract messages in packages/akash-types.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/akash-target}"
UPDATE_SCHEMA=1 cargo test -q -p akash-integration-tests --test schema
ls -l schema/
