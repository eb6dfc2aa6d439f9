#!/usr/bin/env bash
# A local single-node wasmd chain (CosmWasm, cosmwasm-std 2.x contracts) for tests and benchmarks.
#
#   scripts/localnet.sh install        build wasmd from the Go module proxy (cached; skipped when present)
#   scripts/localnet.sh start [--fresh] install if needed, init the home if needed, start the node
#   scripts/localnet.sh stop           stop the node and wait until its process is gone
#   scripts/localnet.sh status         height and pid, or "not running" (exit 1)
#   scripts/localnet.sh env            export lines for `eval "$(scripts/localnet.sh env)"`
#   scripts/localnet.sh reset          stop the node and delete its home (next start re-inits)
#   scripts/localnet.sh wasmd ARGS...  run the cached wasmd with the right library path
#
# See docs/LOCALNET.md. Every setting below can be overridden from the environment.
set -euo pipefail

AKASH_TOOLS="${AKASH_TOOLS:-$HOME/.cache/akash-tools}"
# Pinned release; the fallbacks are tried in order when the pinned one cannot be downloaded or built.
WASMD_VERSION="${AKASH_WASMD_VERSION:-v0.61.14}"
WASMD_FALLBACK_VERSIONS="${AKASH_WASMD_FALLBACK_VERSIONS-v0.60.8}"
WASMD_MODULE="github.com/CosmWasm/wasmd"
# bytedance/sonic 1.14 (a wasmd v0.61 dependency) does not compile with Go >= 1.26, so the build
# runs with the Go release wasmd itself is built with; `go` fetches it from the module proxy
# (module golang.org/toolchain) once. "+auto" still lets a newer go.mod requirement win.
WASMD_GO_TOOLCHAIN="${AKASH_WASMD_GO_TOOLCHAIN:-go1.24.13}"
BIN_DIR="$AKASH_TOOLS/bin"
WASMD="$BIN_DIR/wasmd"
WASMD_STAMP="$BIN_DIR/wasmd.version"

LN_HOME="${AKASH_LOCALNET_HOME:-$HOME/.cache/akash-localnet}"
CHAIN_ID="${AKASH_LOCALNET_CHAIN_ID:-akash-localnet}"
DENOM="ustake"                    # staking, gas fees
EXTRA_DENOM="uakt"                # a second native denom every test account holds as well
ACCOUNT_COINS="1000000000000000${DENOM},1000000000000000${EXTRA_DENOM}"  # 1e9 tokens of each
VALIDATOR_BOND="100000000000${DENOM}"
MIN_GAS_PRICES="${AKASH_LOCALNET_MIN_GAS_PRICES:-0.0025${DENOM}}"
GAS_PRICES="${AKASH_LOCALNET_GAS_PRICES:-0.025${DENOM}}"
RPC_PORT="${AKASH_LOCALNET_RPC_PORT:-26657}"
P2P_PORT="${AKASH_LOCALNET_P2P_PORT:-36656}"
GRPC_PORT="${AKASH_LOCALNET_GRPC_PORT:-39090}"
API_PORT="${AKASH_LOCALNET_API_PORT:-31317}"
TIMEOUT_COMMIT="${AKASH_LOCALNET_TIMEOUT_COMMIT:-300ms}"
START_TIMEOUT="${AKASH_LOCALNET_START_TIMEOUT:-90}"   # seconds to wait for blocks to advance
TEST_KEYS=(tenant provider1 provider2 provider3 governance stranger)
# Bump when the way the home is initialised changes: an older home is then re-initialised.
HOME_LAYOUT=1

PID_FILE="$LN_HOME/wasmd.pid"
LOG_FILE="$LN_HOME/wasmd.log"
MARKER="$LN_HOME/localnet.initialized"
NODE_ID_FILE="$LN_HOME/node_id"
RPC_URL="http://127.0.0.1:${RPC_PORT}"
NODE="tcp://127.0.0.1:${RPC_PORT}"

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

