# Helpers for the bench scripts. For scripts/bench-gas.sh: many transactions from many keys at
# once, checked through the node's RPC with curl (one wasmd process per transaction is the slow
# part, ~0.3 s each). For every bench: its own section of benches/README.md (at the end).
# Needs `eval "$(scripts/localnet.sh env)"` and scripts/lib/chain.sh first, and these set:
#   BENCH_KEYRING   directory of the bench keyring (test backend), separate from the localnet's
#   BENCH_JOBS      parallel wasmd processes
#   BENCH_REGISTRY, BENCH_MARKET, BENCH_PEM_JSON (the certificate as a JSON string),
#   BENCH_RESOURCES (JSON), BENCH_REGISTER_GAS, BENCH_BID_GAS (fixed gas limits)

bench_log() { printf '==> %s\n' "$*" >&2; }

# Background jobs (progress reporters) the bench started; the bench's exit trap ends them.
BENCH_BG_PIDS=()

bench_key_name() { printf 'bench-%04d' "$1"; }

# Block time of the latest block, unix nanoseconds (what the contracts see as env.block.time
# in the next block at the earliest).
bench_now_nanos() {
  local t
  t=$(curl -sf --max-time 5 "$AKASH_LOCALNET_RPC_URL/status" | jq -r '.result.sync_info.latest_block_time') ||
    return 1
  date -u -d "$t" +%s%N
}

# bench_wait_until NANOS LABEL: waits until the latest block time reaches NANOS.
bench_wait_until() {
  local target=$1 label=$2 now last=-1 left
  while :; do
    now=$(bench_now_nanos) || { sleep 1; continue; }
    [ "$now" -ge "$target" ] && return 0
    left=$(((target - now) / 1000000000 + 1))
    if [ "$last" -lt 0 ] || [ $((last - left)) -ge 15 ]; then
      bench_log "waiting ${left} s for $label"
      last=$left
    fi
    sleep 0.5
  done
}

# bench_ensure_keys COUNT: keys bench-0001..COUNT in $BENCH_KEYRING (created in parallel when
# missing; kept across runs). Prints "name address" lines, in order.
bench_ensure_keys() {
  local count=$1 i missing=() list done_file reporter
  mkdir -p "$BENCH_KEYRING"
  list=$(mktemp)
  "$WASMD" keys list --keyring-backend test --home "$BENCH_KEYRING" --output json >"$list" 2>/dev/null || echo '[]' >"$list"
  local -A have=()
  while read -r name; do [ -n "$name" ] && have[$name]=1; done < <(jq -r '.[].name' "$list" 2>/dev/null)
  for ((i = 1; i <= count; i++)); do
    [ -n "${have[$(bench_key_name "$i")]:-}" ] || missing+=("$(bench_key_name "$i")")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    bench_log "creating ${#missing[@]} keys in $BENCH_KEYRING ($BENCH_JOBS in parallel; kept for the next run)"
    done_file=$(mktemp)
    (while sleep 5; do printf '    keys: %d/%d created\n' "$(wc -l <"$done_file")" "${#missing[@]}" >&2; done) &
    reporter=$!
    BENCH_BG_PIDS+=("$reporter")
    printf '%s\n' "${missing[@]}" |
      xargs -P "$BENCH_JOBS" -I{} sh -c '"$0" keys add "$1" --keyring-backend test --home "$2" --output json >/dev/null 2>&1 && echo "$1"' \
        "$WASMD" {} "$BENCH_KEYRING" >>"$done_file" || true
    kill "$reporter" 2>/dev/null || true
    wait "$reporter" 2>/dev/null || true
    rm -f "$done_file"
    "$WASMD" keys list --keyring-backend test --home "$BENCH_KEYRING" --output json >"$list"
  fi
  jq -r --argjson count "$count" '
    (map({(.name): .address}) | add // {}) as $addr
    | range(1; $count + 1) | ("bench-" + (("000" + tostring)[-4:])) as $n
    | if $addr[$n] then "\($n) \($addr[$n])" else error("key \($n) missing") end' "$list"
  local rc=$?
  rm -f "$list"
  return $rc
}

# bench_worker OP KEY ARGS...: one transaction from KEY of the bench keyring, fixed gas limit,
# sync broadcast (returns once CheckTx passed, without waiting for the block). Prints one line:
# "OP KEY TXHASH", or "OP KEY FAILED reason" after 4 tries.
#   register KEY              registry Register (no attributes, the test certificate)
#   bid KEY ORDER_ID PRICE    market PlaceBid
bench_worker() {
  local op=$1 key=$2 contract msg gas out json code try
  case "$op" in
    register)
      contract=$BENCH_REGISTRY gas=$BENCH_REGISTER_GAS
      msg=$(printf '{"register":{"host_uri":"https://%s.bench.localnet.test:8443","attributes":[],"root_certificate_pem":%s}}' \
        "$key" "$BENCH_PEM_JSON") ;;
    bid)
      contract=$BENCH_MARKET gas=$BENCH_BID_GAS
      msg=$(printf '{"place_bid":{"order_id":%s,"price_per_second":"%s","resources":%s}}' "$3" "$4" "$BENCH_RESOURCES") ;;
    *) printf '%s %s FAILED unknown operation\n' "$op" "$key"; return 0 ;;
  esac
  for try in 1 2 3 4; do
    out=$("$WASMD" tx wasm execute "$contract" "$msg" --from "$key" --gas "$gas" \
      --keyring-backend test --home "$BENCH_KEYRING" --node "$AKASH_LOCALNET_NODE" \
      --chain-id "$AKASH_LOCALNET_CHAIN_ID" --gas-prices "$AKASH_LOCALNET_GAS_PRICES" \
      --broadcast-mode sync -y --output json 2>&1) || true
    json=$(grep -E '^\{' <<<"$out" | tail -n1)
    code=$(jq -r '.code // empty' <<<"$json" 2>/dev/null) || code=""
    if [ "$code" = 0 ]; then
      printf '%s %s %s\n' "$op" "$key" "$(jq -r .txhash <<<"$json")"
      return 0
    fi
    sleep "$try"
  done
  printf '%s %s FAILED %s\n' "$op" "$key" "$(printf '%s' "$out" | tr '\n\t' '  ' | cut -c1-300)"
}

