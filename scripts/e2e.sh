#!/usr/bin/env bash
# Runs the end-to-end tests on a real wasmd localnet: starts the chain (building wasmd the first
# time), builds and deploys fresh contracts, then runs tests/e2e/*.sh against them.
# The chain is stopped at the end if this script started it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/toolchain.sh

# A chain of its own (home and ports), so a localnet you keep running is never disturbed and
# nothing else spends from the test keys while the test checks balances and sequences.
export AKASH_LOCALNET_HOME="${AKASH_LOCALNET_HOME:-$HOME/.cache/akash-localnet-e2e}"
export AKASH_LOCALNET_RPC_PORT="${AKASH_LOCALNET_RPC_PORT:-26857}"
export AKASH_LOCALNET_P2P_PORT="${AKASH_LOCALNET_P2P_PORT:-36856}"
export AKASH_LOCALNET_GRPC_PORT="${AKASH_LOCALNET_GRPC_PORT:-39290}"
export AKASH_LOCALNET_API_PORT="${AKASH_LOCALNET_API_PORT:-31517}"

started_here=0
if ! scripts/localnet.sh status >/dev/null 2>&1; then
  scripts/localnet.sh start
  started_here=1
fi
cleanup() { [ "$started_here" -eq 0 ] || scripts/localnet.sh stop; }
trap cleanup EXIT

eval "$(scripts/localnet.sh env)"
deployment="$AKASH_LOCALNET_HOME/deployment-e2e.json"
[ -f artifacts/akash_market.wasm ] || scripts/build-wasm.sh
scripts/deploy.sh "$deployment" >/dev/null
status=0
for test in tests/e2e/*.sh; do
  log "e2e: $test"
  "$test" "$deployment" || status=1
done
# The Rust chain client (signing, gas simulation, sequences, event stream) on the same chain.
log "e2e: akash-chain-client against wasmd"
AKASH_DEPLOYMENT="$deployment" cargo test --locked -p akash-chain-client --test wasmd_localnet -- --ignored ||
  status=1
exit $status