lib_path() { printf '%s%s' "$BIN_DIR" "${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; }
run_wasmd() { LD_LIBRARY_PATH="$(lib_path)" "$WASMD" "$@"; }

# --------------------------------------------------------------------------------------- install

accepted_versions() { printf '%s\n' "$WASMD_VERSION" $WASMD_FALLBACK_VERSIONS; }

binary_id() { stat -c '%s %Y' "$WASMD" 2>/dev/null; }

# Succeeds when the cached binary is one of the accepted versions, is the file the build wrote
# (size and mtime in the stamp) and has its libwasmvm beside it. Cheap: no wasmd process is run.
wasmd_installed() {
  [[ -x "$WASMD" && -f "$WASMD_STAMP" ]] || return 1
  local stamped
  stamped="$(head -n1 "$WASMD_STAMP")"
  accepted_versions | grep -qxF -- "$stamped" || return 1
  grep -qxF "binary=$(binary_id)" "$WASMD_STAMP" || return 1
  compgen -G "$BIN_DIR/libwasmvm*.so" >/dev/null
}

# build_wasmd VERSION: builds inside a writable copy of the released module (its replace
# directives only apply there) and installs wasmd plus libwasmvm into $BIN_DIR.
build_wasmd() {
  local version="$1" started=$SECONDS work src dir wasmvm_mod wasmvm_dir lib ldflags pid rc
  local build_log="$AKASH_TOOLS/wasmd-build-$version.log"
  work="$(mktemp -d "${TMPDIR:-/tmp}/wasmd-build.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'; trap - RETURN" RETURN

  log "[1/4] downloading $WASMD_MODULE@$version from the Go module proxy"
  dir="$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$WASMD_MODULE@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')" || true
  [[ -n "$dir" && -f "$dir/go.mod" ]] || { warn "go mod download $WASMD_MODULE@$version failed"; return 1; }
  src="$work/src"
  cp -R "$dir" "$src" && chmod -R u+w "$src"

  # Same flags as wasmd's Makefile (netgo, -checklinkname=0 for bytedance/sonic with Go >= 1.24),
  # minus ledger; plus -s -w (no DWARF: smaller cache) and an $ORIGIN rpath so the binary finds
  # the libwasmvm copied beside it.
  ldflags="-checklinkname=0 -s -w"
  ldflags+=" -X github.com/cosmos/cosmos-sdk/version.Name=wasm"
  ldflags+=" -X github.com/cosmos/cosmos-sdk/version.AppName=wasmd"
  ldflags+=" -X github.com/cosmos/cosmos-sdk/version.Version=${version#v}"
  ldflags+=" -X github.com/cosmos/cosmos-sdk/version.Commit=goproxy-${version}"
  ldflags+=" -X github.com/CosmWasm/wasmd/app.Bech32Prefix=wasm"
  ldflags+=" -X github.com/cosmos/cosmos-sdk/version.BuildTags=netgo"
  ldflags+=" -linkmode=external -extldflags '-Wl,-rpath,\$ORIGIN'"

  local -x GOTOOLCHAIN="${WASMD_GO_TOOLCHAIN}+auto" GOFLAGS=-buildvcs=false CGO_ENABLED=1
  log "[2/4] go build ./cmd/wasmd with $WASMD_GO_TOOLCHAIN (fetches the toolchain and dependencies, then compiles: about 10 min on 2 cores)"
  mkdir -p "$AKASH_TOOLS"
  (cd "$src" && exec go build -mod=readonly -trimpath -v -tags netgo -ldflags "$ldflags" \
      -o "$work/wasmd" ./cmd/wasmd) >"$build_log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 20
    kill -0 "$pid" 2>/dev/null &&
      log "      ... $(grep -c '^go: downloading' "$build_log" || true) modules downloaded, $(grep -cE '^[A-Za-z0-9._~/-]+$' "$build_log" || true) packages compiled, $((SECONDS - started)) s elapsed"
  done
  rc=0; wait "$pid" || rc=$?
  if [[ $rc -ne 0 || ! -x "$work/wasmd" ]]; then
    warn "go build of wasmd $version failed (exit $rc); errors from $build_log:"
    grep -vE '^[A-Za-z0-9._~/-]+$' "$build_log" | tail -n 30 >&2
    return 1
  fi

  log "[3/4] locating libwasmvm in the wasmvm Go module"
  wasmvm_mod="$(grep -oE 'github\.com/CosmWasm/wasmvm(/v[0-9]+)? v[^ ]+' "$src/go.mod" | head -n1 | cut -d' ' -f1)"
  wasmvm_dir="$(cd "$src" && go list -mod=readonly -m -f '{{.Dir}}' "$wasmvm_mod")" || true
  lib="$wasmvm_dir/internal/api/libwasmvm.$(uname -m).so"
  [[ -f "$lib" ]] || { warn "libwasmvm not found at $lib (module $wasmvm_mod)"; return 1; }

  log "[4/4] installing into $BIN_DIR"
  mkdir -p "$BIN_DIR"
  rm -f "$BIN_DIR"/libwasmvm*.so
  install -m 0644 "$lib" "$BIN_DIR/$(basename "$lib")"
  install -m 0755 "$work/wasmd" "$WASMD.new" && mv -f "$WASMD.new" "$WASMD"
  local got
  got="$(env -u LD_LIBRARY_PATH "$WASMD" version 2>&1)" ||
    { warn "the built wasmd does not run: $got"; rm -f "$WASMD"; return 1; }
  printf '%s\nbinary=%s\nwasmvm=%s %s\nbuilt=%s\ngo=%s\nseconds=%s\n' "$version" "$(binary_id)" \
    "$wasmvm_mod" "$(sed -n "s#^[[:space:]]*$wasmvm_mod \(v[^ ]*\).*#\1#p" "$src/go.mod" | head -n1)" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(cd "$src" && go env GOVERSION)" "$((SECONDS - started))" >"$WASMD_STAMP"
  rm -f "$build_log"
  log "wasmd $got built in $((SECONDS - started)) s ($(du -h "$WASMD" | cut -f1)), libwasmvm from $wasmvm_mod"
}

cmd_install() {
  local quiet="${1:-}"
  if wasmd_installed; then
    [[ -n "$quiet" ]] || log "wasmd $(head -n1 "$WASMD_STAMP") already installed at $WASMD"
    return 0
  fi
  command -v go >/dev/null || die "go (>= 1.21, for GOTOOLCHAIN) and the Go module proxy are needed to build wasmd"
  command -v gcc >/dev/null || command -v cc >/dev/null || die "a C compiler (gcc) is needed: wasmvm links through cgo"
  mkdir -p "$BIN_DIR"
  local lock_fd started=$SECONDS version
  exec {lock_fd}>"$BIN_DIR/.wasmd-install.lock"
  if ! flock -n "$lock_fd"; then
    log "another install of wasmd is running: waiting for it"
    flock -w 3600 "$lock_fd" || die "another install held $BIN_DIR/.wasmd-install.lock for an hour"
  fi
  if wasmd_installed; then   # another run built it while we waited for the lock
    exec {lock_fd}>&-; return 0
  fi
  for version in $(accepted_versions); do
    log "building wasmd $version into $BIN_DIR (not cached yet)"
    if build_wasmd "$version"; then
      log "install done in $((SECONDS - started)) s"
      exec {lock_fd}>&-; return 0
    fi
    warn "wasmd $version could not be built"
  done
  exec {lock_fd}>&-
  die "no wasmd version could be built (tried: $(accepted_versions | tr '\n' ' '))"
}

# ---------------------------------------------------------------------------------- node process

# PIDs of wasmd processes started for this home: the pid file's, and any other found in /proc
# whose command line is exactly the one cmd_start runs (in case the pid file was lost).
node_pids() {
  local pid f cmd
  {
    if [[ -f "$PID_FILE" ]]; then
      pid="$(<"$PID_FILE")"
      if [[ "$pid" =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]]; then
        cmd="$(tr '\0' ' ' 2>/dev/null </proc/"$pid"/cmdline)" || cmd=""
        if [[ "$cmd" == *"wasmd start --home $LN_HOME "* ]]; then echo "$pid"; fi
      fi
    fi
    for f in /proc/[0-9]*/cmdline; do
      cmd="$(tr '\0' ' ' 2>/dev/null <"$f")" || continue
      if [[ "$cmd" == "$WASMD start --home $LN_HOME "* ]]; then
        pid="${f#/proc/}"; echo "${pid%/cmdline}"
      fi
    done
  } | sort -un
}

# CometBFT node id of this home (from config/node_key.json; cached in $NODE_ID_FILE).
node_id() {
  if [[ ! -s "$NODE_ID_FILE" && -f "$LN_HOME/config/node_key.json" && -x "$WASMD" ]]; then
    run_wasmd comet show-node-id --home "$LN_HOME" >"$NODE_ID_FILE.tmp" 2>/dev/null &&
      mv -f "$NODE_ID_FILE.tmp" "$NODE_ID_FILE" || rm -f "$NODE_ID_FILE.tmp"
  fi
  cat "$NODE_ID_FILE" 2>/dev/null || true
}

rpc_status() { curl -sf --max-time 2 "$RPC_URL/status" 2>/dev/null; }

# Height reported by our node's RPC; empty when it does not answer, or when the node answering
# on that port is not the one of this home (another home with the same chain id, say).
rpc_height() {
  local s id
  s="$(rpc_status)" || return 0
  [[ "$s" == *"\"network\":\"$CHAIN_ID\""* ]] || return 0
  id="$(node_id)"
  [[ -n "$id" && "$s" == *"\"id\":\"$id\""* ]] || return 0
  sed -n 's/.*"latest_block_height":"\([0-9]*\)".*/\1/p' <<<"$s"
}

# Healthy = RPC answers for our chain id and the height advances within a few seconds.
node_healthy() {
  local h1 h2 i
  h1="$(rpc_height)"; [[ -n "$h1" ]] || return 1
  for i in $(seq 1 20); do
    sleep 0.25
    h2="$(rpc_height)"
    [[ -n "$h2" && "$h2" -gt "$h1" ]] && return 0
  done
  return 1
}

port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

stop_node() {
  local pids i
  pids="$(node_pids)"
  if [[ -z "$pids" ]]; then rm -f "$PID_FILE"; return 1; fi
  log "stopping wasmd (pid $(echo $pids))"
  kill -TERM $pids 2>/dev/null || true
  for i in $(seq 1 100); do
    [[ -z "$(node_pids)" ]] && break
    sleep 0.2
  done
  pids="$(node_pids)"
  if [[ -n "$pids" ]]; then
    warn "wasmd did not exit after 20 s, sending SIGKILL to $(echo $pids)"
    kill -KILL $pids 2>/dev/null || true
    for i in $(seq 1 50); do [[ -z "$(node_pids)" ]] && break; sleep 0.2; done
  fi
  pids="$(node_pids)"
  [[ -z "$pids" ]] || die "wasmd processes still alive: $pids"
  rm -f "$PID_FILE"
  return 0
}

# ----------------------------------------------------------------------------------- home setup

# toml_set FILE SECTION KEY VALUE: replace `KEY = ...` inside [SECTION] ("" = top level) with the
# raw TOML VALUE; fails when the key is not there (so a changed config format is noticed).
toml_set() {
  local file="$1" section="$2" key="$3" value="$4"
  awk -v sec="$section" -v key="$key" -v val="$value" '
    /^[[:space:]]*\[/ { s = $0; sub(/^[[:space:]]*\[+/, "", s); sub(/\].*$/, "", s); cur = s }
    !done && cur == sec && index($0, key) == 1 && substr($0, length(key) + 1) ~ /^[[:space:]]*=/ {
      print key " = " val; done = 1; next }
    { print }
    END { exit done ? 0 : 3 }' "$file" >"$file.tmp" ||
    { rm -f "$file.tmp"; die "$file: no key '$key' in section [${section}]"; }
  mv -f "$file.tmp" "$file"
}

# A fixed mnemonic per key name, so addresses stay the same across re-inits and machines.
# These keys are public knowledge: localnet only.
key_mnemonic() {
  local entropy="akash-localnet test key '$1' - deterministic, never use outside the localnet"
  printf '%s\ny\n' "$entropy" | run_wasmd keys mnemonic --unsafe-entropy 2>/dev/null | tail -n1
}

genesis_edit() {   # genesis_edit JQ_FILTER
  local g="$LN_HOME/config/genesis.json"
  jq "$1" "$g" >"$g.tmp" && mv -f "$g.tmp" "$g"
}

init_home() {
  command -v jq >/dev/null || die "jq is needed to edit genesis.json (apt-get install -y jq)"
  log "initialising $LN_HOME (chain-id $CHAIN_ID)"
  rm -rf "$LN_HOME"
  mkdir -p "$LN_HOME"
  local kr=(--keyring-backend test --home "$LN_HOME") name mnemonic addr
  run_wasmd init akash-localnet-node --chain-id "$CHAIN_ID" --default-denom "$DENOM" \
    --home "$LN_HOME" >"$LN_HOME/init.log" 2>&1 || { cat "$LN_HOME/init.log" >&2; die "wasmd init failed"; }

  local accounts_json="[]"
  for name in validator "${TEST_KEYS[@]}"; do
    mnemonic="$(key_mnemonic "$name")"
    [[ $(wc -w <<<"$mnemonic") -eq 24 ]] || die "could not derive a mnemonic for key $name: '$mnemonic'"
    printf '%s\n' "$mnemonic" | run_wasmd keys add "$name" --recover "${kr[@]}" >/dev/null 2>&1 ||
      die "wasmd keys add $name failed"
    addr="$(run_wasmd keys show "$name" -a "${kr[@]}")"
    run_wasmd genesis add-genesis-account "$addr" "$ACCOUNT_COINS" --home "$LN_HOME" >/dev/null 2>&1 ||
      die "wasmd genesis add-genesis-account $name failed"
    accounts_json="$(jq -c --arg n "$name" --arg a "$addr" --arg m "$mnemonic" \
      '. + [{name: $n, address: $a, mnemonic: $m}]' <<<"$accounts_json")"
  done
  jq . <<<"$accounts_json" >"$LN_HOME/accounts.json"

  run_wasmd genesis gentx validator "$VALIDATOR_BOND" --chain-id "$CHAIN_ID" "${kr[@]}" \
    >>"$LN_HOME/init.log" 2>&1 || { tail -n 20 "$LN_HOME/init.log" >&2; die "wasmd genesis gentx failed"; }
  run_wasmd genesis collect-gentxs --home "$LN_HOME" >>"$LN_HOME/init.log" 2>&1 ||
    { tail -n 20 "$LN_HOME/init.log" >&2; die "wasmd genesis collect-gentxs failed"; }

  # Anyone may upload and instantiate code (wasmd's default; set explicitly). Short gov periods.
  genesis_edit '.app_state.wasm.params.code_upload_access = {"permission": "Everybody", "addresses": []}
    | .app_state.wasm.params.instantiate_default_permission = "Everybody"
    | .app_state.gov.params.max_deposit_period = "30s"
    | .app_state.gov.params.voting_period = "30s"
    | .app_state.gov.params.expedited_voting_period = "15s"'
  run_wasmd genesis validate-genesis --home "$LN_HOME" >>"$LN_HOME/init.log" 2>&1 ||
    { tail -n 20 "$LN_HOME/init.log" >&2; die "genesis does not validate"; }

  rm -f "$NODE_ID_FILE"
  [[ -n "$(node_id)" ]] || die "wasmd comet show-node-id failed for $LN_HOME"
  home_stamp >"$MARKER.tmp"
  mv -f "$MARKER.tmp" "$MARKER"
}

# What makes a home reusable: made by this script (same layout), same wasmd release, same chain id.
home_stamp() {
  printf 'layout=%s\nwasmd=%s\nchain_id=%s\n' "$HOME_LAYOUT" "$(head -n1 "$WASMD_STAMP")" "$CHAIN_ID"
}

home_current() {
  [[ -f "$MARKER" && -f "$LN_HOME/config/genesis.json" && -f "$LN_HOME/config/node_key.json" ]] || return 1
  local line
  while IFS= read -r line; do
    grep -qxF -- "$line" "$MARKER" || return 1
  done < <(home_stamp)
}

# Node settings (ports, block timing, gas price): applied on every start, so changing them keeps
# the chain state.
configure_home() {
  local c="$LN_HOME/config/config.toml" a="$LN_HOME/config/app.toml" cl="$LN_HOME/config/client.toml"
  toml_set "$c" rpc laddr "\"tcp://127.0.0.1:${RPC_PORT}\""
  toml_set "$c" rpc pprof_laddr '""'
  toml_set "$c" rpc max_body_bytes 10000000
  toml_set "$c" rpc timeout_broadcast_tx_commit '"30s"'
  toml_set "$c" p2p laddr "\"tcp://127.0.0.1:${P2P_PORT}\""
  toml_set "$c" p2p pex false
  toml_set "$c" p2p addr_book_strict false
  toml_set "$c" p2p allow_duplicate_ip true
  toml_set "$c" mempool max_tx_bytes 5242880
  toml_set "$c" consensus timeout_propose '"500ms"'
  toml_set "$c" consensus timeout_propose_delta '"100ms"'
  toml_set "$c" consensus timeout_prevote '"200ms"'
  toml_set "$c" consensus timeout_prevote_delta '"100ms"'
  toml_set "$c" consensus timeout_precommit '"200ms"'
  toml_set "$c" consensus timeout_precommit_delta '"100ms"'
  toml_set "$c" consensus timeout_commit "\"${TIMEOUT_COMMIT}\""
  toml_set "$c" instrumentation prometheus false

  toml_set "$a" "" minimum-gas-prices "\"${MIN_GAS_PRICES}\""
  toml_set "$a" api enable true
  toml_set "$a" api address "\"tcp://127.0.0.1:${API_PORT}\""
  toml_set "$a" grpc enable true
  toml_set "$a" grpc address "\"127.0.0.1:${GRPC_PORT}\""

  toml_set "$cl" "" chain-id "\"${CHAIN_ID}\""
  toml_set "$cl" "" keyring-backend '"test"'
  toml_set "$cl" "" node "\"${NODE}\""
}

# ------------------------------------------------------------------------------------- commands

# Serialises start/stop/reset of one home (held until the script exits). The node must not
# inherit this fd, or it would hold the lock for its whole life: cmd_start's launch closes it.
HOME_LOCK_FD=""
lock_home() {
  mkdir -p "$(dirname "$LN_HOME")"
  exec {HOME_LOCK_FD}>"$(dirname "$LN_HOME")/.$(basename "$LN_HOME").lock"
  if ! flock -n "$HOME_LOCK_FD"; then
    log "another localnet.sh start/stop for $LN_HOME is running: waiting for it"
    flock -w 300 "$HOME_LOCK_FD" || die "the lock of $LN_HOME was held for 5 minutes"
  fi
}

show_log_tail() { printf -- '--- last 40 lines of %s ---\n' "$LOG_FILE" >&2; tail -n 40 "$LOG_FILE" >&2; }
first_log_error() {
  grep -m1 -E '^panic:|^Error:| ERR |ERR ' "$LOG_FILE" 2>/dev/null | cut -c1-300 || echo "see $LOG_FILE"
}

cmd_start() {
  local fresh=""
  case "${1:-}" in
    --fresh) fresh=1 ;;
    "") ;;
    *) die "start: unknown option $1 (use --fresh to wipe the chain state)" ;;
  esac
  cmd_install quiet
  lock_home

  if [[ -n "$(node_pids)" ]]; then
    if [[ -z "$fresh" ]] && node_healthy; then
      log "localnet already running and healthy: pid $(node_pids | head -n1), height $(rpc_height), rpc $RPC_URL"
      return 0
    fi
    [[ -n "$fresh" ]] && log "stopping the running node (--fresh)" || warn "wasmd for $LN_HOME is running but $RPC_URL does not show it producing blocks: restarting it"
    stop_node || true
  fi

  local p
  for p in "$RPC_PORT" "$P2P_PORT" "$GRPC_PORT" "$API_PORT"; do
    port_in_use "$p" && die "port 127.0.0.1:$p is already in use by another process ($(ss -Hltnp "sport = :$p" | head -n1)); set AKASH_LOCALNET_*_PORT to move it"
  done

  if [[ -n "$fresh" ]] || ! home_current; then
    init_home
  else
    log "reusing the chain state in $LN_HOME (start --fresh to wipe it)"
  fi
  configure_home

  [[ -f "$LOG_FILE" ]] && mv -f "$LOG_FILE" "$LOG_FILE.1"
  log "starting wasmd (log: $LOG_FILE)"
  # setsid: the node outlives the shell (and process group) that started it.
  LD_LIBRARY_PATH="$(lib_path)" WASMD="$WASMD" LN_HOME="$LN_HOME" PID_FILE="$PID_FILE" \
    setsid nohup bash -c 'echo $$ >"$PID_FILE"; exec "$WASMD" start --home "$LN_HOME" --log_level info --log_no_color' \
    >"$LOG_FILE" 2>&1 </dev/null {HOME_LOCK_FD}>&- &
  disown 2>/dev/null || true

  local started=$SECONDS first="" h pid
  while :; do
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    if [[ $((SECONDS - started)) -ge 2 && ( -z "$pid" || ! -e /proc/$pid ) ]]; then
      show_log_tail
      die "wasmd exited during start-up: $(first_log_error)"
    fi
    h="$(rpc_height)"
    if [[ -n "$h" && "$h" -gt 0 ]]; then
      [[ -z "$first" ]] && first="$h"
      if [[ "$h" -gt "$first" ]]; then
        log "localnet up: chain $CHAIN_ID, height $h, pid $pid, rpc $RPC_URL ($((SECONDS - started)) s)"
        return 0
      fi
    fi
    if [[ $((SECONDS - started)) -ge "$START_TIMEOUT" ]]; then
      show_log_tail
      die "blocks did not advance within ${START_TIMEOUT} s (height: ${h:-no answer from $RPC_URL}); node left running as pid $pid, 'scripts/localnet.sh stop' stops it"
    fi
    sleep 0.3
  done
}

