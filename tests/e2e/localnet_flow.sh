#!/usr/bin/env bash
# End-to-end on a real wasmd chain, driven only by the `wasmd` CLI (tx wasm execute and
# query wasm contract-state smart), the way a tenant or provider with a wallet would:
# two providers register and stake, a tenant orders by cw20 send, both bid, the window passes,
# a stranger matches, the cheaper provider gets the lease and withdraws, the tenant closes early.
# Every balance is checked exactly against the contract rules, and bad transactions must fail
# with a readable error and move nothing.
#
# Needs a running localnet (scripts/localnet.sh start) and a deployment (scripts/deploy.sh);
# scripts/e2e.sh does all of it.
set -euo pipefail
cd "$(dirname "$0")/../.."
eval "$(scripts/localnet.sh env)"
. scripts/lib/chain.sh
. scripts/lib/checks.sh

DEPLOYMENT="${1:-$AKASH_LOCALNET_HOME/deployment.json}"
[ -f "$DEPLOYMENT" ] || { echo "error: no deployment at $DEPLOYMENT (run scripts/deploy.sh)" >&2; exit 1; }
contract() { jq -r ".contracts.$1" "$DEPLOYMENT"; }
account() { jq -r ".accounts.$1" "$DEPLOYMENT"; }
TOKEN=$(contract token) STAKING=$(contract staking) REGISTRY=$(contract registry) MARKET=$(contract market)
TENANT=$(account tenant) P1=$(account provider1) P2=$(account provider2) P3=$(account provider3)
STRANGER=$(account stranger)
CA_PEM=$(cat tests/testdata/ca.pem)

balance() { cw20_balance "$TOKEN" "$1"; }
latest_block_time() { block_time_nanos "$(wasmd_cli status --node "$AKASH_LOCALNET_NODE" | jq -r '.sync_info.latest_block_height')"; }
# Whole seconds between two nanosecond timestamps, as the market counts them.
secs_between() { echo $((($2 - $1) / 1000000000)); }

# expect_failure NAME PATTERN COMMAND...: the tx must fail, its error must match PATTERN, and
# no AKASH balance of the actors or contracts may change.
expect_failure() {
  local name=$1 pattern=$2 before after err
  shift 2
  before=$(all_balances)
  if err=$("$@" 2>&1 >/dev/null); then
    failed=$((failed + 1)); printf '  FAIL %s: the transaction succeeded\n' "$name"; return
  fi
  after=$(all_balances)
  err=$(printf '%s' "$err" | sed 's/\x1b\[[0-9;]*m//g' | tr '\n' ' ')
  if ! grep -qiE -- "$pattern" <<<"$err"; then
    failed=$((failed + 1)); printf '  FAIL %s: error does not match /%s/: %s\n' "$name" "$pattern" "${err:0:400}"
  elif [ "$before" != "$after" ]; then
    failed=$((failed + 1)); printf '  FAIL %s: balances changed: %s -> %s\n' "$name" "$before" "$after"
  else
    passed=$((passed + 1)); printf '  ok   %s refused: %s\n' "$name" "$(grep -oiE -- ".{0,60}($pattern).{0,80}" <<<"$err" | head -n1)"
  fi
}
all_balances() {
  local a out=""
  for a in "$TENANT" "$P1" "$P2" "$P3" "$STRANGER" "$MARKET" "$STAKING"; do out+="$(balance "$a") "; done
  printf '%s' "$out"
}

step "providers register and stake"
for p in provider1 provider2 provider3; do
  execute "$p" "$REGISTRY" "$(jq -nc --arg pem "$CA_PEM" --arg p "$p" '{register: {
    host_uri: ("https://" + $p + ".localnet.test:8443"),
    attributes: [{key: "region", value: "us-west"}, {key: "tier", value: "community"}],
    root_certificate_pem: $pem}}')" >/dev/null
done
check "provider1 host_uri" "https://provider1.localnet.test:8443" \
  "$(query "$REGISTRY" "{\"provider\":{\"address\":\"$P1\"}}" | jq -r .host_uri)"
p1_start=$(balance "$P1") p2_start=$(balance "$P2")
cw20_send provider1 "$TOKEN" "$STAKING" 100000000 '{"stake":{}}' >/dev/null
cw20_send provider2 "$TOKEN" "$STAKING" 50000000 '{"stake":{}}' >/dev/null
cw20_send provider3 "$TOKEN" "$STAKING" 50000000 '{"stake":{}}' >/dev/null
check "provider1 stake" 100000000 "$(query "$STAKING" "{\"stake\":{\"address\":\"$P1\"}}" | jq -r .stake)"
check "provider1 cw4 weight" 100 "$(query "$STAKING" "{\"member\":{\"addr\":\"$P1\",\"at_height\":null}}" | jq -r .weight)"
check "provider1 balance after stake" "$((p1_start - 100000000))" "$(balance "$P1")"
check "provider2 balance after stake" "$((p2_start - 50000000))" "$(balance "$P2")"

