#!/usr/bin/env bash
# Gas benchmark on a real wasmd chain. Starts its own localnet (separate home and ports, so it
# never meets the test chain), deploys the four contracts, and measures the gas_used of the
# transaction result:
#   1. of every execute message of every contract, next to a plain cw20 transfer of the same run;
#   2. of `place_bid` (the N-th bid) and `match` on one order holding N bids, for each N of
#      BENCH_BID_COUNTS, from N distinct registered providers (bench keys, no stake needed).
# Prints both tables and writes them, with how to run and the run's date/commit/wasmd version,
# to benches/README.md. The bench chain is stopped at the end.
#
#   scripts/bench-gas.sh
#
# Settings (environment):
#   BENCH_BID_COUNTS      "10 100 1000"   bids per order for table 2 (each 2..1024, ascending)
#   BENCH_JOBS            3               parallel wasmd processes for the bulk transactions
#   BENCH_SEED            42              seed of the bid prices
#   BENCH_BID_WINDOW_SECS (adaptive)      bid window of the table-2 orders; by default sized
#                                         from the measured registration throughput
#   BENCH_OUTPUT          benches/README.md   markdown written at the end ("" = none)
#   BENCH_KEYRING_DIR     ~/.cache/akash-bench-keys   bench provider keys (kept across runs)
#   BENCH_LOCALNET_HOME   ~/.cache/akash-localnet-bench
#   BENCH_CHAIN_ID        akash-bench
#   BENCH_RPC_PORT 26757, BENCH_P2P_PORT 36756, BENCH_GRPC_PORT 39190, BENCH_API_PORT 31417
#   BENCH_REGISTER_GAS, BENCH_BID_GAS     fixed gas limits of the bulk transactions
#                                         (default: 1.5 x the table-1 figure, at least 400000)
set -euo pipefail
cd "$(dirname "$0")/.."
bench_started=$SECONDS
started_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)

BID_COUNTS="${BENCH_BID_COUNTS:-10 100 1000}"
BENCH_JOBS="${BENCH_JOBS:-3}"
BENCH_SEED="${BENCH_SEED:-42}"
BENCH_OUTPUT="${BENCH_OUTPUT-benches/README.md}"
BENCH_KEYRING="${BENCH_KEYRING_DIR:-$HOME/.cache/akash-bench-keys}"
UNBONDING_SECS=5
FUND_CHUNK=200                  # recipients per multi-send
FUND_AMOUNT=2000000             # ustake per bench key: fees of ~100 bulk transactions

# The bench chain: never the test localnet's home, chain id or ports, whatever the caller's env.
export AKASH_LOCALNET_HOME="${BENCH_LOCALNET_HOME:-$HOME/.cache/akash-localnet-bench}"
export AKASH_LOCALNET_CHAIN_ID="${BENCH_CHAIN_ID:-akash-bench}"
export AKASH_LOCALNET_RPC_PORT="${BENCH_RPC_PORT:-26757}"
export AKASH_LOCALNET_P2P_PORT="${BENCH_P2P_PORT:-36756}"
export AKASH_LOCALNET_GRPC_PORT="${BENCH_GRPC_PORT:-39190}"
export AKASH_LOCALNET_API_PORT="${BENCH_API_PORT:-31417}"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------------------ arguments, lock

read -r -a NS <<<"$BID_COUNTS"
[ "${#NS[@]}" -gt 0 ] || die "BENCH_BID_COUNTS is empty"
prev=1
for n in "${NS[@]}"; do
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 2 ] && [ "$n" -le 1024 ] ||
    die "BENCH_BID_COUNTS: '$n' is not a number in 2..1024 (MAX_BIDS_PER_ORDER is 1024)"
  [ "$n" -gt "$prev" ] || die "BENCH_BID_COUNTS must be ascending: '$BID_COUNTS'"
  prev=$n
done
N_MAX=${NS[-1]}
for tool in jq curl flock xargs awk; do command -v "$tool" >/dev/null || die "$tool is needed"; done

mkdir -p "$(dirname "$AKASH_LOCALNET_HOME")"
exec {bench_lock}>"$(dirname "$AKASH_LOCALNET_HOME")/.$(basename "$AKASH_LOCALNET_HOME").bench.lock"
flock -n "$bench_lock" || die "another bench-gas.sh run is using $AKASH_LOCALNET_HOME"

# ------------------------------------------------------------------------------ chain, deploy

for name in token staking registry market; do
  if [ ! -f "artifacts/akash_$name.wasm" ]; then
    log "artifacts/akash_$name.wasm is missing: building the contracts"
    scripts/build-wasm.sh >&2
    break
  fi
done
if [ -n "$(find contracts packages -name '*.rs' -newer artifacts/akash_market.wasm -print -quit 2>/dev/null)" ]; then
  printf 'warning: contract sources are newer than artifacts/*.wasm; the bench measures the artifacts (scripts/build-wasm.sh rebuilds them)\n' >&2