cmd_stop() {
  lock_home
  if stop_node; then log "localnet stopped"; else log "localnet not running"; fi
}

cmd_status() {
  local pids h
  pids="$(node_pids)"
  if [[ -z "$pids" ]]; then echo "not running"; return 1; fi
  h="$(rpc_height)"
  if [[ -z "$h" ]]; then
    echo "wasmd pid $(echo $pids) is up but $RPC_URL does not answer as this node (starting, stuck, or on another port: see $LOG_FILE)"
    return 2
  fi
  echo "running: chain $CHAIN_ID, height $h, pid $(echo $pids), rpc $RPC_URL, home $LN_HOME"
}

cmd_env() {
  local kv
  for kv in \
    "WASMD=$WASMD" \
    "LD_LIBRARY_PATH=$(lib_path)" \
    "AKASH_TOOLS=$AKASH_TOOLS" \
    "AKASH_LOCALNET_HOME=$LN_HOME" \
    "AKASH_LOCALNET_CHAIN_ID=$CHAIN_ID" \
    "AKASH_LOCALNET_NODE=$NODE" \
    "AKASH_LOCALNET_RPC_URL=$RPC_URL" \
    "AKASH_LOCALNET_GRPC_URL=http://127.0.0.1:${GRPC_PORT}" \
    "AKASH_LOCALNET_API_URL=http://127.0.0.1:${API_PORT}" \
    "AKASH_LOCALNET_DENOM=$DENOM" \
    "AKASH_LOCALNET_GAS_PRICES=$GAS_PRICES" \
    "AKASH_LOCALNET_ACCOUNTS=$LN_HOME/accounts.json" \
    "AKASH_LOCALNET_KEYRING_FLAGS=--keyring-backend test --home $LN_HOME" \
    "AKASH_LOCALNET_QUERY_FLAGS=--node $NODE -o json" \
    "AKASH_LOCALNET_TX_FLAGS=--keyring-backend test --home $LN_HOME --node $NODE --chain-id $CHAIN_ID --gas auto --gas-adjustment 1.5 --gas-prices $GAS_PRICES -y -o json"; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
  done
}

cmd_reset() {
  lock_home
  stop_node || true
  [[ -n "$LN_HOME" && "$LN_HOME" != "/" ]] || die "refusing to delete '$LN_HOME'"
  rm -rf "$LN_HOME"
  log "deleted $LN_HOME"
}

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

main() {
  local cmd="${1:-}"; shift || true
  case "$cmd" in
    install) cmd_install ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    reset) cmd_reset ;;
    wasmd) [[ -x "$WASMD" ]] || die "wasmd is not installed: run $0 install"; exec env LD_LIBRARY_PATH="$(lib_path)" "$WASMD" "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 64 ;;
  esac
}

# On one line, so bash never reads past it: editing this file while it runs stays harmless.
main "$@"; exit $?