step "tenant creates an order by cw20 send"
MAX_PRICE=100 DURATION=3600 WINDOW=60
ESCROW=$((MAX_PRICE * DURATION))
MANIFEST_SHA=$(printf 'e2e manifest v1' | sha256sum | cut -d' ' -f1)
ORDER_SPEC=$(jq -nc --arg h "$MANIFEST_SHA" --argjson p "$MAX_PRICE" --argjson d "$DURATION" --argjson w "$WINDOW" '{
  resources: {cpu_millis: 500, memory_bytes: 536870912, storage_bytes: 1073741824, bandwidth_bytes_per_sec: 1000000},
  count: 1, max_price_per_second: ($p | tostring), lease_duration_secs: $d, bid_window_secs: $w,
  requirements: {attributes: [{key: "region", value: "us-west"}], min_stake: "10000000", min_reputation: 0},
  manifest_sha256: $h}')
tenant_start=$(balance "$TENANT")
result=$(cw20_send tenant "$TOKEN" "$MARKET" "$ESCROW" "{\"create_order\":$ORDER_SPEC}")
ORDER_ID=$(event_attr "$result" wasm order_id)
check "tenant balance after order" "$((tenant_start - ESCROW))" "$(balance "$TENANT")"
check "market balance holds the escrow" "$ESCROW" "$(balance "$MARKET")"
check "order state" open "$(query "$MARKET" "{\"order\":{\"order_id\":$ORDER_ID}}" | jq -r .state)"
expect_failure "match before the window closes" "once its bid window closes" \
  execute stranger "$MARKET" "{\"match\":{\"order_id\":$ORDER_ID}}"

step "both providers bid"
BID_RESOURCES='{"cpu_millis":500,"memory_bytes":536870912,"storage_bytes":1073741824,"bandwidth_bytes_per_sec":1000000}'
PRICE1=40 PRICE2=70
execute provider2 "$MARKET" "{\"place_bid\":{\"order_id\":$ORDER_ID,\"price_per_second\":\"$PRICE2\",\"resources\":$BID_RESOURCES}}" >/dev/null
execute provider1 "$MARKET" "{\"place_bid\":{\"order_id\":$ORDER_ID,\"price_per_second\":\"$PRICE1\",\"resources\":$BID_RESOURCES}}" >/dev/null
check "bids listed best first" "$P1 $P2" \
  "$(query "$MARKET" "{\"bids\":{\"order_id\":$ORDER_ID,\"start_after\":null,\"limit\":null}}" | jq -r '[.bids[].provider] | join(" ")')"
expect_failure "second bid by the same provider" "already has a bid" \
  execute provider1 "$MARKET" "{\"place_bid\":{\"order_id\":$ORDER_ID,\"price_per_second\":\"30\",\"resources\":$BID_RESOURCES}}"

step "bad transactions during the window (each refused, nothing moves)"
fake_result=$(submit_tx wasm instantiate "$(jq -r .code_ids.token "$DEPLOYMENT")" "$(jq -nc --arg t "$TENANT" '{
  name: "Fake Akash", symbol: "FAKE", initial_balances: [{address: $t, amount: "1000000000"}], mint: null, marketing: null}')" \
  --label fake-token --no-admin --from tenant)
FAKE_TOKEN=$(event_attr "$fake_result" instantiate _contract_address)
expect_failure "order paid in another cw20" "is not accepted" \
  cw20_send tenant "$FAKE_TOKEN" "$MARKET" "$ESCROW" "{\"create_order\":$ORDER_SPEC}"
check "fake token stays with the tenant" 1000000000 "$(cw20_balance "$FAKE_TOKEN" "$TENANT")"
expect_failure "stake paid in another cw20" "is not accepted|not the.*token|wrong token|unexpected token" \
  cw20_send tenant "$FAKE_TOKEN" "$STAKING" 1000 '{"stake":{}}'
expect_failure "malformed JSON message" "msg: invalid" \
  execute provider1 "$MARKET" '{"place_bid": {"order_id": '
expect_failure "field of the wrong type" "Error parsing into type" \
  execute provider3 "$MARKET" "{\"place_bid\":{\"order_id\":$ORDER_ID,\"price_per_second\":\"cheap\",\"resources\":$BID_RESOURCES}}"
expect_failure "overspending: order larger than the tenant's balance" "overflow|insufficient|cannot sub" \
  cw20_send tenant "$TOKEN" "$MARKET" "$((tenant_start * 10))" \
  "{\"create_order\":$(jq -c --arg p "$((tenant_start * 10 / DURATION))" '.max_price_per_second = $p' <<<"$ORDER_SPEC")}"