fi

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${BENCH_BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  log "stopping the bench chain"
  scripts/localnet.sh stop >&2 || true
  [ "$rc" -eq 0 ] || log "bench failed (exit $rc) after $((SECONDS - bench_started)) s${WORK:+; transaction logs kept in $WORK}"
  exit "$rc"
}
BENCH_BG_PIDS=()
WORK=""
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting the bench chain ($AKASH_LOCALNET_CHAIN_ID, home $AKASH_LOCALNET_HOME, rpc port $AKASH_LOCALNET_RPC_PORT)"
scripts/localnet.sh start --fresh >&2
eval "$(scripts/localnet.sh env)"
. scripts/lib/chain.sh
. scripts/lib/bench.sh

DEPLOYMENT="$AKASH_LOCALNET_HOME/deployment-bench.json"
log "deploying (unbonding period ${UNBONDING_SECS} s)"
AKASH_UNBONDING_SECS=$UNBONDING_SECS scripts/deploy.sh "$DEPLOYMENT" >/dev/null
contract() { jq -r ".contracts.$1" "$DEPLOYMENT"; }
account() { jq -r ".accounts.$1" "$DEPLOYMENT"; }
TOKEN=$(contract token) STAKING=$(contract staking) REGISTRY=$(contract registry) MARKET=$(contract market)
TENANT=$(account tenant) P1=$(account provider1) P2=$(account provider2) STRANGER=$(account stranger)
GOVERNANCE=$(account governance) DEPLOYER=$(account deployer)
DEPLOYER_KEY="${AKASH_DEPLOYER_KEY:-validator}"
CA_PEM=$(cat tests/testdata/ca.pem)
RESOURCES='{"cpu_millis":500,"memory_bytes":536870912,"storage_bytes":1073741824,"bandwidth_bytes_per_sec":1000000}'
phase_started=$bench_started
PHASES=()   # "name|seconds"
phase_done() { PHASES+=("$1|$((SECONDS - phase_started))"); phase_started=$SECONDS; }
phase_done "start chain, deploy"

# ------------------------------------------------------------------------------ helpers

ROWS=()     # table 1: "contract|message|gas_used|case"
LAST_TX=""
# measure CONTRACT MESSAGE CASE COMMAND...: runs a transaction helper (execute, cw20_send) that
# prints the tx result, records its gas_used; the result stays in LAST_TX.
measure() {
  local contract=$1 message=$2 case=$3 gas
  shift 3
  LAST_TX=$("$@") || die "$contract $message ($case) failed"
  gas=$(jq -r '.gas_used' <<<"$LAST_TX")
  ROWS+=("$contract|$message|$gas|$case")
  printf '    %-9s %-28s %9s  %s\n' "$contract" "$message" "$gas" "$case" >&2
}
gas_of() { # gas_of CONTRACT MESSAGE [CASE-PREFIX]: gas of the first matching row
  local row c m g k
  for row in "${ROWS[@]}"; do
    IFS='|' read -r c m g k <<<"$row"
    if [ "$c" == "$1" ] && [ "$m" == "$2" ] && [[ "$k" == "${3:-}"* ]]; then echo "$g"; return 0; fi
  done
  return 1
}
market_exec() { execute "$1" "$MARKET" "$2"; }
order_spec() { # order_spec MAX_PRICE DURATION WINDOW REQUIREMENTS_JSON
  jq -nc --arg p "$1" --argjson d "$2" --argjson w "$3" --argjson r "$4" --arg h "$(printf 'bench manifest v1' | sha256sum | cut -d' ' -f1)" \
    --argjson res "$RESOURCES" '{resources: $res, count: 1, max_price_per_second: $p, lease_duration_secs: $d,
      bid_window_secs: $w, requirements: $r, manifest_sha256: $h}'
}
NO_REQUIREMENTS='{"attributes":[],"min_stake":"0","min_reputation":0}'
order_field() { query "$MARKET" "{\"order\":{\"order_id\":$1}}" | jq -r ".$2"; }
lease_field() { query "$MARKET" "{\"lease\":{\"lease_id\":$1}}" | jq -r ".$2"; }
register_msg() { # register_msg HOST ATTRIBUTES_JSON
  jq -nc --arg h "$1" --argjson a "$2" --arg pem "$CA_PEM" '{register: {host_uri: $h, attributes: $a, root_certificate_pem: $pem}}'
}
ATTRS='[{"key":"region","value":"us-west"},{"key":"tier","value":"community"}]'

# ------------------------------------------------------------------------------ table 1

log "table 1: every execute message"
log "warm-up: one bank send from each actor (so no measured tx pays for setting its public key)"
pids=()
for key in tenant provider1 provider2 provider3 stranger governance; do
  submit_tx bank send "$key" "$DEPLOYER" 1"$AKASH_LOCALNET_DENOM" >/dev/null &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || die "warm-up bank send failed"; done

