#!/usr/bin/env bash
# Provider daemon benchmark on a real wasmd chain and the real Docker engine. Starts its own
# localnet (separate home, chain id and ports; never the test chain), deploys the contracts,
# registers one provider with `akash-provider register` and runs ONE `akash-provider run`
# process (release build), then measures:
#   - its memory (VmRSS, VmHWM of /proc/PID/status): at rest BENCH_IDLE_SECS after start-up,
#     with 1 lease running, with BENCH_LEASES leases running, and after they were all closed;
#     the RSS figure of a stage is the median of BENCH_SAMPLES samples one second apart, taken
#     BENCH_SETTLE_SECS after the stage's last deployment answered;
#   - per deployment of BENCH_SDL (`akash deploy`, each from a tenant key of its own): order ->
#     lease (block times on chain, and the CLI's progress lines) and lease -> HTTP answering
#     (the CLI's "matched: lease" line -> first successful GET of the URL it printed).
# The first deployment runs alone, the other BENCH_LEASES-1 at the same time. The runtime
# publishes every global port on an ephemeral host port of 127.0.0.1, so copies of one SDL
# never collide on a port. Prints the tables and writes them, with how to run and the run's
# date/commit, to the "Provider daemon" section of benches/README.md (the rest of the file is
# bench-gas.sh's and stays as it is). Everything started here is stopped at the end.
#
#   scripts/bench-daemon.sh
#
# Settings (environment):
#   BENCH_LEASES         10                  leases at the last stage (2..50)
#   BENCH_SDL            examples/web.yaml   what each tenant deploys (one placement group)
#   BENCH_IDLE_SECS      20                  idle time after start-up before the "at rest" stage
#   BENCH_SETTLE_SECS    10                  wait after a stage's deployments before sampling
#   BENCH_SAMPLES        10                  memory samples per stage, one second apart
#   BENCH_OUTPUT         benches/README.md   markdown whose daemon section is rewritten ("" = none)
#   BENCH_DAEMON_LOCALNET_HOME   ~/.cache/akash-localnet-bench-daemon
#   BENCH_DAEMON_CHAIN_ID        akash-bench-daemon
#   BENCH_DAEMON_RPC_PORT 26957, BENCH_DAEMON_P2P_PORT 36956, BENCH_DAEMON_GRPC_PORT 39390,
#   BENCH_DAEMON_API_PORT 31617
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/toolchain.sh
. scripts/lib/provider.sh
bench_started=$SECONDS
started_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

LEASES="${BENCH_LEASES:-10}"
SDL="${BENCH_SDL:-examples/web.yaml}"
IDLE_SECS="${BENCH_IDLE_SECS:-20}"
SETTLE_SECS="${BENCH_SETTLE_SECS:-10}"
SAMPLES="${BENCH_SAMPLES:-10}"
BENCH_OUTPUT="${BENCH_OUTPUT-benches/README.md}"
STAKE=10000000            # 10 AKASH
TENANT_FUNDS=100000000    # 100 AKASH per tenant key
FEE_FUNDS=100000000       # ustake per tenant key

export AKASH_LOCALNET_HOME="${BENCH_DAEMON_LOCALNET_HOME:-$HOME/.cache/akash-localnet-bench-daemon}"
export AKASH_LOCALNET_CHAIN_ID="${BENCH_DAEMON_CHAIN_ID:-akash-bench-daemon}"
export AKASH_LOCALNET_RPC_PORT="${BENCH_DAEMON_RPC_PORT:-26957}"
export AKASH_LOCALNET_P2P_PORT="${BENCH_DAEMON_P2P_PORT:-36956}"
export AKASH_LOCALNET_GRPC_PORT="${BENCH_DAEMON_GRPC_PORT:-39390}"
export AKASH_LOCALNET_API_PORT="${BENCH_DAEMON_API_PORT:-31617}"

[[ "$LEASES" =~ ^[0-9]+$ ]] && [ "$LEASES" -ge 2 ] && [ "$LEASES" -le 50 ] ||
  die "BENCH_LEASES must be a number from 2 to 50, not '$LEASES'"
