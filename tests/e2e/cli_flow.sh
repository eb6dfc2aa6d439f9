#!/usr/bin/env bash
# End-to-end on a real wasmd chain and the real Docker engine, through the two binaries only:
# a new provider registers and stakes with `akash-provider register` (host URI on 127.0.0.1,
# root certificate generated in its data dir), `akash-provider run` serves in the background;
# a new tenant runs `akash deploy examples/web.yaml`: the daemon bids, wins, receives and
# verifies the manifest and starts the container; the page at the URL the CLI prints is the
# one web.yaml serves; `akash close` ends the lease: the container goes, and the provider got
# exactly what the lease accrued, the tenant the rest, nothing lost.
# Prints (does not assert) how long order -> lease and lease -> HTTP answering took.
#
# Fresh keys for the tenant and the provider (funded here by the `governance` key: ustake for
# fees, AKASH minted by the token's minter), so nothing the other e2e tests use is touched; the
# lease is closed and the market holds nothing afterwards.
#
# Needs a running localnet and a deployment (scripts/e2e.sh does both) and the Docker engine.
#   tests/e2e/cli_flow.sh [DEPLOYMENT_JSON]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib/toolchain.sh
eval "$(scripts/localnet.sh env)"
. scripts/lib/chain.sh
. scripts/lib/checks.sh
. scripts/lib/provider.sh

DEPLOYMENT="${1:-$AKASH_LOCALNET_HOME/deployment.json}"
[ -f "$DEPLOYMENT" ] || { echo "error: no deployment at $DEPLOYMENT (run scripts/deploy.sh)" >&2; exit 1; }
DEPLOYMENT=$(realpath "$DEPLOYMENT")
SDL=examples/web.yaml
EXPECTED_PAGE="hello from akash"   # what $SDL's httpd serves
STAKE=10000000                     # 10 AKASH
TENANT_FUNDS=1000000000            # 1000 AKASH
FEE_FUNDS=100000000                # ustake for fees
contract() { jq -r ".contracts.$1" "$DEPLOYMENT"; }
TOKEN=$(contract token) MARKET=$(contract market) STAKING=$(contract staking)
CHAIN_ID=$(jq -r .chain_id "$DEPLOYMENT")

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
balance() { cw20_balance "$TOKEN" "$1"; }
# Whole seconds between two nanosecond timestamps, as the market counts them.
secs_between() { echo $((($2 - $1) / 1000000000)); }

log "building akash and akash-provider"
cargo build --locked -q -p akash-cli -p akash-provider
AKASH="$CARGO_TARGET_DIR/debug/akash"
PROVIDER="$CARGO_TARGET_DIR/debug/akash-provider"
scripts/docker.sh ensure
scripts/make-test-image.sh