# token (cw20-base)
measure token transfer "baseline: to an existing holder" \
  execute tenant "$TOKEN" "{\"transfer\":{\"recipient\":\"$STRANGER\",\"amount\":\"1000000\"}}"
measure token transfer "to a new holder (creates its balance)" \
  execute tenant "$TOKEN" "{\"transfer\":{\"recipient\":\"$GOVERNANCE\",\"amount\":\"1000000\"}}"
measure token send "to staking with Stake{} (the hook's work included)" \
  cw20_send provider2 "$TOKEN" "$STAKING" 50000000 '{"stake":{}}'
measure token mint "by the minter, to an existing holder" \
  execute governance "$TOKEN" "{\"mint\":{\"recipient\":\"$TENANT\",\"amount\":\"1000000\"}}"
measure token burn "" \
  execute tenant "$TOKEN" '{"burn":{"amount":"1000000"}}'
measure token increase_allowance "new allowance" \
  execute tenant "$TOKEN" "{\"increase_allowance\":{\"spender\":\"$STRANGER\",\"amount\":\"5000000\",\"expires\":null}}"
measure token decrease_allowance "" \
  execute tenant "$TOKEN" "{\"decrease_allowance\":{\"spender\":\"$STRANGER\",\"amount\":\"1000000\",\"expires\":null}}"
measure token transfer_from "spender moves the owner's tokens" \
  execute stranger "$TOKEN" "{\"transfer_from\":{\"owner\":\"$TENANT\",\"recipient\":\"$STRANGER\",\"amount\":\"1000000\"}}"
measure token burn_from "" \
  execute stranger "$TOKEN" "{\"burn_from\":{\"owner\":\"$TENANT\",\"amount\":\"1000000\"}}"

# registry
measure registry register "2 attributes, root certificate (615-byte PEM)" \
  execute provider1 "$REGISTRY" "$(register_msg https://provider1.localnet.test:8443 "$ATTRS")"
execute provider2 "$REGISTRY" "$(register_msg https://provider2.localnet.test:8443 "$ATTRS")" >/dev/null
execute provider3 "$REGISTRY" "$(register_msg https://provider3.localnet.test:8443 "$ATTRS")" >/dev/null
measure registry update "host_uri only" \
  execute provider1 "$REGISTRY" '{"update":{"host_uri":"https://provider1.bench.localnet.test:8443","attributes":null,"root_certificate_pem":null}}'
measure registry update "all fields (same certificate: parsed again, no rotation)" \
  execute provider1 "$REGISTRY" "$(jq -nc --argjson a "$ATTRS" --arg pem "$CA_PEM" '{update: {
    host_uri: "https://provider1.localnet.test:8443", attributes: $a, root_certificate_pem: $pem}}')"

# staking (part 1: what the market needs)
measure staking "stake (cw20 send)" "first stake of the address" \
  cw20_send provider1 "$TOKEN" "$STAKING" 100000000 '{"stake":{}}'
measure staking "stake (cw20 send)" "top-up" \
  cw20_send provider1 "$TOKEN" "$STAKING" 10000000 '{"stake":{}}'
measure staking unbond "" \
  execute provider1 "$STAKING" '{"unbond":{"amount":"10000000"}}'
claim_at=$(( $(bench_now_nanos) + UNBONDING_SECS * 1000000000 ))   # the unbond's block or later

# market: orders A (requirements; will be matched and its lease driven), B (no requirements;
# its bid is withdrawn, match expires it), C (cancelled), D (10 s lease, completed).
WINDOW=30
REQUIREMENTS='{"attributes":[{"key":"region","value":"us-west"}],"min_stake":"10000000","min_reputation":0}'
measure market "create_order (cw20 send)" "1 attribute + min_stake required" \
  cw20_send tenant "$TOKEN" "$MARKET" $((100 * 3600)) "{\"create_order\":$(order_spec 100 3600 $WINDOW "$REQUIREMENTS")}"
ORDER_A=$(event_attr "$LAST_TX" wasm order_id)
measure market "create_order (cw20 send)" "no requirements" \
  cw20_send tenant "$TOKEN" "$MARKET" $((100 * 3600)) "{\"create_order\":$(order_spec 100 3600 $WINDOW "$NO_REQUIREMENTS")}"
ORDER_B=$(event_attr "$LAST_TX" wasm order_id)
result=$(cw20_send tenant "$TOKEN" "$MARKET" $((100 * 3600)) \
  "{\"create_order\":$(order_spec 100 3600 600 "$NO_REQUIREMENTS")}") || die "creating order C failed"
