#!/usr/bin/env bash
# Builds every contract for wasm32, lowers the post-MVP instructions the CosmWasm VM rejects
# (bulk-memory, sign-ext) with binaryen, checks each artifact with cosmwasm-check, and writes
# artifacts/*.wasm plus artifacts/checksums.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/toolchain.sh

CONTRACTS=(token staking registry market)
MAX_BYTES=$((800 * 1024))
OUT_DIR=artifacts

ensure_wasm_target
ensure_wasm_opt
ensure_cosmwasm_check

packages=()
for name in "${CONTRACTS[@]}"; do packages+=(-p "akash-$name"); done
log "building ${CONTRACTS[*]} for wasm32-unknown-unknown (release)"
cargo build --release --locked --target wasm32-unknown-unknown --lib "${packages[@]}"

mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*.wasm "$OUT_DIR/checksums.txt"
for name in "${CONTRACTS[@]}"; do
  built="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/akash_$name.wasm"
  [ -f "$built" ] || die "cargo did not produce $built"
  "$WASM_OPT" -Os --strip-debug --strip-producers \
    --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
    --enable-nontrapping-float-to-int --llvm-memory-copy-fill-lowering --signext-lowering \
    "$built" -o "$OUT_DIR/akash_$name.wasm"
done

log "cosmwasm-check ${COSMWASM_CHECK_VERSION}"
"$COSMWASM_CHECK" "$OUT_DIR"/*.wasm

(cd "$OUT_DIR" && sha256sum ./*.wasm | sed 's# \./# #' >checksums.txt)

status=0
printf '%-24s %10s %10s\n' artifact bytes KiB
for name in "${CONTRACTS[@]}"; do
  file="$OUT_DIR/akash_$name.wasm"
  bytes=$(stat -c %s "$file")
  printf '%-24s %10d %10d\n' "akash_$name.wasm" "$bytes" $((bytes / 1024))
  if [ "$bytes" -gt "$MAX_BYTES" ]; then
    printf 'error: %s is %d bytes, over the %d-byte limit\n' "$file" "$bytes" "$MAX_BYTES" >&2
    status=1
  fi
done
exit $status
