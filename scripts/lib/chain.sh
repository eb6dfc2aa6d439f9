# Helpers to drive the local wasmd chain through its own CLI; sourced by deploy, e2e and bench.
# Needs `eval "$(scripts/localnet.sh env)"` first.

: "${WASMD:?run: eval \"\$(scripts/localnet.sh env)\"}"

# wasmd with the keyring and node flags of the localnet.
wasmd_cli() { "$WASMD" "$@"; }

# Address of a key in the localnet keyring.
key_addr() {
  wasmd_cli keys show "$1" -a $AKASH_LOCALNET_KEYRING_FLAGS
}

# wait_tx HASH: prints the tx result JSON once the tx is in a block (fails after ~30 s).
wait_tx() {
  local hash=$1 i out
  for i in $(seq 1 150); do
    if out=$(wasmd_cli q tx "$hash" $AKASH_LOCALNET_QUERY_FLAGS 2>/dev/null); then
      printf '%s\n' "$out"
      return 0
    fi
    sleep 0.2
  done
  echo "error: tx $hash not included after 30 s" >&2
  return 1
}

# submit_tx ARGS...: runs `wasmd tx ARGS` (sync broadcast, gas by simulation), waits for the
# block and prints the tx result JSON. On failure (simulation, CheckTx or DeliverTx) prints the
# chain's error on stderr and returns 1, so callers can assert on it.
submit_tx() {
  local out hash code result
  if ! out=$(wasmd_cli tx "$@" $AKASH_LOCALNET_TX_FLAGS 2>&1); then
    printf '%s\n' "$out" >&2
    return 1
  fi
  # The CLI may print a gas estimate line before the JSON.
  out=$(printf '%s\n' "$out" | grep -E '^\{' | tail -n1)
  code=$(jq -r '.code' <<<"$out")
  hash=$(jq -r '.txhash' <<<"$out")
  if [ "$code" != "0" ]; then
    jq -r '.raw_log' <<<"$out" >&2
    return 1
  fi
  result=$(wait_tx "$hash") || return 1
  code=$(jq -r '.code' <<<"$result")
  if [ "$code" != "0" ]; then
    jq -r '.raw_log' <<<"$result" >&2
    return 1
  fi
  printf '%s\n' "$result"
}

# execute KEY CONTRACT JSON: a wasm execute from KEY; prints the tx result.
execute() {
  submit_tx wasm execute "$2" "$3" --from "$1"
}

# query CONTRACT JSON: a smart query; prints the `data` field.
query() {
  wasmd_cli q wasm contract-state smart "$1" "$2" $AKASH_LOCALNET_QUERY_FLAGS | jq -c '.data'
}

# event_attr TX_JSON EVENT KEY: first value of attribute KEY in the first event of type EVENT.
event_attr() {
  jq -r --arg t "$2" --arg k "$3" \
    '[.events[] | select(.type == $t) | .attributes[] | select(.key == $k) | .value][0]' <<<"$1"
}

# cw20_send KEY TOKEN CONTRACT AMOUNT HOOK_JSON: cw20 Send with the hook message base64-encoded.
cw20_send() {
  local msg
  msg=$(printf '%s' "$5" | base64 -w0)
  execute "$1" "$2" "{\"send\":{\"contract\":\"$3\",\"amount\":\"$4\",\"msg\":\"$msg\"}}"
}

# cw20_balance TOKEN ADDRESS
cw20_balance() {
  query "$1" "{\"balance\":{\"address\":\"$2\"}}" | jq -r '.balance'
}

# block_time_nanos HEIGHT: a block's header time in unix nanoseconds (the contracts' env.block.time).
block_time_nanos() {
  local t
  t=$(wasmd_cli q block --type=height "$1" $AKASH_LOCALNET_QUERY_FLAGS 2>/dev/null |
    jq -r '.header.time // .block.header.time')
  date -u -d "$t" +%s%N
}