ORDER_C=$(event_attr "$result" wasm order_id)
result=$(cw20_send tenant "$TOKEN" "$MARKET" $((100 * 10)) \
  "{\"create_order\":$(order_spec 100 10 $WINDOW "$NO_REQUIREMENTS")}") || die "creating order D failed"
ORDER_D=$(event_attr "$result" wasm order_id)
measure market cancel_order "escrow refunded" \
  market_exec tenant "{\"cancel_order\":{\"order_id\":$ORDER_C}}"
market_exec provider2 "{\"place_bid\":{\"order_id\":$ORDER_A,\"price_per_second\":\"70\",\"resources\":$RESOURCES}}" >/dev/null
measure market place_bid "attribute + min_stake checked (registry and staking queries)" \
  market_exec provider1 "{\"place_bid\":{\"order_id\":$ORDER_A,\"price_per_second\":\"40\",\"resources\":$RESOURCES}}"
measure market place_bid "no requirements (registry query only)" \
  market_exec provider3 "{\"place_bid\":{\"order_id\":$ORDER_B,\"price_per_second\":\"50\",\"resources\":$RESOURCES}}"
measure market withdraw_bid "" \
  market_exec provider3 "{\"withdraw_bid\":{\"order_id\":$ORDER_B}}"
market_exec provider1 "{\"place_bid\":{\"order_id\":$ORDER_D,\"price_per_second\":\"10\",\"resources\":$RESOURCES}}" >/dev/null

# staking (part 2), while the bid windows run
bench_wait_until "$claim_at" "the unbonding period"
measure staking claim "one matured claim paid out" \
  execute provider1 "$STAKING" '{"claim":{}}'
measure staking slash "10% of a stake, no pending claims" \
  execute governance "$STAKING" "{\"slash\":{\"provider\":\"$P2\",\"fraction\":\"0.1\",\"reason\":\"bench\"}}"
measure staking update_config "unbonding period" \
  execute governance "$STAKING" "{\"update_config\":{\"governance\":null,\"unbonding_period_secs\":$UNBONDING_SECS,\"slash_destination\":null}}"
measure staking add_hook "" \
  execute governance "$STAKING" "{\"add_hook\":{\"addr\":\"$REGISTRY\"}}"
measure staking remove_hook "" \
  execute governance "$STAKING" "{\"remove_hook\":{\"addr\":\"$REGISTRY\"}}"

# market: match, then the lease's life
windows_end=$(for o in "$ORDER_A" "$ORDER_B" "$ORDER_D"; do order_field "$o" bid_window_ends_at; done | sort -n | tail -n1)
bench_wait_until "$windows_end" "the bid windows of the table-1 orders"
measure market match "winner = 2nd of 2 bids: eligibility re-checked, lease opened, surplus refunded" \
  market_exec stranger "{\"match\":{\"order_id\":$ORDER_A}}"
LEASE_A=$(event_attr "$LAST_TX" wasm lease_id)
[ "$(event_attr "$LAST_TX" wasm provider)" == "$P1" ] || die "order $ORDER_A: the cheaper bid (provider1) did not win"
measure market match "no bids (the only one was withdrawn): order expired, escrow refunded" \
  market_exec stranger "{\"match\":{\"order_id\":$ORDER_B}}"
[ "$(event_attr "$LAST_TX" wasm action)" == order_expired ] || die "order $ORDER_B did not expire"
result=$(market_exec stranger "{\"match\":{\"order_id\":$ORDER_D}}") || die "match of order D failed"
LEASE_D=$(event_attr "$result" wasm lease_id)
measure market withdraw_earnings "" \
  market_exec provider1 "{\"withdraw_earnings\":{\"lease_id\":$LEASE_A}}"
measure market "deposit_lease (cw20 send)" "extends by 60 s, no remainder" \
  cw20_send tenant "$TOKEN" "$MARKET" $((40 * 60)) "{\"deposit_lease\":{\"lease_id\":$LEASE_A}}"
measure market update_manifest "" \
  market_exec tenant "{\"update_manifest\":{\"lease_id\":$LEASE_A,\"manifest_sha256\":\"$(printf 'bench manifest v2' | sha256sum | cut -d' ' -f1)\"}}"
measure market close_lease "by the tenant, with a reason; both paid, registry told" \
  market_exec tenant "{\"close_lease\":{\"lease_id\":$LEASE_A,\"reason\":\"bench\"}}"
bench_wait_until "$(lease_field "$LEASE_D" ends_at)" "the end of the 10 s lease"
measure market complete_lease "anyone, after the end; provider paid, registry told" \
  market_exec stranger "{\"complete_lease\":{\"lease_id\":$LEASE_D}}"

# registry: deregister; set_market on a second registry instance (deploy did the first)
measure registry deregister "no active leases" \
  execute provider3 "$REGISTRY" '{"deregister":{}}'