[ -f "$SDL" ] || die "no SDL file at $SDL"
for tool in jq curl flock awk ss docker; do command -v "$tool" >/dev/null || die "$tool is needed"; done
mkdir -p "$(dirname "$AKASH_LOCALNET_HOME")"
exec {bench_lock}>"$(dirname "$AKASH_LOCALNET_HOME")/.$(basename "$AKASH_LOCALNET_HOME").bench.lock"
flock -n "$bench_lock" || die "another bench-daemon.sh run is using $AKASH_LOCALNET_HOME"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/akash-bench-daemon.XXXXXX")
DAEMON_PID=""
PROVIDER_ADDR=""
CHAIN_STARTED=0
now() { date +%s.%N; }

# Closes what is still running (the daemon removes the containers), stops the daemon and the
# chain, removes what is left of the provider's containers (those seen behind its URLs, and
# those labelled with its address where the runtime labels the owner).
cleanup() {
  local rc=$? i log lease closed=0
  trap - EXIT INT TERM
  for i in $(jobs -p); do [ "$i" == "$DAEMON_PID" ] || kill "$i" 2>/dev/null || true; done
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    for log in "$WORK"/deploy-*.log; do
      [ -f "$log" ] || continue
      lease=$(grep -oE 'matched: lease [0-9]+' "$log" | head -n1 | grep -oE '[0-9]+' || true)
      [ -n "$lease" ] || continue
      i=${log##*/deploy-}; i=${i%.log}
      "$AKASH" close "$lease" --reason "bench cleanup" --deployment "$DEPLOYMENT" \
        --key-file "$WORK/tenant-$i.mnemonic" >/dev/null 2>&1 && closed=$((closed + 1))
    done
    # The daemon removes the containers of each closed lease ("lease over" in its log).
    for i in $(seq 1 100); do
      [ "$(grep -c 'lease over' "$WORK/daemon.log" || true)" -ge "$closed" ] && break
      sleep 0.2
    done
    stop_daemon "$DAEMON_PID"
  fi
  for i in $(cat "$WORK/containers" 2>/dev/null); do docker rm -f "$i" >/dev/null 2>&1 || true; done
  if [ -n "$PROVIDER_ADDR" ]; then
    for i in $(docker ps -aq --filter "label=akash.provider=$PROVIDER_ADDR" 2>/dev/null); do docker rm -f "$i" >/dev/null 2>&1 || true; done
    for i in $(docker network ls -q --filter "label=akash.provider=$PROVIDER_ADDR" 2>/dev/null); do docker network rm "$i" >/dev/null 2>&1 || true; done
  fi
  if [ "$CHAIN_STARTED" -eq 1 ]; then
    log "stopping the bench chain"
    scripts/localnet.sh stop >&2 || true
  fi
  if [ "$rc" -ne 0 ]; then
    log "bench failed (exit $rc) after $((SECONDS - bench_started)) s; logs kept in $WORK"
  else
    # The logs of the last run stay in the bench home (the next run's fresh start clears it).
    mkdir -p "$AKASH_LOCALNET_HOME/bench-logs"
    cp "$WORK"/*.log "$AKASH_LOCALNET_HOME/bench-logs/" 2>/dev/null || true
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------ set-up

log "Docker engine and the workload image"
scripts/docker.sh ensure
scripts/make-test-image.sh
log "release build of akash and akash-provider"
# What is measured: the sources as they are at the build.
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain -- provider-daemon tenant-cli crates ':!*.md' 2>/dev/null)" ] ||
  COMMIT="$COMMIT (with uncommitted changes in provider-daemon/, tenant-cli/ or crates/)"
cargo build --release --locked -q -p akash-cli -p akash-provider
AKASH="$CARGO_TARGET_DIR/release/akash"
PROVIDER="$CARGO_TARGET_DIR/release/akash-provider"

log "starting the bench chain ($AKASH_LOCALNET_CHAIN_ID, home $AKASH_LOCALNET_HOME, rpc port $AKASH_LOCALNET_RPC_PORT)"
CHAIN_STARTED=1
scripts/localnet.sh start --fresh >&2
eval "$(scripts/localnet.sh env)"
. scripts/lib/chain.sh
. scripts/lib/bench.sh
DEPLOYMENT="$AKASH_LOCALNET_HOME/deployment-bench-daemon.json"
scripts/deploy.sh "$DEPLOYMENT" >/dev/null
TOKEN=$(jq -r .contracts.token "$DEPLOYMENT") MARKET=$(jq -r .contracts.market "$DEPLOYMENT")

log "$LEASES tenant keys, funded by governance"
jq -r '.[] | select(.name == "provider1") | .mnemonic' "$AKASH_LOCALNET_ACCOUNTS" >"$WORK/provider.mnemonic"
PROVIDER_ADDR=$(key_addr provider1)
tenants=()
for i in $(seq 1 "$LEASES"); do
  out=$(wasmd_cli keys add "tenant-$i" --keyring-backend test --keyring-dir "$WORK/keyring" --output json 2>&1 | grep -E '^\{')
  jq -r .mnemonic <<<"$out" >"$WORK/tenant-$i.mnemonic"
  tenants+=("$(jq -r .address <<<"$out")")
done
submit_tx bank multi-send governance "${tenants[@]}" "${FEE_FUNDS}$AKASH_LOCALNET_DENOM" >/dev/null ||
  die "funding the tenant keys with fee tokens failed"
for addr in "${tenants[@]}"; do
  execute governance "$TOKEN" "{\"mint\":{\"recipient\":\"$addr\",\"amount\":\"$TENANT_FUNDS\"}}" >/dev/null ||
    die "minting for $addr failed"
done

log "registering the provider (akash-provider register)"
GATEWAY_PORT=$(free_port)
provider_config "$WORK/provider-data" "$DEPLOYMENT" "$WORK/provider.mnemonic" "$GATEWAY_PORT" >"$WORK/provider.toml"
"$PROVIDER" register --config "$WORK/provider.toml" --stake "$STAKE" 2>"$WORK/register.log" >&2 ||
  { cat "$WORK/register.log" >&2; die "akash-provider register failed"; }

# ------------------------------------------------------------------------------ measurements

log "starting akash-provider run (release)"
start_daemon "$PROVIDER" "$WORK/provider.toml" "$WORK/daemon.log" "$GATEWAY_PORT" ||
  { tail -n 20 "$WORK/daemon.log" >&2; die "the daemon exited or did not listen within 30 s"; }

# status_kb FIELD: a field of /proc/PID/status of the daemon, in kB.
status_kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$DAEMON_PID/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
mib2() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
STAGES=()   # "name|leases|rss_kb|hwm_kb|threads"
# sample STAGE LEASES: BENCH_SAMPLES samples one second apart; the median VmRSS and the last
# VmHWM are kept.
sample() {
  local name=$1 leases=$2 i samples=() rss hwm threads
  kill -0 "$DAEMON_PID" 2>/dev/null || die "the daemon is gone (log: $WORK/daemon.log)"
  for i in $(seq 1 "$SAMPLES"); do
    samples+=("$(status_kb VmRSS)")
    [ "$i" -eq "$SAMPLES" ] || sleep 1
  done
  hwm=$(status_kb VmHWM)
  threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$DAEMON_PID/status")
  rss=$(printf '%s\n' "${samples[@]}" | median)
  STAGES+=("$name|$leases|${rss%.*}|$hwm|$threads")
  printf '    %-32s VmRSS %7s MiB  VmHWM %7s MiB  threads %s\n' "$name" "$(mib "$rss")" "$(mib "$hwm")" "$threads" >&2
}

# deploy_one I: tenant I deploys $SDL; its progress lines, each with the time it was printed,
# go to deploy-I.log; then the printed URL is polled until it answers (answer-I: the time).
deploy_one() {
  local i=$1 url n
  {
    "$AKASH" deploy "$SDL" --deployment "$DEPLOYMENT" --key-file "$WORK/tenant-$i.mnemonic" && rc=0 || rc=$?
    echo "akash deploy exited with $rc"
  } 2>&1 | while IFS= read -r line; do printf '%s %s\n' "$(now)" "$line"; done >"$WORK/deploy-$i.log"
  grep -q 'akash deploy exited with 0' "$WORK/deploy-$i.log" || return 1
  url=$(grep -oE '^[0-9.]+ +[a-z0-9-]+: https?://[0-9.]+:[0-9]+' "$WORK/deploy-$i.log" | head -n1 | grep -oE 'https?://.*') ||
    return 1
  echo "$url" >"$WORK/url-$i"
  for n in $(seq 1 300); do
    if curl -fsS --max-time 2 "$url" >/dev/null 2>&1; then
      now >"$WORK/answer-$i"
      return 0
    fi
    sleep 0.1
  done
  return 1
}
deploy_failed() { # deploy_failed I: shows what went wrong and stops the bench
  log "deployment $1 failed; its output:"
  cut -d' ' -f2- "$WORK/deploy-$1.log" >&2 || true
  tail -n 20 "$WORK/daemon.log" >&2
  die "deployment $1 of $SDL did not answer"
}

log "at rest: ${IDLE_SECS} s idle after start-up"
sleep "$IDLE_SECS"
sample "at rest (${IDLE_SECS} s after start-up)" 0

log "1 lease: tenant 1 deploys $SDL"
deploy_one 1 || deploy_failed 1
sleep "$SETTLE_SECS"
sample "1 lease running" 1

log "$LEASES leases: tenants 2..$LEASES deploy $SDL at the same time"
pids=()
for i in $(seq 2 "$LEASES"); do
  deploy_one "$i" &
  pids+=("$!")
done
for i in $(seq 2 "$LEASES"); do wait "${pids[$((i - 2))]}" || deploy_failed "$i"; done
# The container behind each URL (host ports are unique on the host, whatever other daemons share
# the engine).
for i in $(seq 1 "$LEASES"); do
  port=$(sed 's/.*://' "$WORK/url-$i")
  docker ps -a --no-trunc --format '{{.ID}} {{.Ports}}' | awk -v p="127.0.0.1:$port->" 'index($0, p) { print $1 }'
done >"$WORK/containers"
running=$(xargs -r docker inspect -f '{{.State.Status}}' <"$WORK/containers" | grep -c '^running$' || true)
sleep "$SETTLE_SECS"
sample "$LEASES leases running" "$LEASES"

# ------------------------------------------------------------------------------ timings

ROWS=()   # "i|order|lease|chain_order_to_lease|cli_order_to_lease|lease_to_http"
line_time() { grep -E "$2" "$WORK/deploy-$1.log" | head -n1 | cut -d' ' -f1; }
diff_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
for i in $(seq 1 "$LEASES"); do
  order_id=$(grep -oE 'order [0-9]+ created' "$WORK/deploy-$i.log" | head -n1 | grep -oE '[0-9]+')
  lease_id=$(grep -oE 'matched: lease [0-9]+' "$WORK/deploy-$i.log" | head -n1 | grep -oE '[0-9]+')
  created=$(query "$MARKET" "{\"order\":{\"order_id\":$order_id}}" | jq -r .created_at)
  started=$(query "$MARKET" "{\"lease\":{\"lease_id\":$lease_id}}" | jq -r .started_at)
  ROWS+=("$i|$order_id|$lease_id|$(awk -v a="$created" -v b="$started" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')|$(
    diff_secs "$(line_time "$i" "order $order_id created")" "$(line_time "$i" "matched: lease $lease_id")")|$(
    diff_secs "$(line_time "$i" "matched: lease $lease_id")" "$(cat "$WORK/answer-$i")")")
done
column_of() { local row; for row in "${ROWS[@]}"; do cut -d'|' -f"$1" <<<"$row"; done; }
stats() { # stats COLUMN: "median | min | max"
  local values
  values=$(column_of "$1" | sort -n)
  printf '%s | %s | %s' "$(median <<<"$values")" "$(head -n1 <<<"$values")" "$(tail -n1 <<<"$values")"
}
BID_WINDOW=$(query "$MARKET" '{"order":{"order_id":1}}' | jq -r .spec.bid_window_secs)

# ------------------------------------------------------------------------------ close all

log "closing the $LEASES leases"
for i in $(seq 1 "$LEASES"); do
  lease_id=$(cut -d'|' -f3 <<<"${ROWS[$((i - 1))]}")
  "$AKASH" close "$lease_id" --deployment "$DEPLOYMENT" --key-file "$WORK/tenant-$i.mnemonic" >/dev/null ||
    die "closing lease $lease_id failed"
done
containers_left() {
  local c
  for c in $(cat "$WORK/containers"); do
    if docker inspect "$c" >/dev/null 2>&1; then echo "$c"; fi
  done
}
for i in $(seq 1 150); do
  [ -z "$(containers_left)" ] && break
  sleep 0.2
done
left=$(containers_left | wc -l)
sleep "$SETTLE_SECS"
sample "after closing the $LEASES leases" 0

# ------------------------------------------------------------------------------ report

stage_field() { cut -d'|' -f"$2" <<<"${STAGES[$1]}"; }
RSS_REST=$(stage_field 0 3) RSS_ONE=$(stage_field 1 3) RSS_ALL=$(stage_field 2 3)
PER_LEASE_KB=$(awk -v a="$RSS_ONE" -v b="$RSS_ALL" -v n="$LEASES" 'BEGIN { printf "%.0f", (b - a) / (n - 1) }')
FIRST_LEASE_KB=$((RSS_ONE - RSS_REST))
memory_table() {
  local s
  printf '| stage | leases | VmRSS (MiB) | VmHWM (MiB) | threads |\n| --- | ---: | ---: | ---: | ---: |\n'
  for s in "${!STAGES[@]}"; do
    printf '| %s | %s | %s | %s | %s |\n' "$(stage_field "$s" 1)" "$(stage_field "$s" 2)" \
      "$(mib "$(stage_field "$s" 3)")" "$(mib "$(stage_field "$s" 4)")" "$(stage_field "$s" 5)"
  done
  printf '| increment per lease, 1 -> %s leases | | %s (%s KiB) | | |\n' "$LEASES" "$(mib2 "$PER_LEASE_KB")" "$PER_LEASE_KB"
  printf '| increment of the first lease, at rest -> 1 lease | | %s (%s KiB) | | |\n' "$(mib2 "$FIRST_LEASE_KB")" "$FIRST_LEASE_KB"
}
timing_table() {
  printf '| over %s deployments (seconds) | median | min | max |\n| --- | ---: | ---: | ---: |\n' "$LEASES"
  printf '| order -> lease, block times (order `created_at` -> lease `started_at`; bid window %s s) | %s |\n' "$BID_WINDOW" "$(stats 4)"
  printf '| order -> lease, CLI progress lines ("order N created" -> "matched: lease M") | %s |\n' "$(stats 5)"
  printf '| lease -> HTTP answering ("matched: lease M" line -> first GET of the printed URL that answered) | %s |\n' "$(stats 6)"
}
deployments_table() {
  local row
  printf '| tenant | order | lease | order -> lease, chain (s) | order -> lease, CLI (s) | lease -> HTTP (s) |\n'
  printf '| ---: | ---: | ---: | ---: | ---: | ---: |\n'
  for row in "${ROWS[@]}"; do printf '| %s |\n' "${row//|/ | }"; done
}
TOTAL_SECS=$((SECONDS - bench_started))
CPU=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || true)
DOCKER_VERSION=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo unknown)

printf '\nMemory of the akash-provider process (pid %s, release build)\n\n' "$DAEMON_PID"
memory_table
printf '\nTimings\n\n'
timing_table
printf '\n'
deployments_table
printf '\n%s of %s containers running at the %s-lease stage; %s left after closing; total runtime %s s\n' \
  "$running" "$LEASES" "$LEASES" "$left" "$TOTAL_SECS"
[ "$running" -eq "$LEASES" ] || die "expected $LEASES running containers, saw $running"
[ "$left" -eq 0 ] || die "$left containers left after closing every lease"

if [ -n "$BENCH_OUTPUT" ]; then
  mkdir -p "$(dirname "$BENCH_OUTPUT")"
  cat >"$WORK/section.md" <<EOF
## Provider daemon

Memory of one real \`akash-provider run\` process and the deployment latencies it gives, on a real
wasmd chain with the real Docker engine, measured by
[\`scripts/bench-daemon.sh\`](../scripts/bench-daemon.sh).

### How to run

\`\`\`sh
scripts/bench-daemon.sh                    # 10 leases of examples/web.yaml; rewrites this section
BENCH_LEASES=20 scripts/bench-daemon.sh
BENCH_OUTPUT= scripts/bench-daemon.sh      # print only, leave this file alone
\`\`\`

It builds \`akash\` and \`akash-provider\` in release mode, starts its own chain
(\`scripts/localnet.sh start --fresh\` with home \`~/.cache/akash-localnet-bench-daemon\`, chain id
\`akash-bench-daemon\`, ports RPC 26957, P2P 36956, gRPC 39390, API 31617), deploys the contracts,
registers \`provider1\` with \`akash-provider register\` (gateway on a free port of 127.0.0.1) and
starts one \`akash-provider run\` (default settings: lease check and order scan every 30 s).
Each deployment is \`akash deploy $SDL\` from a tenant key of its own (fresh keys, funded by the
\`governance\` key); the first runs alone, the other $((LEASES - 1)) at the same time. The runtime
publishes every global port on an ephemeral host port of 127.0.0.1, so the copies of one SDL
never collide on a port. At the end every lease is closed, and the daemon and the chain are
stopped (also on failure or Ctrl-C).

- Memory: \`VmRSS\` and \`VmHWM\` (peak RSS) of \`/proc/PID/status\`. A stage's VmRSS is the median of
  $SAMPLES samples one second apart, taken ${SETTLE_SECS} s after its last deployment answered
  (the "at rest" stage: ${IDLE_SECS} s after the gateway listened, before any order). The
  per-lease increment is (VmRSS at $LEASES leases - VmRSS at 1 lease) / $((LEASES - 1)). Memory the
  daemon frees once the leases are closed stays with the allocator (glibc malloc keeps it for
  reuse), so the last stage shows what a closed lease leaves, not a leak by itself.
- Order -> lease includes the SDL's bid window: the CLI and the daemon both try the match
  once the window has closed on chain.
- Lease -> HTTP answering: from the moment the CLI printed "matched: lease M" to the first
  successful GET of the URL it printed (polled every 0.1 s once \`akash deploy\` finished, right
  after it printed the URL): manifest upload and verification, network and container creation,
  the CLI's status polling (every 0.5 s) and httpd's start.

### Last run

- date: $started_utc
- commit: $COMMIT
- machine: $(nproc) CPUs, ${CPU:-unknown CPU}; Docker $DOCKER_VERSION; wasmd single node, \`timeout_commit\` 300ms
- load average (1, 5, 15 min) at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg)
  (other work on the machine shows in the latencies more than in the memory)
- SDL: \`$SDL\`, $LEASES deployments; total runtime: $TOTAL_SECS s

$(memory_table)

$(timing_table)

Each deployment (tenant 1 alone, then the others at the same time):

$(deployments_table)
EOF
  bench_section_put "$BENCH_OUTPUT" daemon "$WORK/section.md"
  log "section \"Provider daemon\" written to $BENCH_OUTPUT"
fi
log "done in $((SECONDS - bench_started)) s; daemon and CLI logs in $AKASH_LOCALNET_HOME/bench-logs"