# bench_bulk LABEL OUT_FILE: runs bench_worker for every line of stdin ("OP KEY ARGS...") with
# $BENCH_JOBS in parallel, appending the workers' lines to OUT_FILE; reports progress every 5 s.
bench_bulk() {
  local label=$1 out=$2 input total reporter
  input=$(cat)
  total=$(grep -c . <<<"$input" || true)
  : >"$out"
  (while sleep 5; do printf '    %s: %d/%d broadcast\n' "$label" "$(wc -l <"$out")" "$total" >&2; done) &
  reporter=$!
  BENCH_BG_PIDS+=("$reporter")
  export -f bench_worker
  export WASMD LD_LIBRARY_PATH BENCH_KEYRING BENCH_REGISTRY BENCH_MARKET BENCH_PEM_JSON BENCH_RESOURCES \
    BENCH_REGISTER_GAS BENCH_BID_GAS AKASH_LOCALNET_NODE AKASH_LOCALNET_CHAIN_ID AKASH_LOCALNET_GAS_PRICES
  printf '%s\n' "$input" | xargs -P "$BENCH_JOBS" -L 1 bash -c 'bench_worker "$@"' _ >>"$out" || true
  kill "$reporter" 2>/dev/null || true
  wait "$reporter" 2>/dev/null || true
  printf '    %s: %d/%d broadcast\n' "$label" "$(grep -vc ' FAILED ' "$out" || true)" "$total" >&2
}