WORK=$(mktemp -d "${TMPDIR:-/tmp}/akash-cli-flow.XXXXXX")
DAEMON_PID=""
PROVIDER_ADDR=""
LEASE_ID=""
ORDER_ID=""
CONTAINERS=""   # ids of the lease's containers, once seen
NETWORKS=""
# The labels the daemon's runtime puts on a lease's Docker objects. Lease and order ids start
# at 1 on every new market contract; the owner labels (chain id, provider address) keep other
# daemons' objects on the same engine out.
lease_labels() {
  echo "akash.lease_id=$LEASE_ID akash.order_id=$ORDER_ID akash.chain_id=$CHAIN_ID akash.provider=$PROVIDER_ADDR"
}
label_filters() { local label; for label in $(lease_labels); do printf -- '--filter label=%s ' "$label"; done; }
# shellcheck disable=SC2046 # the filters are words without spaces
lease_containers() { docker ps -aq --no-trunc $(label_filters); }
# shellcheck disable=SC2046
lease_networks() { docker network ls -q --no-trunc $(label_filters); }
cleanup() {
  local rc=$? i state
  trap - EXIT
  # A failure half-way must leave neither escrow in the market (the next test checks its
  # balance) nor a container: a running lease is closed while the daemon still runs, so that
  # it removes the containers itself; an order still open is cancelled.
  [ -f "$WORK/deploy.pid" ] && kill "$(cat "$WORK/deploy.pid")" 2>/dev/null || true
  [ -n "$ORDER_ID" ] || ORDER_ID=$(grep -oE 'order [0-9]+ created' "$WORK/deploy.log" 2>/dev/null | head -n1 | grep -oE '[0-9]+' || true)
  [ -n "$LEASE_ID" ] || LEASE_ID=$(grep -oE 'matched: lease [0-9]+' "$WORK/deploy.log" 2>/dev/null | head -n1 | grep -oE '[0-9]+' || true)
  if [ -n "$LEASE_ID" ] && [ "$(query "$MARKET" "{\"lease\":{\"lease_id\":$LEASE_ID}}" 2>/dev/null | jq -r .state)" == active ]; then
    "$AKASH" close "$LEASE_ID" --reason "cli_flow.sh cleanup" --deployment "$DEPLOYMENT" \
      --key-file "$WORK/tenant.mnemonic" >/dev/null 2>&1 || true
    for i in $(seq 1 50); do
      grep -qE "lease_id=$LEASE_ID\}.*lease over" "$WORK/daemon.log" 2>/dev/null && break
      sleep 0.2
    done
  elif [ -n "$ORDER_ID" ] && [ "$(query "$MARKET" "{\"order\":{\"order_id\":$ORDER_ID}}" 2>/dev/null | jq -r .state)" == open ]; then
    submit_tx wasm execute "$MARKET" "{\"cancel_order\":{\"order_id\":$ORDER_ID}}" --from tenant --keyring-dir "$WORK/keyring" \
      >/dev/null 2>&1 || true
  fi
  [ -z "$DAEMON_PID" ] || stop_daemon "$DAEMON_PID"
  # Only objects known to be this test's: seen serving its URL, or labelled with its provider.
  if [ -n "$PROVIDER_ADDR" ]; then
    CONTAINERS="$CONTAINERS $(docker ps -aq --filter "label=akash.provider=$PROVIDER_ADDR" 2>/dev/null || true)"
    NETWORKS="$NETWORKS $(docker network ls -q --filter "label=akash.provider=$PROVIDER_ADDR" 2>/dev/null || true)"
  fi
  for i in $CONTAINERS; do docker rm -f "$i" >/dev/null 2>&1 || true; done
  for i in $NETWORKS; do docker network rm "$i" >/dev/null 2>&1 || true; done
  if [ "$rc" -ne 0 ] && [ -f "$WORK/daemon.log" ]; then
    printf '\nlast lines of the daemon log (%s):\n' "$WORK/daemon.log"
    tail -n 40 "$WORK/daemon.log"
    printf '(work directory kept: %s)\n' "$WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "fresh keys for the tenant and the provider, funded by governance"
new_key() { # new_key NAME: writes $WORK/NAME.mnemonic, prints the address
  local out
  out=$(wasmd_cli keys add "$1" --keyring-backend test --keyring-dir "$WORK/keyring" --output json 2>&1 | grep -E '^\{')
  jq -r .mnemonic <<<"$out" >"$WORK/$1.mnemonic"
  jq -r .address <<<"$out"
}
TENANT=$(new_key tenant)
PROVIDER_ADDR=$(new_key provider)
submit_tx bank multi-send governance "$TENANT" "$PROVIDER_ADDR" "${FEE_FUNDS}$AKASH_LOCALNET_DENOM" >/dev/null
execute governance "$TOKEN" "{\"mint\":{\"recipient\":\"$TENANT\",\"amount\":\"$TENANT_FUNDS\"}}" >/dev/null
execute governance "$TOKEN" "{\"mint\":{\"recipient\":\"$PROVIDER_ADDR\",\"amount\":\"$STAKE\"}}" >/dev/null
check "tenant AKASH" "$TENANT_FUNDS" "$(balance "$TENANT")"
check "provider AKASH" "$STAKE" "$(balance "$PROVIDER_ADDR")"

step "the provider registers and stakes (akash-provider register)"
GATEWAY_PORT=$(free_port)
provider_config "$WORK/provider-data" "$DEPLOYMENT" "$WORK/provider.mnemonic" "$GATEWAY_PORT" \
  'manifest_timeout_secs = 120' >"$WORK/provider.toml"
out=$("$PROVIDER" register --config "$WORK/provider.toml" --stake "$STAKE" 2>"$WORK/register.log") ||
  { cat "$WORK/register.log"; fail "akash-provider register failed"; exit 1; }
echo "  $out"
check "register output" "$PROVIDER_ADDR registered (stake $STAKE)" "$out"
registered=$(query "$(contract registry)" "{\"provider\":{\"address\":\"$PROVIDER_ADDR\"}}")
check "registered host_uri" "https://127.0.0.1:$GATEWAY_PORT" "$(jq -r .host_uri <<<"$registered")"
pem_digest() { tr -d '[:space:]' | sha256sum | cut -c1-16; }
check "sha256 of the registered root certificate = of data_dir/root-ca.pem" \
  "$(pem_digest <"$WORK/provider-data/root-ca.pem")" "$(jq -r .root_certificate_pem <<<"$registered" | pem_digest)"
check "provider stake" "$STAKE" "$(query "$STAKING" "{\"stake\":{\"address\":\"$PROVIDER_ADDR\"}}" | jq -r .stake)"
check "provider AKASH after staking" 0 "$(balance "$PROVIDER_ADDR")"

step "akash-provider run in the background"
if start_daemon "$PROVIDER" "$WORK/provider.toml" "$WORK/daemon.log" "$GATEWAY_PORT"; then
  pass "daemon (pid $DAEMON_PID) serves its gateway on 127.0.0.1:$GATEWAY_PORT"
else
  fail "the daemon exited or did not listen on 127.0.0.1:$GATEWAY_PORT within 30 s"; exit 1
fi

step "the tenant deploys $SDL (akash deploy)"
tenant_before=$(balance "$TENANT") provider_before=$(balance "$PROVIDER_ADDR") market_before=$(balance "$MARKET")
# Every line of the CLI's progress, with the time it was printed.
t_deploy=$(now)
{
  "$AKASH" deploy "$SDL" --deployment "$DEPLOYMENT" --key-file "$WORK/tenant.mnemonic" &
  echo $! >"$WORK/deploy.pid"
  wait $! && rc=0 || rc=$?
  echo "akash deploy exited with $rc" >"$WORK/deploy.rc"
} 2>&1 | while IFS= read -r line; do printf '%s %s\n' "$(now)" "$line"; done >"$WORK/deploy.log" &
deploy_pid=$!
# Shown as it comes; the URL is polled as soon as the CLI prints it.
URL="" shown=0 t_answer="" page="" deploy_ended=""
show_progress() {
  local lines
  lines=$(wc -l <"$WORK/deploy.log")
  if [ "$lines" -gt "$shown" ]; then
    sed -n "$((shown + 1)),${lines}p" "$WORK/deploy.log" | cut -d' ' -f2- | sed 's/^/  | /'
    shown=$lines
  fi
}
deploy_started=$SECONDS
while :; do
  show_progress
  if [ -z "$URL" ]; then
    URL=$(grep -oE 'web \(port 80\): http://[0-9.]+:[0-9]+' "$WORK/deploy.log" | head -n1 | grep -oE 'http://.*' || true)
  fi
  if [ -n "$URL" ] && page=$(curl -fsS --max-time 2 "$URL" 2>/dev/null); then
    t_answer=$(now)
    break
  fi
  if [ -z "$deploy_ended" ] && ! kill -0 "$deploy_pid" 2>/dev/null; then deploy_ended=$SECONDS; fi
  # Once the CLI is done, the URL gets 30 s more to answer.
  if [ -n "$deploy_ended" ] && { [ -z "$URL" ] || [ $((SECONDS - deploy_ended)) -ge 30 ]; }; then break; fi
  if [ $((SECONDS - deploy_started)) -ge 150 ]; then
    fail "akash deploy still running after 150 s"
    kill "$(cat "$WORK/deploy.pid")" 2>/dev/null || true
    break
  fi
  sleep 0.1
done
wait "$deploy_pid" || true
show_progress
check "akash deploy" "akash deploy exited with 0" "$(cat "$WORK/deploy.rc" 2>/dev/null || echo 'akash deploy did not finish')"
progress_time() { grep -E "$1" "$WORK/deploy.log" | head -n1 | cut -d' ' -f1; }
ORDER_ID=$(grep -oE 'order [0-9]+ created' "$WORK/deploy.log" | head -n1 | grep -oE '[0-9]+' || true)
LEASE_ID=$(grep -oE 'matched: lease [0-9]+' "$WORK/deploy.log" | head -n1 | grep -oE '[0-9]+' || true)
[ -n "$ORDER_ID" ] && [ -n "$LEASE_ID" ] || { fail "no order or lease id in the CLI's output"; exit 1; }
check "bid by our provider" 1 "$(grep -cE "order $ORDER_ID: 1 bid, best [0-9]+ uakt/s by $PROVIDER_ADDR" "$WORK/deploy.log" || true)"
check "manifest verified by the provider" 1 \
  "$(grep -cE "lease $LEASE_ID: manifest uploaded to https://127.0.0.1:$GATEWAY_PORT .*verified by the provider" "$WORK/deploy.log" || true)"
lease=$(query "$MARKET" "{\"lease\":{\"lease_id\":$LEASE_ID}}")
order=$(query "$MARKET" "{\"order\":{\"order_id\":$ORDER_ID}}")
check "lease provider" "$PROVIDER_ADDR" "$(jq -r .provider <<<"$lease")"
check "lease tenant" "$TENANT" "$(jq -r .tenant <<<"$lease")"
check "lease state while running" active "$(jq -r .state <<<"$lease")"
check "lease manifest = the SDL's" "$("$AKASH" validate "$SDL" | grep -oE 'sha256 [0-9a-f]{64}' | cut -d' ' -f2)" \
  "$(jq -r .manifest_sha256 <<<"$lease")"
PRICE=$(jq -r .price_per_second <<<"$lease")
ESCROW=$(jq -r .escrow <<<"$lease")
DURATION=$(jq -r .spec.lease_duration_secs <<<"$order")
check "lease escrow = price x duration" "$((PRICE * DURATION))" "$ESCROW"
CONTAINERS=$(lease_containers)
NETWORKS=$(lease_networks)
check "containers of the lease (labels $(lease_labels))" 1 "$(wc -w <<<"$CONTAINERS")"
check "container state" running "$(docker inspect -f '{{.State.Status}}' $CONTAINERS 2>/dev/null || true)"
check "URL printed by the CLI" "http://127.0.0.1:" "${URL%:*}:"
check "URL port = the container's published port" "${URL##*:}" \
  "$(docker inspect -f '{{range $p, $b := .NetworkSettings.Ports}}{{range $b}}{{.HostPort}}{{end}}{{end}}' $CONTAINERS 2>/dev/null || true)"
check "page at $URL" "$EXPECTED_PAGE" "$page"

# Timings: the CLI's progress lines carry the wall-clock time they were printed; the chain's
# times are the block times of the order's creation and of the match.
t_order=$(progress_time "order $ORDER_ID created")
t_lease=$(progress_time "matched: lease $LEASE_ID")
t_manifest=$(progress_time "lease $LEASE_ID: manifest uploaded")
t_up=$(progress_time "lease $LEASE_ID: containers up")
chain_order_to_lease=$(awk -v a="$(jq -r .created_at <<<"$order")" -v b="$(jq -r .started_at <<<"$lease")" \
  'BEGIN { printf "%.2f", (b - a) / 1e9 }')
bid_window=$(jq -r .spec.bid_window_secs <<<"$order")

step "the tenant closes the lease (akash close)"
sleep 2   # let a few seconds accrue
close_out=$("$AKASH" close "$LEASE_ID" --deployment "$DEPLOYMENT" --key-file "$WORK/tenant.mnemonic" 2>&1) ||
  fail "akash close: $close_out"
echo "  $close_out"
lease=$(query "$MARKET" "{\"lease\":{\"lease_id\":$LEASE_ID}}")
check "lease state" closed_by_tenant "$(jq -r .state <<<"$lease")"
STARTED=$(jq -r .started_at <<<"$lease")
CLOSED=$(jq -r .closed_at <<<"$lease")
ACCRUED=$((PRICE * $(secs_between "$STARTED" "$CLOSED")))
printf '  lease %s ran %s s at %s uakt/s: accrued %s of %s\n' "$LEASE_ID" \
  "$(secs_between "$STARTED" "$CLOSED")" "$PRICE" "$ACCRUED" "$ESCROW"
check "lease paid out = price x whole seconds started..closed" "$ACCRUED" "$(jq -r .withdrawn <<<"$lease")"
check "lease escrow emptied" 0 "$(jq -r .escrow <<<"$lease")"
check "provider received what the lease accrued" "$((provider_before + ACCRUED))" "$(balance "$PROVIDER_ADDR")"
check "tenant got the rest back" "$((tenant_before - ACCRUED))" "$(balance "$TENANT")"
check "close output names the refund" "lease $LEASE_ID closed: $((ESCROW - ACCRUED))" "$(grep -oE "^lease $LEASE_ID closed: [0-9]+" <<<"$close_out" || true)"
check "market holds what it held before" "$market_before" "$(balance "$MARKET")"
check "nothing lost (tenant + provider + market)" "$((tenant_before + provider_before + market_before))" \
  "$(($(balance "$TENANT") + $(balance "$PROVIDER_ADDR") + $(balance "$MARKET")))"

step "the daemon removes the lease's containers"
for i in $(seq 1 100); do
  [ -z "$(lease_containers)$(lease_networks)" ] && break
  sleep 0.2
done
check "containers left (docker ps -a by the same labels)" 0 "$(lease_containers | wc -l)"
check "networks left" 0 "$(lease_networks | wc -l)"
gone=0
for c in $CONTAINERS; do docker inspect "$c" >/dev/null 2>&1 || gone=$((gone + 1)); done
check "the container that served the page is gone" "$(wc -w <<<"$CONTAINERS")" "$gone"
check "the URL no longer answers" refused "$(curl -fsS --max-time 2 "$URL" >/dev/null 2>&1 && echo answers || echo refused)"
check "daemon still running" yes "$(kill -0 "$DAEMON_PID" 2>/dev/null && echo yes || echo no)"

step "timings (printed, not asserted)"
printf '  order -> lease, chain block times (order created_at -> lease started_at): %s s (bid window %s s)\n' \
  "$chain_order_to_lease" "$bid_window"
printf '  order -> lease, CLI progress lines ("order %s created" -> "matched: lease %s"): %s s\n' \
  "$ORDER_ID" "$LEASE_ID" "$(secs "$t_order" "$t_lease")"
printf '  lease -> HTTP answering ("matched: lease %s" line -> first curl of the printed URL returning the page): %s s\n' \
  "$LEASE_ID" "$(secs "$t_lease" "${t_answer:-$t_lease}")"
printf '    of which: lease -> manifest accepted %s s, -> containers up (CLI saw "running") %s s, -> HTTP answering %s s\n' \
  "$(secs "$t_lease" "$t_manifest")" "$(secs "$t_lease" "$t_up")" "$(secs "$t_lease" "${t_answer:-$t_lease}")"
printf '  whole akash deploy run: %s s\n' "$(secs "$t_deploy" "$(tail -n1 "$WORK/deploy.log" | cut -d' ' -f1)")"

checks_done cli