result=$(submit_tx wasm instantiate "$(jq -r .code_ids.registry "$DEPLOYMENT")" \
  "$(jq -nc --arg d "$DEPLOYER" --arg s "$STAKING" '{admin: $d, staking: $s, stake_for_full_reputation: "1000000000"}')" \
  --label akash-registry-bench --admin "$DEPLOYER" --from "$DEPLOYER_KEY") || die "instantiating a second registry failed"
REGISTRY2=$(event_attr "$result" instantiate _contract_address)
measure registry set_market "admin, once (second registry instance)" \
  execute "$DEPLOYER_KEY" "$REGISTRY2" "{\"set_market\":{\"market\":\"$MARKET\"}}"
phase_done "table 1 (${#ROWS[@]} transactions measured)"

TRANSFER_GAS=$(gas_of token transfer baseline)

# ------------------------------------------------------------------------------ table 2

round_up() { echo $(( ($1 + 9999) / 10000 * 10000 )); }
at_least() { if [ "$1" -gt "$2" ]; then echo "$1"; else echo "$2"; fi; }
BENCH_REGISTER_GAS=${BENCH_REGISTER_GAS:-$(at_least "$(round_up $(( $(gas_of registry register) * 3 / 2 )))" 400000)}
BENCH_BID_GAS=${BENCH_BID_GAS:-$(at_least "$(round_up $(( $(gas_of market place_bid "no requirements") * 3 / 2 )))" 400000)}
BENCH_REGISTRY=$REGISTRY BENCH_MARKET=$MARKET BENCH_RESOURCES=$RESOURCES
BENCH_PEM_JSON=$(jq -Rs . <tests/testdata/ca.pem)
# Per-transaction results of the bulk phases (tab-separated: op, key, hash, code, gas_used, log);
# inside the bench home, so the next run's fresh start clears them.
WORK="$AKASH_LOCALNET_HOME/bench-work"
mkdir -p "$WORK"

log "table 2: place_bid and match on one order holding N bids, N in: ${NS[*]}"
log "bench keys: $N_MAX (bench-0001..$(bench_key_name "$N_MAX")) in $BENCH_KEYRING"
bench_ensure_keys "$N_MAX" >"$WORK/keys"
mapfile -t BENCH_ADDRS < <(awk '{print $2}' "$WORK/keys")
[ "${#BENCH_ADDRS[@]}" -eq "$N_MAX" ] || die "expected $N_MAX bench keys, got ${#BENCH_ADDRS[@]}"
phase_done "bench keys"

log "funding the bench keys with ${FUND_AMOUNT}${AKASH_LOCALNET_DENOM} each (multi-send, $FUND_CHUNK per tx)"
for ((i = 0; i < N_MAX; i += FUND_CHUNK)); do
  submit_tx bank multi-send "$DEPLOYER_KEY" "${BENCH_ADDRS[@]:i:FUND_CHUNK}" "${FUND_AMOUNT}${AKASH_LOCALNET_DENOM}" >/dev/null ||
    die "multi-send to bench keys $((i + 1)).. failed"
  printf '    funded %d/%d\n' "$(( i + FUND_CHUNK < N_MAX ? i + FUND_CHUNK : N_MAX ))" "$N_MAX" >&2
done
phase_done "fund $N_MAX keys"

log "registering $N_MAX bench providers (gas limit $BENCH_REGISTER_GAS, $BENCH_JOBS in parallel)"
reg_started=$SECONDS
for ((i = 1; i <= N_MAX; i++)); do echo "register $(bench_key_name "$i")"; done | bench_bulk register "$WORK/register.out"
bench_wait_committed register "$WORK/register.out" "$WORK/register.res"
if [ -n "$(bench_failures "$WORK/register.res")" ]; then
  bench_failures "$WORK/register.res" | head -n 5 >&2
  die "$(bench_failures "$WORK/register.res" | wc -l) registrations failed (first ones above)"
fi
reg_secs=$((SECONDS - reg_started))
[ "$reg_secs" -gt 0 ] || reg_secs=1
log "registered $N_MAX providers in $reg_secs s ($(awk -v n="$N_MAX" -v s="$reg_secs" 'BEGIN { printf "%.1f", n / s }') tx/s)"
phase_done "register $N_MAX providers"

# Prices: pseudo-random in 100000..999999 (same number of digits, so same tx size), one list
# per N; the winner is the lowest, earliest on ties: anywhere among the N bids.
prices_for() { awk -v n="$1" -v seed="$((BENCH_SEED + $1))" 'BEGIN { srand(seed); for (i = 1; i <= n; i++) print 100000 + int(rand() * 900000) }'; }
MAX_PRICE=999999 DURATION=3600