expect_failure "escrow that does not match max price x duration" "escrow must be exactly" \
  cw20_send tenant "$TOKEN" "$MARKET" "$((ESCROW - 1))" "{\"create_order\":$ORDER_SPEC}"

step "the window passes"
window_ends=$(query "$MARKET" "{\"order\":{\"order_id\":$ORDER_ID}}" | jq -r '.bid_window_ends_at')
while [ "$(latest_block_time)" -lt "$window_ends" ]; do sleep 0.5; done
expect_failure "bid after the window" "bid window of order $ORDER_ID closed" \
  execute provider3 "$MARKET" "{\"place_bid\":{\"order_id\":$ORDER_ID,\"price_per_second\":\"10\",\"resources\":$BID_RESOURCES}}"

step "a stranger matches; the cheaper provider gets the lease"
result=$(execute stranger "$MARKET" "{\"match\":{\"order_id\":$ORDER_ID}}")
LEASE_ID=$(event_attr "$result" wasm lease_id)
lease=$(query "$MARKET" "{\"lease\":{\"lease_id\":$LEASE_ID}}")
check "lease provider" "$P1" "$(jq -r .provider <<<"$lease")"
check "lease price" "$PRICE1" "$(jq -r .price_per_second <<<"$lease")"
LEASE_ESCROW=$((PRICE1 * DURATION))
check "lease escrow" "$LEASE_ESCROW" "$(jq -r .escrow <<<"$lease")"
check "tenant got the surplus back at once" "$((tenant_start - LEASE_ESCROW))" "$(balance "$TENANT")"
check "market holds the lease escrow" "$LEASE_ESCROW" "$(balance "$MARKET")"
check "registry counts the active lease" 1 \
  "$(query "$REGISTRY" "{\"provider\":{\"address\":\"$P1\"}}" | jq -r .history.leases_active)"
STARTED=$(jq -r .started_at <<<"$lease")

expect_failure "stranger closes the lease" "neither the tenant nor the provider" \
  execute stranger "$MARKET" "{\"close_lease\":{\"lease_id\":$LEASE_ID,\"reason\":null}}"
expect_failure "deregister with an active lease" "active lease" \
  execute provider1 "$REGISTRY" '{"deregister":{}}'

step "the provider withdraws what accrued"
sleep 3
p1_before=$(balance "$P1")
result=$(execute provider1 "$MARKET" "{\"withdraw_earnings\":{\"lease_id\":$LEASE_ID}}")
t_withdraw=$(block_time_nanos "$(jq -r .height <<<"$result")")
ACCRUED=$((PRICE1 * $(secs_between "$STARTED" "$t_withdraw")))
check "withdrawn = price x elapsed seconds" "$ACCRUED" "$(event_attr "$result" wasm amount)"
check "provider1 balance after withdrawal" "$((p1_before + ACCRUED))" "$(balance "$P1")"
check "market balance after withdrawal" "$((LEASE_ESCROW - ACCRUED))" "$(balance "$MARKET")"

step "the tenant closes early"
sleep 2
tenant_before=$(balance "$TENANT") p1_before=$(balance "$P1")
result=$(execute tenant "$MARKET" "{\"close_lease\":{\"lease_id\":$LEASE_ID,\"reason\":\"done early\"}}")
t_close=$(block_time_nanos "$(jq -r .height <<<"$result")")
ACCRUED_TOTAL=$((PRICE1 * $(secs_between "$STARTED" "$t_close")))
check "provider paid accrued - withdrawn" "$((p1_before + ACCRUED_TOTAL - ACCRUED))" "$(balance "$P1")"
check "tenant refunded the rest" "$((tenant_before + LEASE_ESCROW - ACCRUED_TOTAL))" "$(balance "$TENANT")"
check "market holds nothing" 0 "$(balance "$MARKET")"
check "tenant paid exactly price x lease seconds" "$((tenant_start - ACCRUED_TOTAL))" "$(balance "$TENANT")"
check "lease state" closed_by_tenant "$(query "$MARKET" "{\"lease\":{\"lease_id\":$LEASE_ID}}" | jq -r .state)"
check "registry history" "0 1" \
  "$(query "$REGISTRY" "{\"provider\":{\"address\":\"$P1\"}}" | jq -r '"\(.history.leases_active) \(.history.leases_closed_by_tenant)"')"
check "provider2 (lost) kept its tokens" "$((p2_start - 50000000))" "$(balance "$P2")"
expect_failure "closing the closed lease again" "not Active" \
  execute tenant "$MARKET" "{\"close_lease\":{\"lease_id\":$LEASE_ID,\"reason\":null}}"

checks_done localnet