# bench_tx_results: tx hashes on stdin; for those already in a block prints
# "HASH<TAB>CODE<TAB>GAS_USED<TAB>LOG" (one curl per 100 hashes, answers read in order).
bench_tx_results() {
  sed "s#^#${AKASH_LOCALNET_RPC_URL}/tx?hash=0x#" | xargs -r -n 100 curl -s --max-time 60 |
    jq -r 'select(.result != null) | [.result.hash, (.result.tx_result.code // 0),
      (.result.tx_result.gas_used // "0"), ((.result.tx_result.log // "") | gsub("\\s+"; " ") | .[0:300])] | @tsv' \
      2>/dev/null || true
}

# bench_wait_committed LABEL OUT_FILE RESULT_FILE: waits until every transaction of OUT_FILE
# (bench_bulk's lines) is in a block, then writes "OP<TAB>KEY<TAB>HASH<TAB>CODE<TAB>GAS_USED<TAB>LOG"
# for each line of OUT_FILE to RESULT_FILE (CODE "broadcast" for a transaction never accepted,
# "missing" for one not in a block after 90 s without progress).
bench_wait_committed() {
  local label=$1 out=$2 res=$3 total found=0 last=-1 idle_since=$SECONDS pending
  total=$(awk '$3 != "FAILED"' "$out" | wc -l)
  : >"$res.found"
  while [ "$found" -lt "$total" ]; do
    pending=$(awk -F'\t' 'FILENAME == ARGV[1] { seen[$1] = 1; next } $3 != "FAILED" && !($3 in seen) { print $3 }' \
      "$res.found" FS=' ' "$out")
    [ -z "$pending" ] || printf '%s\n' "$pending" | bench_tx_results >>"$res.found"
    found=$(wc -l <"$res.found")
    if [ "$found" -ne "$last" ]; then
      printf '    %s: %d/%d in a block\n' "$label" "$found" "$total" >&2
      last=$found idle_since=$SECONDS
    elif [ $((SECONDS - idle_since)) -ge 90 ]; then
      printf 'warning: %s: %d transactions still not in a block after 90 s\n' "$label" $((total - found)) >&2
      break
    fi
    [ "$found" -ge "$total" ] || sleep 1
  done
  awk -F'\t' 'FILENAME == ARGV[1] { r[$1] = $2 "\t" $3 "\t" $4; next }
    {
      split($0, f, " ")
      if (f[3] == "FAILED") { line = $0; sub(/^[^ ]+ [^ ]+ FAILED /, "", line); print f[1] "\t" f[2] "\t-\tbroadcast\t0\t" line }
      else if (f[3] in r) print f[1] "\t" f[2] "\t" f[3] "\t" r[f[3]]
      else print f[1] "\t" f[2] "\t" f[3] "\tmissing\t0\t"
    }' "$res.found" "$out" >"$res"
  rm -f "$res.found"
}

# bench_failures RESULT_FILE: the lines of a bench_wait_committed result that did not succeed.
bench_failures() { awk -F'\t' '$4 != "0"' "$1"; }

# Sections of benches/README.md owned by one bench each, between the lines
# "<!-- bench:NAME begin ... -->" and "<!-- bench:NAME end -->". A script that rewrites the
# whole file keeps the others' sections (bench_section_get before, append after).

# bench_section_get FILE [NAME]: the section NAME (every section without NAME) with its marker
# lines, or nothing.
bench_section_get() {
  [ -f "$1" ] || return 0
  awk -v name="${2:-}" '
    $0 ~ "^<!-- bench:" (name == "" ? "[A-Za-z0-9_-]+" : name) " begin" { inside = 1 }
    inside { print }
    inside && $0 ~ "^<!-- bench:" (name == "" ? "[A-Za-z0-9_-]+" : name) " end -->" { inside = 0; print "" }' "$1"
}

# bench_section_put FILE NAME CONTENT_FILE: replaces the section NAME of FILE by the marker
# lines around CONTENT_FILE's text, or appends it when FILE has none.
bench_section_put() {
  local file=$1 name=$2 content=$3 tmp
  tmp=$(mktemp)
  {
    printf '<!-- bench:%s begin: written by scripts/bench-%s.sh, kept by the other bench scripts -->\n' "$name" "$name"
    cat "$content"
    printf '<!-- bench:%s end -->\n' "$name"
  } >"$tmp.section"
  if [ -f "$file" ] && grep -q "^<!-- bench:$name begin" "$file"; then
    awk -v name="$name" -v section="$tmp.section" '
      index($0, "<!-- bench:" name " begin") == 1 { inside = 1; while ((getline line < section) > 0) print line; next }
      inside && index($0, "<!-- bench:" name " end -->") == 1 { inside = 0; next }
      !inside { print }' "$file" >"$tmp"
    cat "$tmp" >"$file"
  else
    { [ ! -s "$file" ] || printf '\n'; cat "$tmp.section"; } >>"$file"
  fi
  rm -f "$tmp" "$tmp.section"
}