declare -A ORDER_OF BID_GAS FILL_MIN FILL_MAX FILL_SECS WINDOW_OF
for n in "${NS[@]}"; do
  if [ -n "${BENCH_BID_WINDOW_SECS:-}" ]; then
    window=$BENCH_BID_WINDOW_SECS
  else   # room for the N bids at half the registration throughput, plus 30 s
    window=$(( 30 + 2 * n * reg_secs / N_MAX ))
  fi
  WINDOW_OF[$n]=$window
  prices_for "$n" >"$WORK/prices.$n"
  log "N=$n: order with a ${window} s bid window"
  result=$(cw20_send tenant "$TOKEN" "$MARKET" $((MAX_PRICE * DURATION)) \
    "{\"create_order\":$(order_spec $MAX_PRICE $DURATION "$window" "$NO_REQUIREMENTS")}") ||
    die "creating the N=$n order failed"
  order=$(event_attr "$result" wasm order_id)
  ORDER_OF[$n]=$order
  fill_started=$SECONDS
  if [ "$n" -gt 1 ]; then
    head -n $((n - 1)) "$WORK/prices.$n" | awk -v o="$order" '{ printf "bid bench-%04d %s %s\n", NR, o, $1 }' |
      bench_bulk "N=$n bids" "$WORK/bids.$n.out"
    bench_wait_committed "N=$n bids" "$WORK/bids.$n.out" "$WORK/bids.$n.res"
    if [ -n "$(bench_failures "$WORK/bids.$n.res")" ]; then
      bench_failures "$WORK/bids.$n.res" | head -n 5 >&2
      die "N=$n: $(bench_failures "$WORK/bids.$n.res" | wc -l) bids failed (first ones above); a longer BENCH_BID_WINDOW_SECS may help"
    fi
    FILL_MIN[$n]=$(cut -f5 "$WORK/bids.$n.res" | sort -n | head -n1)
    FILL_MAX[$n]=$(cut -f5 "$WORK/bids.$n.res" | sort -n | tail -n1)
  fi
  FILL_SECS[$n]=$((SECONDS - fill_started))
  count=$(order_field "$order" bid_count)
  [ "$count" -eq $((n - 1)) ] || die "N=$n: order $order holds $count bids, expected $((n - 1))"
  # The measured N-th bid: same path as the others (fixed gas limit, sync), gas_used from its result.
  echo "bid $(bench_key_name "$n") $order $(sed -n "${n}p" "$WORK/prices.$n")" | bench_bulk "N=$n measured bid" "$WORK/last.$n.out"
  bench_wait_committed "N=$n measured bid" "$WORK/last.$n.out" "$WORK/last.$n.res"
  [ -z "$(bench_failures "$WORK/last.$n.res")" ] || { cat "$WORK/last.$n.res" >&2; die "N=$n: the measured bid failed"; }
  BID_GAS[$n]=$(cut -f5 "$WORK/last.$n.res")
  count=$(order_field "$order" bid_count)
  [ "$count" -eq "$n" ] || die "N=$n: order $order holds $count bids, expected $n"
  log "N=$n: place_bid (bid #$n) used ${BID_GAS[$n]} gas; bids 1..$((n - 1)) used ${FILL_MIN[$n]:--}..${FILL_MAX[$n]:--}"
done
phase_done "place $(( $(printf '%s+' "${NS[@]}") 0 )) bids"

declare -A MATCH_GAS WINNER_POS WINNER_PRICE SKIPPED
for n in "${NS[@]}"; do
  order=${ORDER_OF[$n]}
  bench_wait_until "$(order_field "$order" bid_window_ends_at)" "the bid window of the N=$n order"
  result=$(market_exec stranger "{\"match\":{\"order_id\":$order}}") || die "N=$n: match failed"
  MATCH_GAS[$n]=$(jq -r .gas_used <<<"$result")
  winner=$(event_attr "$result" wasm provider)
  WINNER_PRICE[$n]=$(event_attr "$result" wasm price)
  SKIPPED[$n]=$(event_attr "$result" wasm skipped_bids)
  WINNER_POS[$n]=$(awk -v a="$winner" '$2 == a { print NR; exit }' "$WORK/keys")
  expected=$(awk 'NR == 1 || $1 < min { min = $1; pos = NR } END { print pos " " min }' "$WORK/prices.$n")
  [ "${WINNER_POS[$n]} ${WINNER_PRICE[$n]}" == "$expected" ] ||
    die "N=$n: match chose bid #${WINNER_POS[$n]} at ${WINNER_PRICE[$n]}, expected bid #${expected% *} at ${expected#* }"
  log "N=$n: match used ${MATCH_GAS[$n]} gas; winner bid #${WINNER_POS[$n]} at ${WINNER_PRICE[$n]}"
done
phase_done "match ${#NS[@]} orders"

# ------------------------------------------------------------------------------ tables

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
ratio2() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.2f%%", (a - b) * 100 / b }'; }

