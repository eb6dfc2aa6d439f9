#!/usr/bin/env bash
# Deploys the four contracts to the local wasmd chain, wired to each other, mints test balances,
# and writes code ids, addresses and accounts to a JSON file the rest of the tooling reads.
#
#   scripts/deploy.sh [OUTPUT_JSON]      default: $AKASH_LOCALNET_HOME/deployment.json
#
# Settings (environment): AKASH_DEPLOYER_KEY (validator), AKASH_GOVERNANCE_KEY (governance),
# AKASH_UNBONDING_SECS (60), AKASH_TEST_BALANCE (1_000_000 AKASH in uakt per test key).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/localnet.sh env)"
. scripts/lib/chain.sh

OUT="${1:-$AKASH_LOCALNET_HOME/deployment.json}"
DEPLOYER_KEY="${AKASH_DEPLOYER_KEY:-validator}"
GOVERNANCE_KEY="${AKASH_GOVERNANCE_KEY:-governance}"
UNBONDING_SECS="${AKASH_UNBONDING_SECS:-60}"
TEST_BALANCE="${AKASH_TEST_BALANCE:-1000000000000}"
TEST_KEYS=(tenant provider1 provider2 provider3 stranger)

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

scripts/localnet.sh status >/dev/null || die "the localnet is not running: scripts/localnet.sh start"
for name in token staking registry market; do
  [ -f "artifacts/akash_$name.wasm" ] || scripts/build-wasm.sh >&2
done

deployer=$(key_addr "$DEPLOYER_KEY")
governance=$(key_addr "$GOVERNANCE_KEY")

# store NAME: uploads artifacts/akash_NAME.wasm, prints its code id.
store() {
  local result
  result=$(submit_tx wasm store "artifacts/akash_$1.wasm" --from "$DEPLOYER_KEY") ||
    die "storing akash_$1.wasm failed"
  event_attr "$result" store_code code_id
}

# instantiate CODE_ID LABEL JSON: prints the new contract's address.
instantiate() {
  local result
  result=$(submit_tx wasm instantiate "$1" "$3" --label "$2" --admin "$deployer" \
    --from "$DEPLOYER_KEY") || die "instantiating $2 failed"
  event_attr "$result" instantiate _contract_address
}

declare -A code_id
for name in token staking registry market; do
  log "storing akash_$name.wasm"
  code_id[$name]=$(store "$name")
done

balances="[]"
accounts="{}"
for key in "${TEST_KEYS[@]}"; do
  addr=$(key_addr "$key")
  balances=$(jq -c --arg a "$addr" --arg n "$TEST_BALANCE" '. + [{address: $a, amount: $n}]' <<<"$balances")
  accounts=$(jq -c --arg k "$key" --arg a "$addr" '. + {($k): $a}' <<<"$accounts")
done
accounts=$(jq -c --arg d "$deployer" --arg g "$governance" '. + {deployer: $d, governance: $g}' <<<"$accounts")

log "instantiating token"
token=$(instantiate "${code_id[token]}" "akash-token" "$(jq -nc --argjson b "$balances" --arg g "$governance" '{
  name: "Akash Token", symbol: "AKASH", initial_balances: $b,
  mint: {minter: $g, cap: null},
  marketing: {project: "akash-localnet", description: "AKASH on a local wasmd chain", marketing: $g, logo: null}}')")

log "instantiating staking"
staking=$(instantiate "${code_id[staking]}" "akash-staking" "$(jq -nc --arg t "$token" --arg g "$governance" --argjson u "$UNBONDING_SECS" '{
  token: $t, governance: $g, unbonding_period_secs: $u, slash_destination: $g, tokens_per_weight: "1000000"}')")

log "instantiating registry"
registry=$(instantiate "${code_id[registry]}" "akash-registry" "$(jq -nc --arg d "$deployer" --arg s "$staking" '{
  admin: $d, staking: $s, stake_for_full_reputation: "1000000000"}')")

log "instantiating market"
market=$(instantiate "${code_id[market]}" "akash-market" "$(jq -nc --arg t "$token" --arg r "$registry" --arg s "$staking" '{
  token: $t, registry: $r, staking: $s}')")

log "registry: SetMarket"
execute "$DEPLOYER_KEY" "$registry" "{\"set_market\":{\"market\":\"$market\"}}" >/dev/null ||
  die "registry SetMarket failed"

mkdir -p "$(dirname "$OUT")"
jq -n \
  --arg chain_id "$AKASH_LOCALNET_CHAIN_ID" --arg node "$AKASH_LOCALNET_NODE" \
  --arg rpc "$AKASH_LOCALNET_RPC_URL" --arg grpc "$AKASH_LOCALNET_GRPC_URL" \
  --arg denom "$AKASH_LOCALNET_DENOM" --arg gas_prices "$AKASH_LOCALNET_GAS_PRICES" \
  --argjson token_code "${code_id[token]}" --argjson staking_code "${code_id[staking]}" \
  --argjson registry_code "${code_id[registry]}" --argjson market_code "${code_id[market]}" \
  --arg token "$token" --arg staking "$staking" --arg registry "$registry" --arg market "$market" \
  --argjson accounts "$accounts" --arg checksums "$(cat artifacts/checksums.txt 2>/dev/null || true)" '{
  chain_id: $chain_id, node: $node, rpc_url: $rpc, grpc_url: $grpc,
  fee_denom: $denom, gas_prices: $gas_prices,
  code_ids: {token: $token_code, staking: $staking_code, registry: $registry_code, market: $market_code},
  contracts: {token: $token, staking: $staking, registry: $registry, market: $market},
  accounts: $accounts,
  artifact_checksums: $checksums}' >"$OUT"
log "deployment written to $OUT"
cat "$OUT"
