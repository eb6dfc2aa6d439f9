# Installs, on demand, the tools the contract build needs; sourced by the other scripts.
# Everything goes under $AKASH_TOOLS so a second run (and CI on the same machine) skips it.

AKASH_TOOLS="${AKASH_TOOLS:-$HOME/.cache/akash-tools}"
BINARYEN_VERSION="${BINARYEN_VERSION:-132.0.0}"
COSMWASM_CHECK_VERSION="3.0.10"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/akash-target}"
mkdir -p "$AKASH_TOOLS/bin"
export PATH="$AKASH_TOOLS/bin:$PATH"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

ensure_wasm_target() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "adding rust target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown >&2 || die "rustup target add wasm32-unknown-unknown failed"
  fi
}

# Debian's binaryen is too old to lower bulk-memory/sign-ext; the npm package is not.
ensure_wasm_opt() {
  WASM_OPT="$AKASH_TOOLS/binaryen/node_modules/.bin/wasm-opt"
  if [ ! -x "$WASM_OPT" ] || ! "$WASM_OPT" --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    command -v npm >/dev/null || die "npm is needed to install binaryen (wasm-opt)"
    log "installing binaryen ${BINARYEN_VERSION} (wasm-opt) from npm into $AKASH_TOOLS/binaryen"
    mkdir -p "$AKASH_TOOLS/binaryen"
    (cd "$AKASH_TOOLS/binaryen" && { [ -f package.json ] || npm init -y >/dev/null; } &&
      npm install --no-audit --no-fund "binaryen@${BINARYEN_VERSION}" >&2) ||
      die "npm install binaryen@${BINARYEN_VERSION} failed"
  fi
  export WASM_OPT
}

ensure_cosmwasm_check() {
  local candidate
  for candidate in "$AKASH_TOOLS/bin/cosmwasm-check" "$(command -v cosmwasm-check 2>/dev/null)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] &&
      "$candidate" --version 2>/dev/null | grep -q "$COSMWASM_CHECK_VERSION"; then
      COSMWASM_CHECK="$candidate"
      export COSMWASM_CHECK
      return 0
    fi
  done
  log "building cosmwasm-check ${COSMWASM_CHECK_VERSION} (about 5 minutes on 2 cores)"
  local started=$SECONDS
  cargo install cosmwasm-check --version "=${COSMWASM_CHECK_VERSION}" --locked \
    --root "$AKASH_TOOLS" >&2 || die "cargo install cosmwasm-check ${COSMWASM_CHECK_VERSION} failed"
  log "cosmwasm-check built in $((SECONDS - started)) s"
  COSMWASM_CHECK="$AKASH_TOOLS/bin/cosmwasm-check"
  export COSMWASM_CHECK
}