table1() {   # grouped by contract, in the order measured within each
  local row c m g k want
  printf '| contract | message | case | gas_used | x transfer |\n'
  printf '| --- | --- | --- | ---: | ---: |\n'
  for want in token staking registry market; do
    for row in "${ROWS[@]}"; do
      IFS='|' read -r c m g k <<<"$row"
      [ "$c" == "$want" ] || continue
      printf '| %s | `%s` | %s | %s | %s |\n' "$c" "$m" "${k:--}" "$g" "$(ratio2 "$g" "$TRANSFER_GAS")"
    done
  done
}
N0=${NS[0]}
table2() {
  local n
  printf '| bids on the order (N) | `place_bid`, the N-th bid | x N=%s | bids 1..N-1 (min..max) | `match` | x N=%s | winner (bid #, price) |\n' "$N0" "$N0"
  printf '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
  for n in "${NS[@]}"; do
    printf '| %s | %s | %s | %s..%s | %s | %s | #%s, %s |\n' "$n" "${BID_GAS[$n]}" "$(ratio "${BID_GAS[$n]}" "${BID_GAS[$N0]}")" \
      "${FILL_MIN[$n]}" "${FILL_MAX[$n]}" "${MATCH_GAS[$n]}" "$(ratio "${MATCH_GAS[$n]}" "${MATCH_GAS[$N0]}")" \
      "${WINNER_POS[$n]}" "${WINNER_PRICE[$n]}"
  done
}
phases_table() {
  local p
  printf '| phase | seconds |\n| --- | ---: |\n'
  for p in "${PHASES[@]}"; do printf '| %s | %s |\n' "${p%|*}" "${p##*|}"; done
  printf '| **total** | **%s** |\n' "$TOTAL_SECS"
}

TOTAL_SECS=$((SECONDS - bench_started))
N_LAST=${NS[-1]}
BULK_TXS=$(( N_MAX + $(printf '%s+' "${NS[@]}") 0 ))
SUMMARY="From N=$N0 to N=$N_LAST, \`place_bid\` changed by $(pct "${BID_GAS[$N_LAST]}" "${BID_GAS[$N0]}") ($((BID_GAS[$N_LAST] - BID_GAS[$N0])) gas) and \`match\` by $(pct "${MATCH_GAS[$N_LAST]}" "${MATCH_GAS[$N0]}") ($((MATCH_GAS[$N_LAST] - MATCH_GAS[$N0])) gas)."
WASMD_VERSION=$("$WASMD" version 2>&1 | head -n1)
WASMVM_VERSION=$(sed -n 's/^wasmvm=//p' "$(dirname "$WASMD")/wasmd.version" 2>/dev/null | head -n1)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=""
[ -z "$(git status --porcelain -- contracts packages 2>/dev/null)" ] || DIRTY=" (with uncommitted changes in contracts/ or packages/)"
CHECKSUMS=$(cat artifacts/checksums.txt 2>/dev/null || (cd artifacts && sha256sum ./*.wasm | sed 's# \./# #'))
CPU=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)

printf '\nTable 1: gas_used per execute message (transfer baseline %s)\n\n' "$TRANSFER_GAS"
table1
printf '\nTable 2: one order holding N bids\n\n'
table2
printf '\n%s\n\nTotal runtime: %d s (%d min %d s)\n' "$SUMMARY" "$TOTAL_SECS" $((TOTAL_SECS / 60)) $((TOTAL_SECS % 60))

if [ -n "$BENCH_OUTPUT" ]; then
  mkdir -p "$(dirname "$BENCH_OUTPUT")"
  # The other benches' sections (provider daemon, overlay tunnels) stay as they are.
  other_sections=$(bench_section_get "$BENCH_OUTPUT")
  {
    cat <<EOF
# Gas benchmarks

Gas used by every contract message on a real wasmd chain, measured by
[\`scripts/bench-gas.sh\`](../scripts/bench-gas.sh). Figures are the \`gas_used\` of the transaction
result, so they include what the chain charges every transaction besides the contract (signature
check, 10 gas per byte of transaction, fee deduction): that is why each message is also shown as
a multiple of a plain cw20 \`transfer\` measured in the same run.

## How to run

\`\`\`sh
scripts/bench-gas.sh                        # both tables, N = 10 100 1000; rewrites this file
BENCH_BID_COUNTS="10 100" scripts/bench-gas.sh
BENCH_OUTPUT= scripts/bench-gas.sh          # print only, leave this file alone
\`\`\`

It starts its own chain (\`scripts/localnet.sh start --fresh\` with home
\`~/.cache/akash-localnet-bench\`, chain id \`akash-bench\`, ports RPC 26757, P2P 36756, gRPC 39190,
API 31417; never the test chain's), deploys with \`scripts/deploy.sh\` (unbonding period ${UNBONDING_SECS} s),
and stops that chain at the end, also on failure or Ctrl-C. The contracts are \`artifacts/*.wasm\`
(built by \`scripts/build-wasm.sh\` when missing; rebuild them first to measure changed sources).
Other settings are listed at the top of the script (\`BENCH_JOBS\`, \`BENCH_SEED\`,
\`BENCH_BID_WINDOW_SECS\`, \`BENCH_KEYRING_DIR\`, ports).

Table 2 needs one registered provider per bid: the script creates keys \`bench-0001\`.. in a
separate keyring (\`~/.cache/akash-bench-keys\`, kept so the next run skips this), funds them with
fee tokens by \`bank multi-send\`, registers them and places the bids with ${BENCH_JOBS} parallel
\`wasmd\` processes (fixed gas limit, sync broadcast; each key sends its registration, then its
bids once the registration is in a block), and checks every result through the node's RPC.
Each wasmd invocation costs ~0.3 s of CPU, so the last run took about $((TOTAL_SECS / 60 + 1)) minutes
(phases below), most of it the ${BULK_TXS} bulk transactions and the wait for the last bid window
(sized at twice the measured registration time, so a busy machine does not close it early). The
first run on a machine also creates the keys, one wasmd process each: about 7 more minutes for
1000 keys on a busy 2-core machine.

## Last run

- date: ${started_utc}
- commit: ${COMMIT}${DIRTY}
- wasmd: ${WASMD_VERSION} (wasmvm ${WASMVM_VERSION:-unknown}), single node, \`timeout_commit\` 300ms
- machine: $(nproc) CPUs${CPU:+, $CPU}
- total runtime: ${TOTAL_SECS} s
- artifacts (sha256):

\`\`\`
${CHECKSUMS}
\`\`\`

### 1. Every execute message

Transfer baseline: **${TRANSFER_GAS}** gas (tenant to an address that already holds AKASH).
Every actor sent one transaction before the measurements, so none of these pays for storing
its public key.

$(table1)

Notes:

- \`stake\`, \`create_order\` and \`deposit_lease\` are cw20 \`Send\`s to the contract: their figure is
  the token's transfer plus the receiving contract's hook. The token's \`send\` row is such a
  send (a first stake) as well.
- Table-1 orders: max price 100/s, one unit; order A requires \`region=us-west\` and 10 AKASH of
  stake, so \`place_bid\` and \`match\` on it also query staking; B, C and D require nothing.
- \`match\` with a winner and \`close_lease\`/\`complete_lease\` include the registry's
  \`record_lease_started\`/\`record_lease_outcome\` (market-only messages, so they are not shown alone)
  and the cw20 transfers they send.

### 2. \`place_bid\` and \`match\` on one order holding N bids

For each N: a fresh order (max price ${MAX_PRICE}/s, no requirements, so bench providers need no
stake), bids 1..N-1 from N-1 distinct registered providers, then the N-th bid is measured; once
the bid window has closed, \`match\` is measured (sent by a third party). Prices are
pseudo-random (seed ${BENCH_SEED}), all six digits, so the winner is wherever the lowest price
fell; the script checks that \`match\` picked exactly that bid.

$(table2)

${SUMMARY}

The (order, price, sequence) index makes both independent of N: \`place_bid\` writes one
\`BIDS\` entry and one \`BID_INDEX\` entry whatever the order holds, and \`match\` reads the first
index entry under the order's prefix and checks that one bidder. Gas in the Cosmos SDK is charged
per key read or written and per byte, not per IAVL node, so a bigger tree costs no more gas.

What does grow is the length of a few numbers, charged per byte (30 gas per byte written, 3 per
byte read, 10 per byte of transaction). Measured on the default run's bids (the "bids 1..N-1"
column shows the same steps inside one order): each extra decimal digit of the bid's global
\`sequence\` (stored in the bid, emitted as an attribute) costs \`place_bid\` about 65 gas, each
extra digit of the order's \`bid_count\` (the order is read and written back) about 33 gas, and a
sender whose account number passes 127 (a 2-byte varint in the account record the ante handler
reads and writes) about 50 gas; bids otherwise identical differ by up to ~50 gas between senders.
From N=10 to N=1000 the measured bid's \`sequence\` and the order's \`bid_count\` each gain two
digits and the bench key's account number a byte: about 250 of the 284 gas. \`match\` rewrites
the order too (two more \`bid_count\` digits: ~66 gas), the rest being the same per-address noise
(each N has a different winner, whose address the match handles).
None of it depends on the number of bids as such: no per-bid work, no iteration beyond the first
index entry.

### Phases of the last run

$(phases_table)
EOF
    [ -z "$other_sections" ] || printf '\n%s\n' "$other_sections"
  } >"$BENCH_OUTPUT"
  log "tables written to $BENCH_OUTPUT"
fi
log "done in ${TOTAL_SECS} s; per-transaction results of the bulk phases in $WORK"
